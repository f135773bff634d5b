import 'reflect-metadata';
import { createWriteStream } from 'node:fs';
import { container as root, type DependencyContainer } from 'tsyringe';
import pino from 'pino';
import type { Logger, WebappSettings } from '@energyrecorder/core';
import { createApiServer, createStoreFromSettings, type ApiServer } from './api-server.js';
import type { Store } from './store.js';
import { TOKENS } from './tokens.js';

/** CLI overrides applied on top of the settings file. */
export interface ContainerOverrides {
  port?: number;
  host?: string;
  storePath?: string;
}

/** Paths pino masks in every log line. */
export const REDACT_PATHS = ['pass', 'password', '*.pass', '*.password', 'authorization', '*.authorization', 'headers.authorization'];

/** Builds the app's object graph by factory only (no decorator metadata is needed). */
export function buildContainer(settings: WebappSettings, overrides: ContainerOverrides = {}): DependencyContainer {
  const c = root.createChildContainer();
  c.register(TOKENS.settings, { useValue: settings });
  c.register(TOKENS.logger, {
    useFactory: () => {
      // Each stream takes the configured level too: a multistream entry without one drops everything below info,
      // whatever the logger's own level says.
      const level = settings.LOG.level;
      const streams: pino.StreamEntry[] = [{ level, stream: process.stdout }];
      if (settings.LOG.file !== undefined) {
        const file = createWriteStream(settings.LOG.file, { flags: 'a' });
        // An unhandled stream error would end the process: a log file that fails later (disk full) must not.
        file.on('error', (err) => process.stderr.write(`energyrecorder-api: log file ${settings.LOG.file}: ${err.message}\n`));
        streams.push({ level, stream: file });
      }
      return pino(
        { name: 'energyrecorder-api', level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } },
        pino.multistream(streams),
      ) as unknown as Logger;
    },
  });
  let store: Store | undefined;
  c.register(TOKENS.store, {
    useFactory: (d) => (store ??= createStoreFromSettings(settings, d.resolve<Logger>(TOKENS.logger), overrides.storePath)),
  });
  let api: ApiServer | undefined;
  c.register(TOKENS.apiServer, {
    useFactory: (d) =>
      (api ??= createApiServer({
        settings,
        store: d.resolve<Store>(TOKENS.store),
        logger: d.resolve<Logger>(TOKENS.logger),
        ...(overrides.port === undefined ? {} : { port: overrides.port }),
        ...(overrides.host === undefined ? {} : { host: overrides.host }),
      })),
  });
  return c;
}
