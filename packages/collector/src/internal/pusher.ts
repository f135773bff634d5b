import { setMaxListeners } from 'node:events';
import { noopLogger, type Logger, type MeasurementBatch } from '@energyrecorder/core';
import { PushRejectedError } from '../errors.js';
import { backoffDelayMs } from './backoff.js';
import { systemClock, type Clock, type TimerHandle } from './clock.js';
import type { PeekedRecord, Spool, SpoolRecord, WireMeasurement } from './spool.js';
import type { ApiTransport } from './transport.js';
import { errorText, worthWarning } from './logging.js';

/** Options of {@link Pusher}. */
export interface PusherOptions {
  spool: Spool;
  transport: ApiTransport;
  logger?: Logger;
  clock?: Clock;
  /** How often queued batches are written to the spool and sent. */
  flushIntervalMs: number;
  /** Most readings per POST (the original's chunk size). Default 10 000. */
  maxBatchReadings?: number;
  /** POSTs in flight at once, each for a different device. Default 8. */
  concurrency?: number;
  /** Batches read from the spool per round. Default 2 000. */
  windowRecords?: number;
  /** Longest wait between two attempts while the API is down. Default 30 s. */
  maxRetryDelayMs?: number;
  /** Called once the API confirmed every chunk of a batch. */
  onDelivered?(record: SpoolRecord): void;
  /** Called with the POST latency of each confirmed chunk. */
  onLatency?(equipmentId: string, seconds: number): void;
}

/** Counters of the pusher. */
export interface PusherStatus {
  /** Batches in memory, not yet in the spool. */
  pendingBatches: number;
  spoolBatches: number;
  spoolReadings: number;
  spoolBytes: number;
  deliveredBatches: number;
  deliveredReadings: number;
  /** Batches the API refused with a non-429 4xx, dropped. */
  rejectedBatches: number;
  droppedBatches: number;
  droppedReadings: number;
  /** Readings the full spool dropped since the API last answered (0 while it answers). */
  droppedReadingsThisOutage: number;
  /** Failed POST rounds (API unreachable, 5xx, 429). */
  retries: number;
  apiReachable: boolean;
  lastError?: string;
}

type ItemState = 'ok' | 'rejected' | 'retry';

/**
 * Moves batches from the poll loop to the recording API. Every flush first appends the queued batches to the
 * durable spool (write-ahead, so `kill -9` loses at most one flush interval), then sends the spool in order:
 * batches of different devices in parallel, batches of one device one after another. 5xx, 429 and network
 * errors stop the round and back off (honouring `Retry-After`); a non-429 4xx drops that batch with the API's
 * message. A batch is removed from the spool only once every chunk was confirmed.
 */
export class Pusher {
  private pending: SpoolRecord[] = [];
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly maxBatchReadings: number;
  private readonly concurrency: number;
  private readonly windowRecords: number;
  private readonly maxRetryDelayMs: number;
  private transport: ApiTransport;
  private timer: TimerHandle | undefined;
  private running = false;
  private flushing: Promise<void> | undefined;
  private failedRounds = 0;
  private retryAtMs = 0;
  /** Chunks already confirmed of batches still in the spool, keyed by spool position. */
  private readonly sentChunks = new Map<string, number>();
  private readonly finished = new Map<string, ItemState>();
  private stats = { delivered: 0, deliveredReadings: 0, rejected: 0, retries: 0 };
  private lastError: string | undefined;
  private apiReachable = true;
  /** The spool's dropped-readings count when the API last answered. */
  private droppedAtReachable = 0;
  private readonly shutdown = new AbortController();

  constructor(private readonly options: PusherOptions) {
    this.logger = options.logger ?? noopLogger;
    this.clock = options.clock ?? systemClock;
    this.maxBatchReadings = options.maxBatchReadings ?? 10_000;
    this.concurrency = options.concurrency ?? 8;
    this.windowRecords = options.windowRecords ?? 2000;
    this.maxRetryDelayMs = options.maxRetryDelayMs ?? 30_000;
    this.transport = options.transport;
  }

  /** Queues one poll's readings; they reach the spool at the next flush. Non-finite values are dropped. */
  enqueue(batch: MeasurementBatch): void {
    const measurements: WireMeasurement[] = [];
    for (const r of batch.readings) {
      if (!Number.isFinite(r.value)) {
        this.logger.warn({ device: batch.equipmentId, sensor: r.sensor }, 'non-finite reading dropped');
        continue;
      }
      measurements.push({ sensor: r.sensor, unit: r.unit, value: r.value, time: Math.round(r.timestampNs) });
    }
    if (measurements.length === 0) return;
    const record: SpoolRecord = {
      environment: batch.environment,
      equipmentId: batch.equipmentId,
      time: Math.round(batch.collectTimeNs),
      measurements,
    };
    if (batch.topology !== undefined) record.topology = batch.topology;
    this.pending.push(record);
  }

  /** Replaces the transport (configuration reload); queued data stays. */
  async setTransport(transport: ApiTransport): Promise<void> {
    const old = this.transport;
    this.transport = transport;
    this.retryAtMs = 0;
    if (old !== transport) await old.close().catch(() => undefined);
  }

  /** Starts flushing every `flushIntervalMs`. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.arm();
  }

  private arm(): void {
    if (!this.running) return;
    this.timer = this.clock.setTimer(() => {
      void this.flush().finally(() => this.arm());
    }, this.options.flushIntervalMs);
  }

  /**
   * Writes queued batches to the spool, then sends what the spool holds until it is empty, the API fails, or
   * `signal` aborts. Rounds never overlap: a call made during a round waits for it and runs another.
   */
  async flush(signal?: AbortSignal): Promise<void> {
    while (this.flushing !== undefined) await this.flushing;
    // The shutdown deadline also cuts a round started by the timer, which has no signal of its own.
    const roundSignal =
      signal === undefined ? this.shutdown.signal : AbortSignal.any([signal, this.shutdown.signal]);
    // Every POST of the round listens on this one signal; undici releases each listener only when its
    // request ends, so more than the default 10 can be registered at once.
    setMaxListeners(Math.max(64, this.concurrency * 4), roundSignal);
    const round = this.runFlush(roundSignal);
    this.flushing = round;
    try {
      await round;
    } finally {
      this.flushing = undefined;
    }
  }

  /**
   * Stops the timer and makes a last attempt to deliver, bounded by `deadlineMs`. Whatever is not delivered
   * stays in the spool for the next start.
   */
  async stop(deadlineMs: number): Promise<void> {
    this.running = false;
    this.timer?.cancel();
    const t = this.clock.setTimer(() => this.shutdown.abort(new Error('shutdown deadline')), deadlineMs);
    this.retryAtMs = 0;
    try {
      await this.flush();
    } catch (err) {
      this.logger.error({ err: errorText(err) }, 'final flush failed');
    } finally {
      t.cancel();
      await this.transport.close().catch(() => undefined);
    }
  }

  /** Counters for status and metrics. */
  status(): PusherStatus {
    const depth = this.options.spool.depth();
    const s: PusherStatus = {
      pendingBatches: this.pending.length,
      spoolBatches: depth.records,
      spoolReadings: depth.readings,
      spoolBytes: depth.bytes,
      deliveredBatches: this.stats.delivered,
      deliveredReadings: this.stats.deliveredReadings,
      rejectedBatches: this.stats.rejected,
      droppedBatches: depth.droppedRecords,
      droppedReadings: depth.droppedReadings,
      droppedReadingsThisOutage: this.apiReachable ? 0 : depth.droppedReadings - this.droppedAtReachable,
      retries: this.stats.retries,
      apiReachable: this.apiReachable,
    };
    if (this.lastError !== undefined) s.lastError = this.lastError;
    return s;
  }

  private async runFlush(signal: AbortSignal): Promise<void> {
    for (;;) {
      // Spool what was queued meanwhile before each window, so a long replay never holds readings in memory only.
      if (!(await this.spoolPending())) return;
      if (signal.aborted || this.clock.nowMs() < this.retryAtMs) return;
      const window = await this.options.spool.peek(this.windowRecords);
      if (window.length === 0) return;
      if (!(await this.sendWindow(window, signal))) return;
    }
  }

  private async spoolPending(): Promise<boolean> {
    if (this.pending.length === 0) return true;
    const batch = this.pending;
    this.pending = [];
    try {
      await this.options.spool.append(batch);
      return true;
    } catch (err) {
      // Keep them in memory: the next flush tries the disk again.
      this.pending = batch.concat(this.pending);
      this.logger.error({ err: errorText(err), batches: batch.length }, 'spool append failed');
      return false;
    }
  }

  /** Sends one window; commits the longest fully finished prefix. Returns false when the round must stop. */
  private async sendWindow(window: readonly PeekedRecord[], signal: AbortSignal): Promise<boolean> {
    // Progress of batches no longer in the spool (dropped when it was full) is forgotten.
    const inWindow = new Set(window.map(posKey));
    for (const key of this.finished.keys()) if (!inWindow.has(key)) this.finished.delete(key);
    for (const key of this.sentChunks.keys()) if (!inWindow.has(key)) this.sentChunks.delete(key);
    const byDevice = new Map<string, PeekedRecord[]>();
    for (const item of window) {
      if (this.finished.has(posKey(item))) continue;
      const key = `${item.record.environment}\u0000${item.record.equipmentId}`;
      const list = byDevice.get(key);
      if (list === undefined) byDevice.set(key, [item]);
      else list.push(item);
    }
    const queues = [...byDevice.values()];
    // Shared by the workers: the first retryable failure ends the round for everyone.
    const round: { retry: boolean; retryAfterMs: number | undefined } = { retry: false, retryAfterMs: undefined };
    const worker = async (): Promise<void> => {
      for (;;) {
        const queue = queues.shift();
        if (queue === undefined) return;
        for (const item of queue) {
          if (signal.aborted || round.retry) return;
          const outcome = await this.sendRecord(item, signal);
          if (outcome.state !== 'retry') {
            this.finished.set(posKey(item), outcome.state);
            continue;
          }
          round.retry = true;
          if (outcome.retryAfterMs !== undefined) {
            round.retryAfterMs = Math.max(round.retryAfterMs ?? 0, outcome.retryAfterMs);
          }
          // Later batches of this device wait, so the API receives them in order.
          break;
        }
        if (round.retry) return;
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, queues.length) }, worker));
    let committed = 0;
    let readings = 0;
    let next: PeekedRecord | undefined;
    for (const item of window) {
      if (!this.finished.has(posKey(item))) break;
      committed++;
      readings += item.readings;
      next = item;
    }
    if (next !== undefined) {
      await this.options.spool.commit(next.next, committed, readings);
      for (const item of window.slice(0, committed)) {
        this.finished.delete(posKey(item));
        this.sentChunks.delete(posKey(item));
      }
    }
    if (round.retry || signal.aborted) {
      if (round.retry) this.backOff(round.retryAfterMs);
      return false;
    }
    if (this.failedRounds > 0) {
      this.logger.info({ afterRounds: this.failedRounds }, 'recording API reachable again: replaying spool');
    }
    this.failedRounds = 0;
    this.apiReachable = true;
    this.droppedAtReachable = this.options.spool.depth().droppedReadings;
    return committed > 0;
  }

  private backOff(retryAfterMs: number | undefined): void {
    this.failedRounds++;
    this.stats.retries++;
    this.apiReachable = false;
    const delay = Math.max(
      retryAfterMs ?? 0,
      backoffDelayMs(this.failedRounds, { baseMs: this.options.flushIntervalMs, maxMs: this.maxRetryDelayMs }),
    );
    this.retryAtMs = this.clock.nowMs() + delay;
    const n = this.failedRounds;
    const fields = { rounds: n, retryInMs: delay, err: this.lastError, spooled: this.options.spool.depth().records };
    if (worthWarning(n)) this.logger.warn(fields, 'recording API unavailable: batches kept in spool');
  }

  private async sendRecord(
    item: PeekedRecord,
    signal: AbortSignal,
  ): Promise<{ state: ItemState; retryAfterMs?: number }> {
    const { record } = item;
    const key = posKey(item);
    const chunks = Math.max(1, Math.ceil(record.measurements.length / this.maxBatchReadings));
    for (let i = this.sentChunks.get(key) ?? 0; i < chunks; i++) {
      const measurements = record.measurements.slice(i * this.maxBatchReadings, (i + 1) * this.maxBatchReadings);
      const body: Record<string, unknown> = { environment: record.environment, time: record.time, measurements };
      if (record.topology !== undefined) body['topology'] = record.topology;
      const started = performance.now();
      const outcome = await this.transport.post(record.equipmentId, JSON.stringify(body), signal);
      if (outcome.kind === 'retry') {
        this.lastError = `${outcome.status ?? 'network'}: ${outcome.message}`;
        return outcome.retryAfterMs === undefined ? { state: 'retry' } : { state: 'retry', retryAfterMs: outcome.retryAfterMs };
      }
      if (outcome.kind === 'rejected') {
        const err = new PushRejectedError(record.equipmentId, outcome.status, outcome.message);
        this.stats.rejected++;
        this.logger.error(
          { code: err.code, device: record.equipmentId, environment: record.environment, status: outcome.status },
          err.message,
        );
        return { state: 'rejected' };
      }
      this.options.onLatency?.(record.equipmentId, (performance.now() - started) / 1000);
      this.sentChunks.set(key, i + 1);
    }
    this.stats.delivered++;
    this.stats.deliveredReadings += record.measurements.length;
    try {
      this.options.onDelivered?.(record);
    } catch (err) {
      this.logger.warn({ err: errorText(err) }, 'delivery callback failed');
    }
    return { state: 'ok' };
  }
}

function posKey(item: PeekedRecord): string {
  return `${item.at.segment}:${item.at.offset}`;
}
