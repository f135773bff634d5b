import { noopLogger, type Logger } from '@energyrecorder/core';
import type { Meter, MeterIdentity, MeterReading, MeterStatus } from './meter.js';

/** Defaults of {@link MeterChannelOptions}. */
export const DEFAULT_METER_CHANNEL_OPTIONS = Object.freeze({
  pollIntervalMs: 1000,
  readTimeoutMs: 5000,
  backoffInitialMs: 1000,
  backoffMaxMs: 30_000,
  metricsIntervalMin: 1,
});

/** Options of {@link MeterChannel}. */
export interface MeterChannelOptions {
  meter: Meter;
  logger?: Logger;
  /** Time source in ms since the epoch. Defaults to `Date.now`. */
  clock?: () => number;
  /** A reading younger than this is served from cache; also the background poll period. */
  pollIntervalMs?: number;
  /** Deadline of one open or read. */
  readTimeoutMs?: number;
  /** First delay before re-opening a lost meter; doubles up to `backoffMaxMs`. */
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  /** Window of `PowerMetrics` (min/avg/max), in minutes. */
  metricsIntervalMin?: number;
}

/** Min/avg/max power over the metrics window. */
export interface PowerWindowMetrics {
  intervalMin: number;
  minWatts: number;
  maxWatts: number;
  averageWatts: number;
}

/** Everything the Redfish service needs to answer for one meter. */
export interface ChannelSnapshot {
  /** The last reading, or null while the meter is unavailable. */
  reading: MeterReading | null;
  status: MeterStatus;
  identity: MeterIdentity | undefined;
  /** Energy since the channel started, in Wh; null before the first reading. */
  energyWh: number | null;
  /** Null while no reading was taken during the last `metricsIntervalMin` (before the first one, or offline). */
  metrics: PowerWindowMetrics | null;
}

/**
 * Owns one meter: opens it, reads it (coalescing concurrent requests, caching for `pollIntervalMs`), tracks
 * its energy and min/avg/max, and when it fails, closes it, reports it offline and re-opens it with back-off.
 * Never throws from `sample`: a broken meter is a status, not an exception.
 */
export class MeterChannel {
  readonly meter: Meter;
  private readonly log: Logger;
  private readonly clock: () => number;
  private readonly pollMs: number;
  private readonly timeoutMs: number;
  private readonly backoffInitialMs: number;
  private readonly backoffMaxMs: number;
  private readonly windowMin: number;

  private opened = false;
  private identity: MeterIdentity | undefined;
  private reading: MeterReading | null = null;
  private readAtMs = Number.NEGATIVE_INFINITY;
  private status: MeterStatus = { state: 'Starting', health: 'OK', failures: 0 };
  private nextAttemptMs = Number.NEGATIVE_INFINITY;
  private inFlight: Promise<void> | undefined;
  private window: Array<{ tMs: number; w: number }> = [];
  // Energy bookkeeping: the meter's own counter is re-based at every open, integration bridges short gaps only.
  private energyDoneWh = 0;
  private counterBaseWh: number | undefined;
  private counterLastWh: number | undefined;
  private prev: { tMs: number; w: number } | undefined;
  private haveEnergy = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly closing = new AbortController();

  constructor(options: MeterChannelOptions) {
    this.meter = options.meter;
    this.log = (options.logger ?? noopLogger).child({ driver: options.meter.driver, target: options.meter.target });
    this.clock = options.clock ?? Date.now;
    this.pollMs = options.pollIntervalMs ?? DEFAULT_METER_CHANNEL_OPTIONS.pollIntervalMs;
    this.timeoutMs = options.readTimeoutMs ?? DEFAULT_METER_CHANNEL_OPTIONS.readTimeoutMs;
    this.backoffInitialMs = options.backoffInitialMs ?? DEFAULT_METER_CHANNEL_OPTIONS.backoffInitialMs;
    this.backoffMaxMs = options.backoffMaxMs ?? DEFAULT_METER_CHANNEL_OPTIONS.backoffMaxMs;
    this.windowMin = options.metricsIntervalMin ?? DEFAULT_METER_CHANNEL_OPTIONS.metricsIntervalMin;
  }

  /** Starts background polling, so min/avg/max and energy integration do not depend on client requests. */
  start(): void {
    if (this.timer !== undefined || this.stopped) return;
    const tick = (): void => {
      void this.sample().finally(() => {
        if (this.stopped) return;
        this.timer = setTimeout(tick, this.pollMs);
        this.timer.unref();
      });
    };
    tick();
  }

  /** Stops polling and closes the meter. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.closing.abort();
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.inFlight?.catch(() => undefined);
    if (this.opened) await this.meter.close();
    this.opened = false;
  }

  /** The current state without touching the meter. */
  snapshot(): ChannelSnapshot {
    return {
      reading: this.reading,
      status: { ...this.status },
      identity: this.identity,
      energyWh: this.haveEnergy ? this.energyWh() : null,
      metrics: this.metrics(),
    };
  }

  /** A fresh snapshot: reads the meter when the cached reading is older than the poll interval. */
  async sample(signal?: AbortSignal): Promise<ChannelSnapshot> {
    const now = this.clock();
    const fresh = this.reading !== null && now - this.readAtMs < this.pollMs;
    const waiting = !this.opened && now < this.nextAttemptMs;
    if (!fresh && !waiting && !this.stopped) {
      this.inFlight ??= this.refresh().finally(() => {
        this.inFlight = undefined;
      });
      await (signal === undefined ? this.inFlight : raceAbort(this.inFlight, signal));
    }
    return this.snapshot();
  }

  private async refresh(): Promise<void> {
    const signal = AbortSignal.any([this.closing.signal, AbortSignal.timeout(this.timeoutMs)]);
    try {
      if (!this.opened) {
        this.identity = await untilAborted(this.meter.open(signal), signal);
        this.opened = true;
        this.foldCounter();
        this.log.info({ model: this.identity.model, serial: this.identity.serialNumber }, 'meter opened');
      }
      const reading = await untilAborted(this.meter.read(signal), signal);
      this.accept(reading);
    } catch (err) {
      if (this.stopped) return;
      await this.fail(err);
    }
  }

  private accept(reading: MeterReading): void {
    const tMs = this.clock();
    const counter = reading.energyWh !== undefined && Number.isFinite(reading.energyWh) ? reading.energyWh : undefined;
    // Each interval between two readings is counted once: by the meter's counter when both ends carry it and it
    // did not go down, otherwise by the trapezoid (a lone reading without the counter must not add its interval
    // on top of what the counter will count anyway).
    if (counter !== undefined && this.counterLastWh !== undefined && counter >= this.counterLastWh) {
      this.counterLastWh = counter;
    } else {
      if (counter !== undefined && this.counterLastWh !== undefined) {
        // The counter went down: WT310 integrator reset by hand, Yocto-Watt reboot with the link up. Keep what
        // was counted and continue from the new value, which may not start at zero nor at the reset instant.
        this.log.info({ fromWh: this.counterLastWh, toWh: counter }, 'meter energy counter went down, re-based');
      }
      this.foldCounter();
      if (this.prev !== undefined && tMs > this.prev.tMs && tMs - this.prev.tMs <= 3 * Math.max(this.pollMs, 1)) {
        // A longer gap is not bridged (the meter was away).
        this.energyDoneWh += (((this.prev.w + reading.powerWatts) / 2) * (tMs - this.prev.tMs)) / 3_600_000;
      }
      if (counter !== undefined) {
        this.counterBaseWh = counter;
        this.counterLastWh = counter;
      }
    }
    this.haveEnergy = true;
    this.prev = { tMs, w: reading.powerWatts };
    this.reading = reading;
    this.readAtMs = tMs;
    if (this.status.state !== 'Enabled') this.log.info({}, 'meter available');
    this.status = { state: 'Enabled', health: 'OK', failures: 0 };
    this.window.push({ tMs, w: reading.powerWatts });
    this.pruneWindow(tMs);
  }

  /** Adds what the current counter base has counted to the done energy and forgets the base. */
  private foldCounter(): void {
    if (this.counterBaseWh !== undefined && this.counterLastWh !== undefined) {
      this.energyDoneWh += this.counterLastWh - this.counterBaseWh;
    }
    this.counterBaseWh = undefined;
    this.counterLastWh = undefined;
  }

  /** Drops samples older than the metrics window, so a meter that stopped answering does not keep old figures. */
  private pruneWindow(nowMs: number): void {
    const horizon = nowMs - this.windowMin * 60_000;
    while (this.window.length > 0 && (this.window[0] as { tMs: number }).tMs < horizon) this.window.shift();
  }

  private async fail(err: unknown): Promise<void> {
    const message = err instanceof Error ? err.message : String(err);
    const failures = this.status.failures + 1;
    const delay = Math.min(this.backoffMaxMs, this.backoffInitialMs * 2 ** Math.min(failures - 1, 16));
    this.nextAttemptMs = this.clock() + delay;
    this.foldCounter();
    this.prev = undefined;
    this.reading = null;
    if (this.opened) await this.meter.close();
    this.opened = false;
    const level = failures === 1 ? 'warn' : 'debug';
    this.log[level]({ err: message, failures, retryInMs: delay }, 'meter unavailable');
    this.status = { state: 'UnavailableOffline', health: 'Critical', lastError: message, failures };
  }

  private energyWh(): number {
    const counter =
      this.counterBaseWh !== undefined && this.counterLastWh !== undefined ? this.counterLastWh - this.counterBaseWh : 0;
    return this.energyDoneWh + counter;
  }

  private metrics(): PowerWindowMetrics | null {
    this.pruneWindow(this.clock());
    if (this.window.length === 0) return null;
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    let sum = 0;
    for (const s of this.window) {
      min = Math.min(min, s.w);
      max = Math.max(max, s.w);
      sum += s.w;
    }
    return { intervalMin: this.windowMin, minWatts: min, maxWatts: max, averageWatts: sum / this.window.length };
  }
}

/**
 * Settles with `p`, or rejects with the signal's reason once it aborts: a driver that ignores its signal must not
 * hold the channel (and so serve its last reading as live) forever.
 */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

function abortReason(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  return r instanceof Error ? r : new Error('meter operation aborted');
}

/** Like {@link untilAborted}, but an abort resolves with undefined: the caller just stops waiting. */
function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  return untilAborted(p, signal).catch((err: unknown) => {
    if (signal.aborted) return undefined;
    throw err;
  });
}
