import 'reflect-metadata';
import { container as rootContainer, type DependencyContainer } from 'tsyringe';
import pino, { type LoggerOptions } from 'pino';
import { createAdapterRegistry, type AdapterDefinition, type AdapterRegistry, type Logger } from '@energyrecorder/core';
import { builtinAdapters } from '@energyrecorder/adapters';
import { Collector } from './collector.js';
import type { ResolvedCollectorConfig } from './internal/config.js';
import { ADAPTER_REGISTRY, COLLECTOR_FACTORY, CONFIG, LOG_REOPEN, LOGGER } from './tokens.js';

/** Keys never written to logs, wherever they appear in a log object. */
export const REDACTED_PATHS = [
  'pass',
  'password',
  'auth_secret',
  'privacy_secret',
  'community',
  'authorization',
  '*.pass',
  '*.password',
  '*.auth_secret',
  '*.privacy_secret',
  '*.community',
  '*.authorization',
  'headers.authorization',
];

/**
 * Creates the pino root logger: JSON lines on stdout, or in `logFile` when given. `reopen()` reopens `logFile` by
 * its name, so after logrotate moved it (SIGHUP) the next lines go to a new file.
 */
export function createRootLog(level: string, logFile?: string): { logger: Logger; reopen(): void } {
  const options: LoggerOptions = {
    level,
    base: { component: 'collector' },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  };
  if (logFile === undefined) {
    return { logger: pino(options, pino.destination({ dest: 1, sync: true })), reopen: () => undefined };
  }
  const destination = pino.destination({ dest: logFile, mkdir: true, sync: false });
  return { logger: pino(options, destination), reopen: () => destination.reopen() };
}

/** Creates the pino root logger: JSON lines on stdout, or in `logFile` when given. */
export function createRootLogger(level: string, logFile?: string): Logger {
  return createRootLog(level, logFile).logger;
}

/** Builds the adapter registry: the built-in adapters plus extra definitions (plugins, tests). */
export function buildRegistry(extra: readonly AdapterDefinition[] = []): AdapterRegistry {
  return createAdapterRegistry([...builtinAdapters, ...extra]);
}

/** Options of {@link createContainer}. */
export interface ContainerOptions {
  config: ResolvedCollectorConfig;
  registry: AdapterRegistry;
  logger?: Logger;
  baseDir?: string;
}

/** The composition root: registers every service by factory or value in a child container. */
export function createContainer(options: ContainerOptions): DependencyContainer {
  const c = rootContainer.createChildContainer();
  const { COLLECTOR } = options.config.settings;
  const root =
    options.logger === undefined
      ? createRootLog(COLLECTOR.log_level, COLLECTOR.log_file)
      : { logger: options.logger, reopen: () => undefined };
  c.register(LOGGER, { useValue: root.logger });
  c.register(LOG_REOPEN, { useValue: root.reopen });
  c.register(ADAPTER_REGISTRY, { useValue: options.registry });
  c.register(CONFIG, { useValue: options.config });
  c.register(COLLECTOR_FACTORY, {
    useFactory: (dc) => () =>
      Collector.create({
        config: dc.resolve(CONFIG),
        logger: dc.resolve(LOGGER),
        ...(options.baseDir === undefined ? {} : { baseDir: options.baseDir }),
      }),
  });
  return c;
}
