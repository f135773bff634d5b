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
  /**
   * Most readings per spooled batch and per POST (the original's chunk size). A larger poll is split into
   * batches of this size, each with the poll's environment, topology and collect time. Default 10 000.
   */
  maxBatchReadings?: number;
  /**
   * Bound of the batches held in memory while the spool cannot be written (disk full), as their encoded size.
   * Beyond it the oldest are dropped and counted. Default: the spool's `maxBytes`, at most 64 MiB.
   */
  maxPendingBytes?: number;
  /** POSTs in flight at once, each for a different device. Default 8. */
  concurrency?: number;
  /** Batches read from the spool per round. Default 2 000. */
  windowRecords?: number;
  /** Longest wait between two attempts while the API is down. Default 30 s. */
  maxRetryDelayMs?: number;
  /** Called once the API confirmed every chunk of a batch. */
  onDelivered?(record: SpoolRecord): void;
  /** Called with the POST latency of each confirmed chunk. */
  onLatency?(equipmentId: string, seconds: number, environment: string): void;
}

/** Counters of the pusher. */
export interface PusherStatus {
  /** Batches in memory, not yet in the spool. */
  pendingBatches: number;
  spoolBatches: number;
  spoolReadings: number;
  /** Bytes of the batches waiting in the spool. */
  spoolBytes: number;
  /** Bytes of the spool's files on disk, bounded by the spool's `maxBytes`. */
  spoolDiskBytes: number;
  deliveredBatches: number;
  deliveredReadings: number;
  /** Batches the API refused for their content (400, 409, 422), dropped. */
  rejectedBatches: number;
  /** Readings of those batches. */
  rejectedReadings: number;
  /** Readings the API did not want: sent while no scenario ran, with `ALWAYS_RECORD` false on the API. */
  notRecordedReadings: number;
  /** Batches and readings dropped: by the full spool, by the memory bound while the spool was unwritable, corrupt. */
  droppedBatches: number;
  droppedReadings: number;
  /** Readings the full spool dropped since the API last answered (0 while it answers). */
  droppedReadingsThisOutage: number;
  /** Failed POST rounds (API unreachable, 5xx, 429). */
  retries: number;
  apiReachable: boolean;
  /** The last push failure; cleared by the next delivery. */
  lastError?: string;
  /**
   * Set while the API (or a proxy) refuses every request for a reason in the settings (3xx, 401, 403, 404, 413…):
   * batches are kept in the spool until it is fixed. Cleared by the next delivery.
   */
  refusedBySettings?: { status: number; message: string; fix: string };
  /** Set while the spool cannot be written, read or committed (disk full, I/O error, directory removed). */
  spoolError?: string;
  /** How long batches have been waiting without any delivery (0 when nothing waits). */
  undeliveredForMs: number;
}

type ItemState = 'ok' | 'rejected' | 'retry';

/** A batch to send: from the spool (keyed by its position) or from memory (keyed by its queue number). */
interface SendItem {
  key: string;
  record: SpoolRecord;
}

/** A batch queued in memory, not yet in the spool. */
interface PendingBatch extends SendItem {
  /** Its {@link estimateBytes}, for the memory bound. */
  bytes: number;
}

/** How a round of POSTs ended. */
interface RoundOutcome {
  retry: boolean;
  retryAfterMs: number | undefined;
  bySettings: boolean;
}

/** Most readings per batch unless configured: the original collector's chunk size. */
export const DEFAULT_MAX_BATCH_READINGS = 10_000;

/**
 * Append failures less than this apart are one episode for the log's throttling: a disk kept nearly full fails an
 * append, gets space back when the failed segment is sent, and fails again minutes later; each of those failures
 * would otherwise be logged as a first one.
 */
const APPEND_FAILURE_EPISODE_MS = 10 * 60_000;

/** Cap of the default in-memory bound of {@link PusherOptions.maxPendingBytes}. */
export const DEFAULT_MAX_PENDING_BYTES = 64 * 1024 * 1024;

/** Roughly what a batch takes once encoded in the spool, without encoding it. */
function estimateBytes(record: SpoolRecord): number {
  let n = 64 + record.environment.length + record.equipmentId.length;
  for (const m of record.measurements) n += 56 + m.sensor.length + m.unit.length;
  return n;
}

/**
 * Moves batches from the poll loop to the recording API. Every flush first appends the queued batches to the
 * durable spool (write-ahead: `kill -9` loses the batches queued since the last append, see the README), then
 * sends the spool in order: batches of different devices in parallel, batches of one device one after another.
 * 5xx, 408, 429, network errors, 3xx and the 4xx caused by the settings (401, 403, 404, 413…) stop the round and
 * back off (honouring `Retry-After`); a content refusal (400, 409, 422) drops that batch with the API's message.
 * A batch is removed from the spool only once every chunk was confirmed. While the spool cannot take batches
 * (disk full, I/O error), they stay in memory, bounded by `maxPendingBytes`, and are sent from there once
 * everything spooled before them is delivered. A failing spool (read, append or cursor update) never throws out
 * of a flush: it is logged and retried with back-off.
 */
export class Pusher {
  private pending: PendingBatch[] = [];
  private pendingBytes = 0;
  /** Numbers the batches queued in memory, for their {@link SendItem.key}. */
  private pendingSeq = 0;
  private readonly maxPendingBytes: number;
  /** Batches and readings dropped from memory because the spool could not take them. */
  private droppedPending = { records: 0, readings: 0 };
  private spoolFailures = 0;
  /** Append failures (and memory drops) of the current episode, for throttling their log lines. */
  private appendFailures = 0;
  private pendingDrops = 0;
  private appendFailedAtMs: number | undefined;
  private appendError: string | undefined;
  private readError: string | undefined;
  private redirects = 0;
  private settingsRefusals = 0;
  private refusedBySettings: PusherStatus['refusedBySettings'];
  /** When batches last made progress: a delivery, or the queue found empty. */
  private progressAtMs: number;
  /** The delay {@link retryAtMs} was set with, to tell a wall clock stepped back from a long wait. */
  private retryDelayMs = 0;
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
  private stats = { delivered: 0, deliveredReadings: 0, rejected: 0, rejectedReadings: 0, notRecordedReadings: 0, retries: 0 };
  private lastError: string | undefined;
  private apiReachable = true;
  /** The spool's dropped-readings count when the API last answered. */
  private droppedAtReachable = 0;
  private readonly shutdown = new AbortController();

  constructor(private readonly options: PusherOptions) {
    this.logger = options.logger ?? noopLogger;
    this.clock = options.clock ?? systemClock;
    this.maxBatchReadings = Math.max(1, options.maxBatchReadings ?? DEFAULT_MAX_BATCH_READINGS);
    this.maxPendingBytes = options.maxPendingBytes ?? Math.min(options.spool.maxBytes, DEFAULT_MAX_PENDING_BYTES);
    this.concurrency = options.concurrency ?? 8;
    this.windowRecords = options.windowRecords ?? 2000;
    this.maxRetryDelayMs = options.maxRetryDelayMs ?? 30_000;
    this.transport = options.transport;
    this.progressAtMs = this.clock.nowMs();
  }

  /**
   * Queues one poll's readings; they reach the spool at the next flush. Non-finite values are dropped. A poll of
   * more than `maxBatchReadings` readings is queued as several batches, so no spool line grows without bound.
   */
  enqueue(batch: MeasurementBatch): void {
    // Nothing waited until now: the time batches wait without delivery starts here.
    if (this.pending.length === 0 && this.options.spool.depth().records === 0) this.progressAtMs = this.clock.nowMs();
    const measurements: WireMeasurement[] = [];
    for (const r of batch.readings) {
      if (!Number.isFinite(r.value)) {
        this.logger.warn({ device: batch.equipmentId, sensor: r.sensor }, 'non-finite reading dropped');
        continue;
      }
      measurements.push({ sensor: r.sensor, unit: r.unit, value: r.value, time: Math.round(r.timestampNs) });
    }
    for (let from = 0; from < measurements.length; from += this.maxBatchReadings) {
      const record: SpoolRecord = {
        environment: batch.environment,
        equipmentId: batch.equipmentId,
        time: Math.round(batch.collectTimeNs),
        measurements:
          measurements.length <= this.maxBatchReadings
            ? measurements
            : measurements.slice(from, from + this.maxBatchReadings),
      };
      if (batch.topology !== undefined) record.topology = batch.topology;
      const bytes = estimateBytes(record);
      this.pending.push({ key: `mem:${++this.pendingSeq}`, record, bytes });
      this.pendingBytes += bytes;
    }
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
      // flush() handles spool and API failures itself; this is the last guard against an unhandled rejection.
      void this.flush()
        .catch((err: unknown) => this.logger.error({ err: errorText(err) }, 'flush failed'))
        .finally(() => this.arm());
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
   * stays in the spool for the next start. Batches the spool could not take and the API did not confirm in
   * time are lost: they are counted as dropped and logged as an error with their number of readings.
   */
  async stop(deadlineMs: number): Promise<void> {
    this.running = false;
    this.timer?.cancel();
    const t = this.clock.setTimer(() => this.shutdown.abort(new Error('shutdown deadline')), deadlineMs);
    this.retryAtMs = 0;
    this.retryDelayMs = 0;
    try {
      await this.flush();
      // Deliveries during the final flush may have given the spool its space back.
      if (this.pending.length > 0) await this.spoolPending();
    } catch (err) {
      this.logger.error({ err: errorText(err) }, 'final flush failed');
    } finally {
      t.cancel();
      this.dropPendingAtShutdown();
      await this.transport.close().catch(() => undefined);
    }
  }

  private dropPendingAtShutdown(): void {
    if (this.pending.length === 0) return;
    let readings = 0;
    for (const p of this.pending) readings += p.record.measurements.length;
    const batches = this.pending.length;
    this.droppedPending.records += batches;
    this.droppedPending.readings += readings;
    this.pending = [];
    this.pendingBytes = 0;
    this.logger.error(
      { batches, readings, spoolError: this.appendError, lastError: this.lastError },
      `shutdown: ${readings} readings lost: the spool could not take them and the API did not confirm them in time`,
    );
  }

  /** Counters for status and metrics. */
  status(): PusherStatus {
    const depth = this.options.spool.depth();
    const droppedReadings = depth.droppedReadings + this.droppedPending.readings;
    const s: PusherStatus = {
      pendingBatches: this.pending.length,
      spoolBatches: depth.records,
      spoolReadings: depth.readings,
      spoolBytes: depth.bytes,
      spoolDiskBytes: depth.diskBytes,
      deliveredBatches: this.stats.delivered,
      deliveredReadings: this.stats.deliveredReadings,
      rejectedBatches: this.stats.rejected,
      rejectedReadings: this.stats.rejectedReadings,
      notRecordedReadings: this.stats.notRecordedReadings,
      droppedBatches: depth.droppedRecords + this.droppedPending.records,
      droppedReadings,
      droppedReadingsThisOutage: this.apiReachable ? 0 : droppedReadings - this.droppedAtReachable,
      retries: this.stats.retries,
      apiReachable: this.apiReachable,
      undeliveredForMs:
        this.pending.length + depth.records === 0 ? 0 : Math.max(0, this.clock.nowMs() - this.progressAtMs),
    };
    if (this.lastError !== undefined) s.lastError = this.lastError;
    if (this.refusedBySettings !== undefined) s.refusedBySettings = { ...this.refusedBySettings };
    const spoolError = this.appendError ?? this.readError;
    if (spoolError !== undefined) s.spoolError = spoolError;
    return s;
  }

  /**
   * Spools the queued batches, then sends the spool window by window, spooling what was queued meanwhile before
   * each window so a long replay never holds readings in memory only. When the spool cannot take them, the
   * batches in memory are sent once the spool is empty, so each device's batches still reach the API in order;
   * appending is tried again when sending the spool has given it space back.
   */
  private async runFlush(signal: AbortSignal): Promise<void> {
    let spooling = await this.spoolPending();
    let sentFromSpool = false;
    for (;;) {
      if (signal.aborted || !this.retryDue()) return;
      let more: boolean;
      try {
        const window = await this.options.spool.peek(this.windowRecords);
        if (window.length > 0) {
          more = await this.sendWindow(window, signal);
          sentFromSpool = true;
        } else if (this.pending.length === 0) {
          this.progressAtMs = this.clock.nowMs();
          more = false;
        } else if ((spooling || sentFromSpool) && (spooling = await this.spoolPending())) {
          more = true;
        } else {
          sentFromSpool = false;
          more = await this.sendPending(signal);
        }
        this.spoolFailures = 0;
        this.readError = undefined;
      } catch (err) {
        // A spool read or cursor update failed (I/O error). Nothing is lost: unconfirmed batches stay in the
        // spool, and batches sent but not committed are remembered and not sent again.
        this.spoolBackOff(err);
        return;
      }
      if (!more) return;
      if (spooling) spooling = await this.spoolPending();
    }
  }

  /**
   * Whether a back-off has run out. A wait longer than the delay it was set with means the wall clock was
   * stepped back (NTP): the wait is then over at once rather than lasting as long as the step.
   */
  private retryDue(): boolean {
    const now = this.clock.nowMs();
    if (now >= this.retryAtMs) return true;
    if (this.retryAtMs - now > this.retryDelayMs) {
      this.retryAtMs = now;
      return true;
    }
    return false;
  }

  private spoolBackOff(err: unknown): void {
    const n = ++this.spoolFailures;
    const delay = backoffDelayMs(n, { baseMs: this.options.flushIntervalMs, maxMs: this.maxRetryDelayMs });
    this.retryDelayMs = delay;
    this.retryAtMs = this.clock.nowMs() + delay;
    this.lastError = `spool: ${errorText(err)}`;
    this.readError = `read or commit failed: ${errorText(err)}`;
    const fields = { err: errorText(err), failures: n, retryInMs: delay };
    if (worthWarning(n)) this.logger.error(fields, 'spool read or commit failed: batches kept, retrying');
    else this.logger.debug(fields, 'spool read or commit failed: batches kept, retrying');
  }

  private async spoolPending(): Promise<boolean> {
    if (this.pending.length === 0) return true;
    const batch = this.pending;
    const bytes = this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    try {
      await this.options.spool.append(batch.map((p) => p.record));
      if (this.appendError !== undefined) {
        this.logger.info({ failures: this.appendFailures }, 'spool writable again');
      }
      this.appendError = undefined;
      return true;
    } catch (err) {
      // Keep them in memory: they are sent from there, and the next flush tries the disk again.
      this.pending = batch.concat(this.pending);
      this.pendingBytes += bytes;
      const now = this.clock.nowMs();
      if (this.appendFailedAtMs === undefined || now - this.appendFailedAtMs > APPEND_FAILURE_EPISODE_MS) {
        this.appendFailures = 0;
        this.pendingDrops = 0;
      }
      this.appendFailedAtMs = now;
      const n = ++this.appendFailures;
      this.appendError = `append failed: ${errorText(err)}`;
      const fields = { err: errorText(err), batches: this.pending.length, failures: n };
      // Once per flush for as long as the disk is full: the first three, then on powers of two.
      if (worthWarning(n)) this.logger.error(fields, 'spool append failed: batches kept in memory and sent from there');
      else this.logger.debug(fields, 'spool append failed: batches kept in memory and sent from there');
      this.boundPending();
      return false;
    }
  }

  /** While the spool cannot be written, keeps at most `maxPendingBytes` of the newest batches in memory. */
  private boundPending(): void {
    if (this.pendingBytes <= this.maxPendingBytes) return;
    let drop = 0;
    let bytes = this.pendingBytes;
    let readings = 0;
    while (drop < this.pending.length && bytes > this.maxPendingBytes) {
      const p = this.pending[drop];
      if (p === undefined) break;
      bytes -= p.bytes;
      readings += p.record.measurements.length;
      drop++;
    }
    this.pending.splice(0, drop);
    this.pendingBytes = bytes;
    this.droppedPending.records += drop;
    this.droppedPending.readings += readings;
    const n = ++this.pendingDrops;
    const fields = {
      droppedBatches: drop,
      droppedReadings: readings,
      totalDroppedReadings: this.droppedPending.readings,
      maxPendingBytes: this.maxPendingBytes,
    };
    if (worthWarning(n)) this.logger.warn(fields, 'spool unwritable and memory queue full: oldest batches dropped');
    else this.logger.debug(fields, 'spool unwritable and memory queue full: oldest batches dropped');
  }

  /** Sends one window of the spool; commits the longest fully finished prefix. Returns false when the round must stop. */
  private async sendWindow(window: readonly PeekedRecord[], signal: AbortSignal): Promise<boolean> {
    // Progress of batches no longer in the spool (dropped when it was full) is forgotten.
    const inWindow = new Set(window.map(posKey));
    for (const key of this.finished.keys()) if (!inWindow.has(key)) this.finished.delete(key);
    for (const key of this.sentChunks.keys()) if (!inWindow.has(key)) this.sentChunks.delete(key);
    const round = await this.sendItems(
      window.map((item) => ({ key: posKey(item), record: item.record })),
      signal,
    );
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
    return this.endRound(round, signal, committed > 0);
  }

  /**
   * Sends batches held in memory (the spool could not take them), oldest first; those the API took or refused
   * for their content leave the queue. Returns false when the round must stop.
   */
  private async sendPending(signal: AbortSignal): Promise<boolean> {
    const items = this.pending.slice(0, this.windowRecords);
    const round = await this.sendItems(items, signal);
    const done = new Set<string>();
    for (const item of items) {
      if (!this.finished.has(item.key)) continue;
      done.add(item.key);
      this.finished.delete(item.key);
      this.sentChunks.delete(item.key);
    }
    if (done.size > 0) {
      // Batches queued meanwhile were appended behind these: keep them.
      this.pending = this.pending.filter((p) => {
        if (!done.has(p.key)) return true;
        this.pendingBytes -= p.bytes;
        return false;
      });
    }
    return this.endRound(round, signal, done.size > 0);
  }

  /**
   * POSTs `items`, batches of different devices in parallel and of one device in order, skipping those already
   * finished; marks each one the API took or refused for its content in {@link finished}.
   */
  private async sendItems(items: readonly SendItem[], signal: AbortSignal): Promise<RoundOutcome> {
    const byDevice = new Map<string, SendItem[]>();
    for (const item of items) {
      if (this.finished.has(item.key)) continue;
      const key = `${item.record.environment}\u0000${item.record.equipmentId}`;
      const list = byDevice.get(key);
      if (list === undefined) byDevice.set(key, [item]);
      else list.push(item);
    }
    const queues = [...byDevice.values()];
    // Shared by the workers: the first retryable failure ends the round for everyone.
    const round: RoundOutcome = { retry: false, retryAfterMs: undefined, bySettings: false };
    const worker = async (): Promise<void> => {
      for (;;) {
        const queue = queues.shift();
        if (queue === undefined) return;
        for (const item of queue) {
          if (signal.aborted || round.retry) return;
          const outcome = await this.sendRecord(item, signal);
          if (outcome.state !== 'retry') {
            this.finished.set(item.key, outcome.state);
            continue;
          }
          round.retry = true;
          if (outcome.bySettings === true) round.bySettings = true;
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
    return round;
  }

  /** Backs off after a failed round; otherwise notes the API reachable. Returns whether to go on. */
  private endRound(round: RoundOutcome, signal: AbortSignal, progressed: boolean): boolean {
    if (round.retry || signal.aborted) {
      if (round.retry) this.backOff(round.retryAfterMs, round.bySettings);
      return false;
    }
    if (this.failedRounds > 0) {
      this.logger.info({ afterRounds: this.failedRounds }, 'recording API reachable again: replaying spool');
    }
    this.failedRounds = 0;
    this.redirects = 0;
    this.apiReachable = true;
    this.droppedAtReachable = this.options.spool.depth().droppedReadings + this.droppedPending.readings;
    return progressed;
  }

  private backOff(retryAfterMs: number | undefined, bySettings: boolean): void {
    this.failedRounds++;
    this.stats.retries++;
    this.apiReachable = false;
    const delay = Math.max(
      retryAfterMs ?? 0,
      backoffDelayMs(this.failedRounds, { baseMs: this.options.flushIntervalMs, maxMs: this.maxRetryDelayMs }),
    );
    this.retryDelayMs = delay;
    this.retryAtMs = this.clock.nowMs() + delay;
    const n = this.failedRounds;
    const fields = { rounds: n, retryInMs: delay, err: this.lastError, spooled: this.options.spool.depth().records };
    // A refusal caused by the settings has its own (throttled) error line saying what to fix.
    if (worthWarning(n) && !bySettings) this.logger.warn(fields, 'recording API unavailable: batches kept in spool');
  }

  private async sendRecord(
    item: SendItem,
    signal: AbortSignal,
  ): Promise<{ state: ItemState; retryAfterMs?: number; bySettings?: boolean }> {
    const { record, key } = item;
    const chunks = Math.max(1, Math.ceil(record.measurements.length / this.maxBatchReadings));
    for (let i = this.sentChunks.get(key) ?? 0; i < chunks; i++) {
      const measurements = record.measurements.slice(i * this.maxBatchReadings, (i + 1) * this.maxBatchReadings);
      const body: Record<string, unknown> = { environment: record.environment, time: record.time, measurements };
      if (record.topology !== undefined) body['topology'] = record.topology;
      const started = performance.now();
      const outcome = await this.transport.post(record.equipmentId, JSON.stringify(body), signal);
      if (outcome.kind === 'retry') {
        this.lastError = `${outcome.status ?? 'network'}: ${outcome.message}`;
        const bySettings = outcome.fix !== undefined && outcome.status !== undefined;
        if (bySettings) {
          this.refusedBySettings = { status: outcome.status ?? 0, message: outcome.message, fix: outcome.fix ?? '' };
        }
        if (outcome.location !== undefined) this.logRedirect(record, outcome.status, outcome.location);
        else if (bySettings) this.logRefusedBySettings(record, outcome.status ?? 0, outcome.message, outcome.fix ?? '');
        const retryAfter = outcome.retryAfterMs === undefined ? {} : { retryAfterMs: outcome.retryAfterMs };
        return { state: 'retry', ...retryAfter, ...(bySettings ? { bySettings } : {}) };
      }
      if (outcome.kind === 'rejected') {
        // This chunk and the ones after it are dropped; earlier chunks of the batch were stored.
        const readings = record.measurements.length - i * this.maxBatchReadings;
        if (outcome.notRecording === true) {
          // The API records only during scenarios (ALWAYS_RECORD false): readings between them are not wanted.
          this.stats.notRecordedReadings += readings;
          this.logger.debug(
            { device: record.equipmentId, environment: record.environment, time: record.time, readings },
            'no scenario running and the API does not record outside scenarios: batch not recorded',
          );
          return { state: 'rejected' };
        }
        const err = new PushRejectedError(record.equipmentId, outcome.status, outcome.message);
        this.stats.rejected++;
        this.stats.rejectedReadings += readings;
        this.logger.error(
          {
            code: err.code,
            device: record.equipmentId,
            environment: record.environment,
            status: outcome.status,
            time: record.time,
            readings,
            rejectedReadings: this.stats.rejectedReadings,
          },
          `${err.message}: batch of ${readings} readings dropped`,
        );
        return { state: 'rejected' };
      }
      this.options.onLatency?.(record.equipmentId, (performance.now() - started) / 1000, record.environment);
      this.sentChunks.set(key, i + 1);
    }
    this.stats.delivered++;
    this.stats.deliveredReadings += record.measurements.length;
    this.progressAtMs = this.clock.nowMs();
    // The API took a batch: whatever failed before (and whatever it said about the settings) is over.
    this.lastError = undefined;
    this.refusedBySettings = undefined;
    this.settingsRefusals = 0;
    try {
      this.options.onDelivered?.(record);
    } catch (err) {
      this.logger.warn({ err: errorText(err) }, 'delivery callback failed');
    }
    return { state: 'ok' };
  }

  /**
   * A 401, 403, 404, 413… refuses every batch alike: nothing is dropped, the user is told what to fix, on the
   * first refusal and then on powers of two.
   */
  private logRefusedBySettings(record: SpoolRecord, status: number, message: string, fix: string): void {
    const n = ++this.settingsRefusals;
    if (!worthWarning(n)) return;
    this.logger.error(
      { code: 'ER_PUSH_REFUSED', status, apiMessage: message, device: record.equipmentId, refusals: n },
      `recording API answered ${status}: ${fix}; batches are kept in the spool and retried`,
    );
  }

  /** A 3xx means `base_url` points at the wrong place: nothing is dropped, the user is told what to fix. */
  private logRedirect(record: SpoolRecord, status: number | undefined, location: string): void {
    const n = ++this.redirects;
    if (!worthWarning(n)) return;
    this.logger.error(
      { code: 'ER_PUSH_REDIRECTED', status, location, device: record.equipmentId, redirects: n },
      `recording API answered ${status ?? '3xx'} redirecting to ${location}: set RECORDER_API_SERVER.base_url to ` +
        'the final URL; batches are kept in the spool and retried',
    );
  }
}

function posKey(item: PeekedRecord): string {
  return `${item.at.segment}:${item.at.offset}`;
}
