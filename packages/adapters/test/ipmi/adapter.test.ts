import { type Logger, noopLogger } from '@energyrecorder/core';
import { createIpmiAdapter, ipmiConfigSchema } from '../../src/ipmi/index.js';

describe('createIpmiAdapter', () => {
  const create = (driver: 'native' | 'ipmitool', timeout: number): string[] => {
    const lines: string[] = [];
    const logger: Logger = { ...noopLogger, warn: (_f, m) => void lines.push(m ?? ''), child: () => logger };
    const config = ipmiConfigSchema.parse({ type: 'ipmi', id: 'b', host: '127.0.0.1', driver, timeout });
    createIpmiAdapter(config, { logger, requestTimeoutMs: 3000, equipmentId: 'b' });
    return lines;
  };

  it('warns about leaked BMC sessions when driver ipmitool gets a timeout under 2 s', () => {
    expect(create('ipmitool', 1)).toEqual([expect.stringMatching(/under 2 s: every timed-out read may leak a BMC session/)]);
  });

  it('does not warn when the timeout is 2 s or the driver is native', () => {
    expect([...create('ipmitool', 2), ...create('native', 1)]).toEqual([]);
  });
});
