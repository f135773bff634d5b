import type { InjectionToken } from 'tsyringe';
import type { AdapterRegistry, Logger } from '@energyrecorder/core';
import type { Collector } from './collector.js';
import type { ResolvedCollectorConfig } from './internal/config.js';

/** The root logger (pino). */
export const LOGGER: InjectionToken<Logger> = Symbol('collector.logger');
/** Reopens the log file (SIGHUP, after logrotate moved it); does nothing when logging to stdout. */
export const LOG_REOPEN: InjectionToken<() => void> = Symbol('collector.logReopen');
/** The adapter registry: built-in adapters plus any loaded with `--adapters`. */
export const ADAPTER_REGISTRY: InjectionToken<AdapterRegistry> = Symbol('collector.adapterRegistry');
/** The configuration the process started with. */
export const CONFIG: InjectionToken<ResolvedCollectorConfig> = Symbol('collector.config');
/** Opens the spool and builds the collector. */
export const COLLECTOR_FACTORY: InjectionToken<() => Promise<Collector>> = Symbol('collector.factory');
