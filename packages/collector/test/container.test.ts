import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createAdapterRegistry, noopLogger } from '@energyrecorder/core';
import { makeTempDir, removeDir, waitFor } from '@energyrecorder/testkit';
import { createContainer, createRootLogger } from '../src/container.js';
import { parseCollectorConfigText } from '../src/internal/config.js';
import { ADAPTER_REGISTRY, COLLECTOR_FACTORY, CONFIG } from '../src/tokens.js';
import { originalTypeStubs } from './helpers/test-adapters.js';

describe('createContainer', () => {
  it('registers the configuration, registry and collector factory when built from a config', () => {
    const registry = createAdapterRegistry(originalTypeStubs);
    const config = parseCollectorConfigText('RECORDER_API_SERVER: {base_url: "http://127.0.0.1:9"}\n', registry);
    const c = createContainer({ config, registry, logger: noopLogger });
    expect(c.resolve(CONFIG)).toBe(config);
    expect(c.resolve(ADAPTER_REGISTRY)).toBe(registry);
    expect(typeof c.resolve(COLLECTOR_FACTORY)).toBe('function');
  });
});

describe('createRootLogger', () => {
  it('redacts passwords, secrets and authorization headers when they appear in log fields', async () => {
    const dir = makeTempDir('collector-log');
    try {
      const file = join(dir, 'collector.log');
      const logger = createRootLogger('info', file);
      logger.info({ pass: 'hunter22', device: { password: 'p1', auth_secret: 's1' }, headers: { authorization: 'Basic abc' } }, 'x');
      await waitFor(() => {
        try {
          return readFileSync(file, 'utf8').includes('"msg":"x"');
        } catch {
          return false;
        }
      }, 'log line', 5000);
      const line = readFileSync(file, 'utf8');
      for (const secret of ['hunter22', 'p1', 's1', 'Basic abc']) expect(line).not.toContain(secret);
      expect(line).toContain('[redacted]');
    } finally {
      removeDir(dir);
    }
  });
});
