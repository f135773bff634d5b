/** Package version, kept in step with package.json. */
export const VERSION = '0.1.0';

export { Collector, ACKNOWLEDGE_TIMEOUT_MS } from './collector.js';
export type { CollectorOptions, CollectorStatus } from './collector.js';
export { SpoolError, PushRejectedError } from './errors.js';
export { resolveCollectorConfig, parseCollectorConfigText, loadCollectorConfigFile } from './internal/config.js';
export type { ResolvedCollectorConfig, ResolvedEnvironment, ResolvedDevice } from './internal/config.js';
export { PollScheduler, DEFAULT_ADAPTER_CLOSE_TIMEOUT_MS } from './internal/scheduler.js';
export type { PollSchedulerOptions, DeviceStatus, EnvironmentStatus } from './internal/scheduler.js';
export { Spool } from './internal/spool.js';
export type { SpoolRecord, WireMeasurement, SpoolOptions, SpoolDepth, SpoolPosition, PeekedRecord } from './internal/spool.js';
export { Pusher, DEFAULT_MAX_BATCH_READINGS, DEFAULT_MAX_PENDING_BYTES } from './internal/pusher.js';
export type { PusherOptions, PusherStatus } from './internal/pusher.js';
export { createApiTransport, API_CONNECT_TIMEOUT_MS } from './internal/transport.js';
export type { ApiTransport, PostOutcome } from './internal/transport.js';
export { systemClock } from './internal/clock.js';
export type { Clock, TimerHandle } from './internal/clock.js';
export { backoffDelayMs } from './internal/backoff.js';
export { boundHeapGrowth, DEFAULT_HEAP_GROWING_PERCENT } from './internal/heap.js';
export type { BackoffOptions } from './internal/backoff.js';
