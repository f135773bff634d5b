import { noopLogger, type Logger } from '@energyrecorder/core';
import type { Meter, MeterIdentity, MeterReading, MeterStatus } from './meter.js';
import { redactUrlCredentials } from './internal/redact.js';
import { windowMetrics, type PowerWindowMetrics } from './internal/window-stats.js';

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

export type { PowerWindowMetrics } from './internal/window-stats.js';

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
  /** Trapezoid energy of the intervals since the counter last advanced, not counted yet (see `accept`). */
  private stall: { sinceMs: number; wh: number } | undefined;
  /** A counter value found frozen: readings that still carry it are integrated, as if they had no counter. */
  private frozenCounterWh: number | undefined;
  private haveEnergy = false;
  /** An open abandoned at the deadline that has not settled yet; it is closed once it does. */
  private abandonedOpen: Promise<void> | undefined;
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
    // An open abandoned at its deadline closes itself when it settles; give it one more deadline to do so.
    const late = this.abandonedOpen;
    if (late !== undefined) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([late, new Promise<void>((resolve) => (timer = setTimeout(resolve, this.timeoutMs)))]);
      clearTimeout(timer);
    }
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
    // One controller per refresh, tied to the channel's lifetime by a listener that is removed again: building
    // it with AbortSignal.any on the long-lived `closing` signal would leave one dependant signal behind per poll.
    const deadline = new AbortController();
    const timer = setTimeout(
      () => deadline.abort(new DOMException(`The operation was aborted due to timeout (${this.timeoutMs} ms)`, 'TimeoutError')),
      this.timeoutMs,
    );
    timer.unref();
    const onClosing = (): void => deadline.abort(this.closing.signal.reason);
    this.closing.signal.addEventListener('abort', onClosing, { once: true });
    const signal = deadline.signal;
    try {
      if (this.closing.signal.aborted) return;
      if (!this.opened) {
        if (this.abandonedOpen !== undefined) {
          // Opening again while the late open still holds the device would fail (a USB interface is claimed
          // once) or, worse, race with it for the driver's state.
          throw new Error('the previous open of the meter overran its deadline and has not finished yet');
        }
        const opening = this.meter.open(signal);
        try {
          this.identity = await untilAborted(opening, signal);
        } catch (err) {
          if (signal.aborted) this.abandon(opening);
          throw err;
        }
        this.opened = true;
        this.foldCounter();
        this.log.info({ model: this.identity.model, serial: this.identity.serialNumber }, 'meter opened');
      }
      const reading = await untilAborted(this.meter.read(signal), signal);
      this.accept(reading);
    } catch (err) {
      if (this.stopped) return;
      await this.fail(err);
    } finally {
      clearTimeout(timer);
      this.closing.signal.removeEventListener('abort', onClosing);
    }
  }

  /**
   * An open that overran the deadline keeps running in the driver (a USB step in progress cannot be cut short):
   * whatever it ends up opening is closed as soon as it settles, so the device is not left claimed.
   */
  private abandon(opening: Promise<MeterIdentity>): void {
    const settled: Promise<void> = opening
      .then(
        async () => {
          this.log.debug({}, 'a timed-out open finished late: closing it');
          await this.meter.close();
        },
        () => undefined,
      )
      // A driver whose close() rejects must not leave an unhandled rejection behind.
      .catch((err: unknown) => {
        const message = redactUrlCredentials(err instanceof Error ? err.message : String(err));
        this.log.warn({ err: message }, 'closing a timed-out open that finished late failed');
      })
      .finally(() => {
        if (this.abandonedOpen === settled) this.abandonedOpen = undefined;
      });
    this.abandonedOpen = settled;
  }

  private accept(reading: MeterReading): void {
    const tMs = this.clock();
    let counter = reading.energyWh !== undefined && Number.isFinite(reading.energyWh) ? reading.energyWh : undefined;
    if (counter !== undefined && counter === this.frozenCounterWh) counter = undefined;
    else this.frozenCounterWh = undefined;
    const bridged = this.prev !== undefined && tMs > this.prev.tMs && tMs - this.prev.tMs <= 3 * Math.max(this.pollMs, 1);
    // A longer gap is not bridged (the meter was away).
    const trapezoidWh = bridged && this.prev !== undefined ? (((this.prev.w + reading.powerWatts) / 2) * (tMs - this.prev.tMs)) / 3_600_000 : 0;
    // Each interval between two readings is counted once: by the meter's counter when both ends carry it and it
    // did not go down, otherwise by the trapezoid (a lone reading without the counter must not add its interval
    // on top of what the counter will count anyway).
    if (counter !== undefined && this.counterLastWh !== undefined && counter > this.counterLastWh) {
      // The counter moved: it covers the intervals it seemed to stall over (its resolution), drop their estimate.
      this.counterLastWh = counter;
      this.stall = undefined;
    } else if (counter !== undefined && this.counterLastWh !== undefined && counter === this.counterLastWh) {
      // The counter did not move. Either its resolution hides this interval, or it is frozen (WT310 integrator
      // stopped, its timer expired): keep the trapezoid aside, and once the power clearly ran for longer than the
      // counter's resolution explains, count it and integrate until the counter moves again.
      this.stall ??= { sinceMs: this.prev?.tMs ?? tMs, wh: 0 };
      this.stall.wh += trapezoidWh;
      if (this.stall.wh > frozenCounterThresholdWh(counter) && tMs - this.stall.sinceMs >= FROZEN_COUNTER_MIN_POLLS * this.pollMs) {
        this.log.info({ counterWh: counter, sinceMs: this.stall.sinceMs }, 'meter energy counter stopped while power flows: integrating power');
        const stalledWh = this.stall.wh;
        this.foldCounter();
        this.energyDoneWh += stalledWh;
        this.frozenCounterWh = counter;
      }
    } else {
      if (counter !== undefined && this.counterLastWh !== undefined) {
        // The counter went down: WT310 integrator reset by hand, Yocto-Watt reboot with the link up. Keep what
        // was counted and continue from the new value, which may not start at zero nor at the reset instant.
        this.log.info({ fromWh: this.counterLastWh, toWh: counter }, 'meter energy counter went down, re-based');
      }
      this.foldCounter();
      this.energyDoneWh += trapezoidWh;
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
    // What the counter had not confirmed yet is lost with it, as any interval the counter did not cover at a gap.
    this.stall = undefined;
  }

  /** Drops samples older than the metrics window, so a meter that stopped answering does not keep old figures. */
  private pruneWindow(nowMs: number): void {
    const horizon = nowMs - this.windowMin * 60_000;
    while (this.window.length > 0 && (this.window[0] as { tMs: number }).tMs < horizon) this.window.shift();
  }

  private async fail(err: unknown): Promise<void> {
    const message = redactUrlCredentials(err instanceof Error ? err.message : String(err));
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
    return windowMetrics(this.window, this.windowMin);
  }
}

/** A counter that stalls for at least this many poll periods while power flows is suspected frozen. */
const FROZEN_COUNTER_MIN_POLLS = 3;

/**
 * Energy the trapezoid must find over a stalled counter before the counter is declared frozen: well above the
 * resolution of a counter of this size (the WT310 sends WP with 5 or 6 significant digits, the Yocto-Watt in
 * 1/65536 Wh), so a counter that merely ticks slowly is not mistaken for a stopped one.
 */
function frozenCounterThresholdWh(counterWh: number): number {
  return Math.max(1e-3, 2e-4 * Math.abs(counterWh));
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
