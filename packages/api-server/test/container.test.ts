import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '@energyrecorder/core';
import { buildContainer } from '../src/container.js';
import { parseWebappSettings } from '../src/index.js';
import { TOKENS } from '../src/tokens.js';

describe('buildContainer logger', () => {
  it('writes debug and trace lines to the log file when LOG.level asks for them (pino multistream entries default to info)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'api-log-'));
    try {
      const fileOf = (level: string): string => join(dir, `${level}.log`);
      for (const level of ['trace', 'debug'] as const) {
        const file = fileOf(level);
        const settings = parseWebappSettings({ LOG: { level, file }, STORE: { path: join(dir, 'x.db') } });
        const logger = buildContainer(settings).resolve<Logger>(TOKENS.logger);
        logger.debug({ probe: level }, 'debug line');
        logger.trace?.({ probe: level }, 'trace line');
      }
      await new Promise((r) => setTimeout(r, 200));
      const messages = (level: string): string[] =>
        readFileSync(fileOf(level), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { msg: string }).msg);
      expect(messages('trace')).toEqual(['debug line', 'trace line']);
      expect(messages('debug')).toEqual(['debug line']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
