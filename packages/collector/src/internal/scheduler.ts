import {
  AdapterError,
  MAX_PLAUSIBLE_NS,
  MIN_PLAUSIBLE_NS,
  TimeoutError,
  nameProblem,
  noopLogger,
  nowNs as coreNowNs,
  type Logger,
  type MeasurementBatch,
  type PowerAdapter,
  type Reading,
  type Topology,
} from '@energyrecorder/core';
import { backoffDelayMs, type BackoffOptions } from './backoff.js';
import { systemClock, type Clock, type TimerHandle } from './clock.js';
import { errorText, worthWarning } from './logging.js';

/** The `Retry-After` delay an error (or one of its causes, e.g. an adapter's HTTP status error) carries, in ms. */
function retryAfterOf(err: unknown): number | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 8 && typeof e === 'object' && e !== null; depth++) {
    const ms = (e as { retryAfterMs?: unknown }).retryAfterMs;
    if (typeof ms === 'number' && Number.isFinite(ms) && ms > 0) return ms;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}
import { firstReadOffsetsMs, joinsTick } from './stagger.js';
import type { ResolvedDevice, ResolvedEnvironment } from './config.js';

/** Options of {@link PollScheduler}. */
export interface PollSchedulerOptions {
  /** Receives the readings of every successful read that returned at least one reading. */
  onBatch(batch: MeasurementBatch): void;
  logger?: Logger;
  clock?: Clock;
  /** Epoch ns of "now", used to stamp collect times and readings without their own time. */
  nowNs?: () => number;
  random?: () => number;
  /** Read timeout as a share of the polling interval. Default 0.8. */
  timeoutRatio?: number;
  /** Cap of the back-off delay; the polling interval if larger. Default 60 s. */
  maxBackoffMs?: number;
  /**
   * A read that ignores its abort signal keeps its device busy; after this many intervals the read is abandoned
   * and the adapter closed, so the device gets a fresh one. Default 3.
   */
  abandonAfterIntervals?: number;
  /**
   * Longest wait for one adapter's `close()`; a close still running after it is logged and no longer waited
   * for, so a wedged device cannot hold up a shutdown. Default {@link DEFAULT_ADAPTER_CLOSE_TIMEOUT_MS}.
   */
  closeTimeoutMs?: number;
}

/** Default of {@link PollSchedulerOptions.closeTimeoutMs}. */
export const DEFAULT_ADAPTER_CLOSE_TIMEOUT_MS = 3000;

/** Counters and state of one device, for the status dump and `/metrics`. */
export interface DeviceStatus {
  key: string;
  environment: string;
  id: string;
  type: string;
  /** Ticks this device was due. */
  ticks: number;
  /** Reads started within the on-time tolerance of their tick. */
  onTimeReads: number;
  reads: number;
  failures: number;
  consecutiveFailures: number;
  /** Ticks skipped because the previous read was still running. */
  missedTicks: number;
  /** Ticks skipped while waiting out a back-off. */
  backoffSkips: number;
  /** Reads given up because the adapter ignored its abort signal. */
  abandoned: number;
  readings: number;
  /** Entries an adapter returned that were not readings (no string sensor/unit or no numeric value): dropped. */
  malformedReadings: number;
  busy: boolean;
  adapterOpen: boolean;
  lastError?: string;
  lastSuccessMs?: number;
  nextAttemptMs?: number;
}

/** Counters of one environment's tick loop (one per `PODS` entry: an environment may have several). */
export interface EnvironmentStatus {
  name: string;
  /** Which entry of the environment, in file order: absent or 1 for its first one. */
  entry?: number;
  intervalMs: number;
  ticks: number;
  /** Boundaries the loop could not serve at all because the event loop was blocked past them. */
  skippedTicks: number;
  devices: DeviceStatus[];
}

interface InFlight {
  controller: AbortController;
  startedAtMs: number;
  generation: number;
  settled: Promise<void>;
}

interface DeviceRuntime {
  spec: ResolvedDevice;
  env: EnvRuntime;
  adapter: PowerAdapter | undefined;
  inFlight: InFlight | undefined;
  generation: number;
  retired: boolean;
  /** When the first read is planned (spread over an interval); undefined until planned. */
  firstReadAtMs: number | undefined;
  /** When the first read really started; undefined until then. */
  firstReadStartedMs: number | undefined;
  /** Whether the aligned ticks include this device yet (from the first boundary after its first read). */
  joined: boolean;
  stats: Omit<DeviceStatus, 'key' | 'environment' | 'id' | 'type' | 'busy' | 'adapterOpen'>;
}

interface EnvRuntime {
  name: string;
  entry: number;
  /** Key of {@link PollScheduler.envs}: name and entry. */
  key: string;
  intervalMs: number;
  topology: Topology | undefined;
  devices: Map<string, DeviceRuntime>;
  timer: TimerHandle | undefined;
  nextBoundaryMs: number;
  ticks: number;
  skippedTicks: number;
  /** Devices waiting for their first read, in planned order. */
  pending: DeviceRuntime[];
  firstReadTimer: TimerHandle | undefined;
}

/**
 * One async loop for every environment: each environment ticks on wall-clock multiples of its polling interval,
 * and on each tick every device is read concurrently under an abort timeout shorter than the interval. A device
 * still busy at its next tick misses that tick (counted, logged) instead of queueing it. New devices (at start
 * and when a reload adds them) make their first read at an offset spread over one interval, so the costly first
 * contact of many devices does not land on one tick; they join the aligned ticks after that. Failures are isolated
 * per device and retried with exponential back-off and jitter; the adapter is created lazily and re-created
 * after a failure, so no device is ever dead for good.
 */
export class PollScheduler {
  private readonly envs = new Map<string, EnvRuntime>();
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly nowNs: () => number;
  private readonly random: () => number;
  private readonly timeoutRatio: number;
  private readonly maxBackoffMs: number;
  private readonly abandonAfterIntervals: number;
  private readonly closeTimeoutMs: number;
  private readonly pendingCloses = new Set<Promise<void>>();
  private running = false;

  constructor(private readonly options: PollSchedulerOptions) {
    this.logger = options.logger ?? noopLogger;
    this.clock = options.clock ?? systemClock;
    this.nowNs = options.nowNs ?? coreNowNs;
    this.random = options.random ?? Math.random;
    this.timeoutRatio = options.timeoutRatio ?? 0.8;
    this.maxBackoffMs = options.maxBackoffMs ?? 60_000;
    this.abandonAfterIntervals = options.abandonAfterIntervals ?? 3;
    this.closeTimeoutMs = options.closeTimeoutMs ?? DEFAULT_ADAPTER_CLOSE_TIMEOUT_MS;
  }

  /**
   * Installs a set of environments: the first call and every reload. Unchanged devices keep their adapter and
   * counters; removed or changed ones are retired (in-flight read aborted, adapter closed).
   */
  setEnvironments(environments: readonly ResolvedEnvironment[]): void {
    const wanted = new Map(environments.map((e) => [envKey(e), e]));
    for (const [key, env] of this.envs) {
      if (!wanted.has(key)) {
        env.timer?.cancel();
        env.firstReadTimer?.cancel();
        for (const dev of env.devices.values()) this.retire(dev, 'environment removed');
        this.envs.delete(key);
        this.logger.info({ environment: env.name, ...(env.entry === 1 ? {} : { entry: env.entry }) }, 'environment removed');
      }
    }
    for (const spec of environments) {
      const key = envKey(spec);
      let env = this.envs.get(key);
      let reschedule = false;
      if (env === undefined) {
        env = {
          name: spec.name,
          entry: spec.entry ?? 1,
          key,
          intervalMs: spec.intervalMs,
          topology: spec.topology,
          devices: new Map(),
          timer: undefined,
          nextBoundaryMs: 0,
          ticks: 0,
          skippedTicks: 0,
          pending: [],
          firstReadTimer: undefined,
        };
        this.envs.set(key, env);
        reschedule = true;
      } else {
        env.topology = spec.topology;
        if (env.intervalMs !== spec.intervalMs) {
          env.intervalMs = spec.intervalMs;
          reschedule = true;
        }
      }
      const wantedDevices = new Map(spec.devices.map((d) => [d.key, d]));
      for (const [key, dev] of env.devices) {
        const next = wantedDevices.get(key);
        if (next === undefined || next.fingerprint !== dev.spec.fingerprint) {
          this.retire(dev, next === undefined ? 'device removed' : 'device changed');
          env.devices.delete(key);
        }
      }
      const added: DeviceRuntime[] = [];
      for (const device of spec.devices) {
        if (env.devices.has(device.key)) continue;
        const dev = this.newDevice(device, env);
        env.devices.set(device.key, dev);
        added.push(dev);
      }
      if (!this.running) continue;
      if (reschedule) {
        env.timer?.cancel();
        this.schedule(env);
      } else if (added.length > 0) {
        this.planFirstReads(env, added, env.nextBoundaryMs);
      }
    }
  }

  /** Starts ticking. */
  start(): void {
    if (this.running) return;
    this.running = true;
    for (const env of this.envs.values()) this.schedule(env);
  }

  /**
   * Stops ticking, lets in-flight reads finish for up to `graceMs` (their readings still reach `onBatch`), then
   * aborts the rest and closes every adapter, waiting at most `closeTimeoutMs` for each.
   */
  async stop(graceMs = 2000): Promise<void> {
    await this.stopReads(graceMs);
    await this.adaptersClosed();
  }

  /**
   * The first half of {@link stop}: stops ticking, lets in-flight reads finish for up to `graceMs`, aborts the
   * rest and starts closing every adapter without waiting for the closes. No batch is produced after it.
   */
  async stopReads(graceMs = 2000): Promise<void> {
    this.running = false;
    for (const env of this.envs.values()) {
      env.timer?.cancel();
      env.timer = undefined;
      env.firstReadTimer?.cancel();
      env.firstReadTimer = undefined;
      env.pending = [];
    }
    const inFlight = this.allDevices()
      .map((d) => d.inFlight?.settled)
      .filter((p): p is Promise<void> => p !== undefined);
    if (inFlight.length > 0 && graceMs > 0) {
      let timer: TimerHandle | undefined;
      await Promise.race([
        Promise.allSettled(inFlight),
        new Promise<void>((resolve) => {
          timer = this.clock.setTimer(resolve, graceMs);
        }),
      ]);
      timer?.cancel();
    }
    for (const dev of this.allDevices()) this.retire(dev, 'collector stopping');
  }

  /** Resolves once every adapter close started so far has ended or run past `closeTimeoutMs`. */
  async adaptersClosed(): Promise<void> {
    await Promise.allSettled([...this.pendingCloses]);
  }

  /**
   * Passes a delivery confirmation to the device's adapter, if it has one and wants it, with `timeoutMs` to
   * finish. The readings are built only then: most adapters have no `acknowledge`.
   */
  async acknowledge(environment: string, id: string, readings: () => readonly Reading[], timeoutMs: number): Promise<void> {
    // Ids are unique per environment over all its entries: at most one entry holds the device.
    const key = `${environment}/${id}`;
    const dev = [...this.envs.values()].find((e) => e.name === environment && e.devices.has(key))?.devices.get(key);
    const adapter = dev?.adapter;
    if (adapter?.acknowledge === undefined) return;
    try {
      await adapter.acknowledge(readings(), AbortSignal.timeout(timeoutMs));
    } catch (err) {
      this.logger.warn({ device: dev?.spec.key, err: errorText(err) }, 'adapter acknowledge failed');
    }
  }

  /** A snapshot of every environment and device. */
  status(): EnvironmentStatus[] {
    return [...this.envs.values()].map((env) => ({
      name: env.name,
      ...(env.entry === 1 ? {} : { entry: env.entry }),
      intervalMs: env.intervalMs,
      ticks: env.ticks,
      skippedTicks: env.skippedTicks,
      devices: [...env.devices.values()].map((d) => ({
        key: d.spec.key,
        environment: env.name,
        id: d.spec.id,
        type: d.spec.type,
        busy: d.inFlight !== undefined,
        adapterOpen: d.adapter !== undefined,
        ...d.stats,
      })),
    }));
  }

  private allDevices(): DeviceRuntime[] {
    return [...this.envs.values()].flatMap((e) => [...e.devices.values()]);
  }

  private newDevice(spec: ResolvedDevice, env: EnvRuntime): DeviceRuntime {
    return {
      spec,
      env,
      adapter: undefined,
      inFlight: undefined,
      generation: 0,
      retired: false,
      firstReadAtMs: undefined,
      firstReadStartedMs: undefined,
      joined: false,
      stats: {
        ticks: 0,
        onTimeReads: 0,
        reads: 0,
        failures: 0,
        consecutiveFailures: 0,
        missedTicks: 0,
        backoffSkips: 0,
        abandoned: 0,
        readings: 0,
        malformedReadings: 0,
      },
    };
  }

  private schedule(env: EnvRuntime): void {
    const now = this.clock.nowMs();
    env.nextBoundaryMs = nextBoundaryAfter(now, env.intervalMs);
    this.arm(env);
    // Devices still waiting for their first read are planned again over the first interval of this schedule.
    env.pending = [];
    const waiting = [...env.devices.values()].filter((d) => d.firstReadStartedMs === undefined);
    this.planFirstReads(env, waiting, env.nextBoundaryMs);
  }

  /** Spreads the first reads of `devices` over the interval that starts at `fromMs`. */
  private planFirstReads(env: EnvRuntime, devices: readonly DeviceRuntime[], fromMs: number): void {
    const offsets = firstReadOffsetsMs(devices.length, env.intervalMs);
    devices.forEach((dev, i) => {
      dev.firstReadAtMs = fromMs + (offsets[i] ?? 0);
      env.pending.push(dev);
    });
    // Stable: devices planned for the same instant keep their configuration order.
    env.pending.sort((a, b) => (a.firstReadAtMs ?? 0) - (b.firstReadAtMs ?? 0));
    this.armFirstReads(env);
  }

  private armFirstReads(env: EnvRuntime): void {
    env.firstReadTimer?.cancel();
    env.firstReadTimer = undefined;
    const next = env.pending[0];
    if (next === undefined) return;
    env.firstReadTimer = this.clock.setTimer(() => this.firstReads(env), (next.firstReadAtMs ?? 0) - this.clock.nowMs());
  }

  private firstReads(env: EnvRuntime): void {
    env.firstReadTimer = undefined;
    if (!this.running || this.envs.get(env.key) !== env) return;
    const now = this.clock.nowMs();
    const first = env.pending[0]?.firstReadAtMs;
    if (first !== undefined && first - now > env.intervalMs) {
      // Plans are never more than an interval ahead: the wall clock was stepped back. Plan again from now.
      const waiting = env.pending;
      env.pending = [];
      this.planFirstReads(env, waiting, nextBoundaryAfter(now, env.intervalMs));
      return;
    }
    let due = 0;
    while (due < env.pending.length && (env.pending[due]?.firstReadAtMs ?? 0) <= now) due++;
    const ready = env.pending.splice(0, due);
    for (const dev of ready) {
      if (dev.retired || env.devices.get(dev.spec.key) !== dev || dev.firstReadStartedMs !== undefined) continue;
      dev.firstReadStartedMs = now;
      dev.stats.ticks++;
      this.startRead(dev, dev.firstReadAtMs ?? now, now);
    }
    this.armFirstReads(env);
  }

  private arm(env: EnvRuntime): void {
    env.timer = this.clock.setTimer(() => this.tick(env), env.nextBoundaryMs - this.clock.nowMs());
  }

  private tick(env: EnvRuntime): void {
    if (!this.running || this.envs.get(env.key) !== env) return;
    const now = this.clock.nowMs();
    let boundary = env.nextBoundaryMs;
    if (now < boundary) {
      if (boundary - now > env.intervalMs) {
        // The next boundary is never more than an interval ahead unless the wall clock was stepped back (NTP,
        // an RTC kept in local time): take the next boundary from the new time rather than stop polling for
        // the length of the step.
        this.logger.warn(
          { environment: env.name, steppedBackMs: boundary - env.intervalMs - now },
          'wall clock stepped back: ticks re-aligned',
        );
        env.nextBoundaryMs = nextBoundaryAfter(now, env.intervalMs);
      }
      // Otherwise timers may fire a little early against the wall clock (NTP slew); wait for the real boundary.
      this.arm(env);
      return;
    }
    const behind = Math.floor((now - boundary) / env.intervalMs);
    if (behind > 0) {
      env.skippedTicks += behind;
      boundary += behind * env.intervalMs;
      this.logger.warn({ environment: env.name, skipped: behind }, 'event loop blocked: ticks skipped');
    }
    env.ticks++;
    env.nextBoundaryMs = boundary + env.intervalMs;
    this.arm(env);
    for (const dev of env.devices.values()) {
      if (!dev.joined) {
        const first = dev.firstReadStartedMs;
        if (first === undefined || !joinsTick(boundary, first, env.intervalMs, dev.inFlight !== undefined)) continue;
        dev.joined = true;
      }
      this.poll(dev, boundary, now);
    }
  }

  private poll(dev: DeviceRuntime, boundaryMs: number, now: number): void {
    const interval = dev.env.intervalMs;
    dev.stats.ticks++;
    if (dev.inFlight !== undefined) {
      if (now - dev.inFlight.startedAtMs >= interval * this.abandonAfterIntervals) {
        this.abandon(dev);
      } else {
        const missed = ++dev.stats.missedTicks;
        // Throttled like failures: a wedged device must not flood the log once per tick.
        const fields = { device: dev.spec.key, missedTicks: missed };
        const message = 'device still busy with the previous read: tick missed';
        if (worthWarning(missed)) this.logger.warn(fields, message);
        else this.logger.debug(fields, message);
        return;
      }
    }
    const nextAttempt = dev.stats.nextAttemptMs;
    if (nextAttempt !== undefined && now < nextAttempt) {
      // A back-off never exceeds the larger of interval and cap: a longer wait means the wall clock was stepped
      // back, and the device is tried now instead of after the length of the step.
      if (nextAttempt - now <= Math.max(interval, this.maxBackoffMs)) {
        dev.stats.backoffSkips++;
        return;
      }
      delete dev.stats.nextAttemptMs;
    }
    this.startRead(dev, boundaryMs, now);
  }

  private startRead(dev: DeviceRuntime, boundaryMs: number, now: number): void {
    const interval = dev.env.intervalMs;
    const timeoutMs = Math.max(1, Math.floor(interval * this.timeoutRatio));
    const tolerance = Math.min(100, interval * 0.1);
    if (now - boundaryMs <= tolerance) dev.stats.onTimeReads++;
    dev.stats.reads++;
    const collectTimeNs = this.nowNs();
    const generation = ++dev.generation;
    const controller = new AbortController();
    let readPromise: Promise<Reading[]>;
    try {
      dev.adapter ??= dev.spec.adapter.definition.create(dev.spec.adapter.config, {
        logger: this.logger.child({ adapter: dev.spec.type, device: dev.spec.key }),
        requestTimeoutMs: timeoutMs,
        equipmentId: dev.spec.id,
      });
      readPromise = dev.adapter.read(controller.signal);
    } catch (err) {
      readPromise = Promise.reject(err);
    }
    const timer = this.clock.setTimer(
      () => controller.abort(new TimeoutError(`read of ${dev.spec.key} timed out after ${timeoutMs} ms`)),
      timeoutMs,
    );
    // The outcome is decided at the timeout at the latest, even if the adapter ignores the signal.
    const outcome = new Promise<Reading[]>((resolve, reject) => {
      controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
      readPromise.then(resolve, reject);
    });
    outcome
      .then(
        (readings: unknown) => {
          // Adapters are plugins: a buggy one must cost its own device a failed read, not the daemon its life
          // (a throw here would be an unhandled rejection).
          if (!Array.isArray(readings)) {
            const got = readings === null ? 'null' : typeof readings;
            throw new AdapterError(`read resolved ${got}, not a list of readings`, {
              adapterType: dev.spec.type,
              target: dev.spec.id,
              code: 'ER_ADAPTER_OUTPUT',
            });
          }
          this.onSuccess(dev, readings, collectTimeNs);
        },
      )
      .catch((err: unknown) => this.onFailure(dev, err));
    const settled = readPromise.then(
      () => undefined,
      () => undefined,
    );
    dev.inFlight = { controller, startedAtMs: now, generation, settled };
    void settled.then(() => {
      timer.cancel();
      if (dev.inFlight?.generation !== generation) return;
      dev.inFlight = undefined;
      // A failed adapter is replaced only once its read has really ended, so two reads never share it.
      if (dev.stats.consecutiveFailures > 0 || dev.retired) this.dropAdapter(dev);
    });
  }

  private onSuccess(dev: DeviceRuntime, returned: readonly unknown[], collectTimeNs: number): void {
    if (dev.stats.consecutiveFailures > 0) {
      this.logger.info(
        { device: dev.spec.key, after: dev.stats.consecutiveFailures },
        'device recovered',
      );
    }
    dev.stats.consecutiveFailures = 0;
    delete dev.stats.nextAttemptMs;
    dev.stats.lastSuccessMs = this.clock.nowMs();
    const readings = returned.filter(isReadingShaped);
    const malformed = returned.length - readings.length;
    if (malformed > 0) {
      const total = (dev.stats.malformedReadings += malformed);
      const fields = { device: dev.spec.key, dropped: malformed, malformedReadings: total };
      if (worthWarning(total)) this.logger.warn(fields, 'adapter returned malformed readings: dropped');
      else this.logger.debug(fields, 'adapter returned malformed readings: dropped');
    }
    if (readings.length === 0) return;
    dev.stats.readings += readings.length;
    const stamped = readings.map((r) => (hasNoTimestamp(r.timestampNs) ? { ...r, timestampNs: collectTimeNs } : r));
    const batch: MeasurementBatch = {
      equipmentId: dev.spec.id,
      environment: dev.env.name,
      collectTimeNs,
      readings: stamped,
    };
    if (dev.env.topology !== undefined) batch.topology = dev.env.topology;
    try {
      this.options.onBatch(batch);
    } catch (err) {
      this.logger.error({ device: dev.spec.key, err: errorText(err) }, 'could not queue readings');
    }
  }

  private onFailure(dev: DeviceRuntime, err: unknown): void {
    // A removed device's read was aborted on purpose: not a device failure.
    if (dev.retired) return;
    dev.stats.failures++;
    const n = ++dev.stats.consecutiveFailures;
    dev.stats.lastError = errorText(err);
    const backoff: BackoffOptions = {
      baseMs: dev.env.intervalMs,
      maxMs: Math.max(dev.env.intervalMs, this.maxBackoffMs),
    };
    // A device that said when to come back (503 or 429 with Retry-After) is not asked sooner, within the same
    // bound as the back-off: a longer wait would read as a wall clock stepped back at the next tick.
    const retryAfterMs = retryAfterOf(err);
    const delay = Math.max(backoffDelayMs(n, backoff, this.random), Math.min(retryAfterMs ?? 0, backoff.maxMs));
    dev.stats.nextAttemptMs = this.clock.nowMs() + delay;
    const fields = {
      device: dev.spec.key,
      failures: n,
      retryInMs: delay,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      err: dev.stats.lastError,
    };
    if (worthWarning(n)) this.logger.warn(fields, 'device read failed');
    else this.logger.debug(fields, 'device read failed');
    if (dev.inFlight === undefined) this.dropAdapter(dev);
  }

  private abandon(dev: DeviceRuntime): void {
    dev.stats.abandoned++;
    this.logger.warn({ device: dev.spec.key }, 'read ignored its abort signal: abandoned, adapter re-created');
    dev.inFlight = undefined;
    dev.generation++;
    this.dropAdapter(dev);
  }

  private retire(dev: DeviceRuntime, why: string): void {
    dev.retired = true;
    dev.inFlight?.controller.abort(new Error(why));
    dev.inFlight = undefined;
    this.dropAdapter(dev);
  }

  private dropAdapter(dev: DeviceRuntime): void {
    const adapter = dev.adapter;
    dev.adapter = undefined;
    if (adapter === undefined) return;
    let timer: TimerHandle | undefined;
    const closing = Promise.resolve()
      .then(() => adapter.close())
      .then(
        () => true,
        (err: unknown) => {
          this.logger.debug({ device: dev.spec.key, err: errorText(err) }, 'adapter close failed');
          return true;
        },
      );
    const timedOut = new Promise<boolean>((resolve) => {
      timer = this.clock.setTimer(() => resolve(false), this.closeTimeoutMs);
    });
    const p = Promise.race([closing, timedOut])
      .then((closed) => {
        timer?.cancel();
        if (!closed) {
          this.logger.warn(
            { device: dev.spec.key, closeTimeoutMs: this.closeTimeoutMs },
            'adapter close did not finish in time: no longer waited for',
          );
        }
      })
      .finally(() => this.pendingCloses.delete(p));
    this.pendingCloses.add(p);
  }
}

/** Key of one environment entry in {@link PollScheduler}: entries of one environment tick on their own. */
function envKey(env: ResolvedEnvironment): string {
  return `${env.entry ?? 1}\u0000${env.name}`;
}

/** The first multiple of `intervalMs` after `nowMs`. */
function nextBoundaryAfter(nowMs: number, intervalMs: number): number {
  return (Math.floor(nowMs / intervalMs) + 1) * intervalMs;
}

/**
 * End (exclusive) of the timestamps the API stores: 64-bit ns timestamps end in April 2262, before core's
 * `MAX_PLAUSIBLE_NS`.
 */
const TIMESTAMP_END_NS = Math.min(MAX_PLAUSIBLE_NS, 2 ** 63);

/** Whether an adapter gave no usable timestamp (absent, 0, negative, not a finite number): the collect time is used. */
function hasNoTimestamp(t: unknown): boolean {
  return typeof t !== 'number' || !Number.isFinite(t) || t <= 0;
}

/**
 * A reading the API will store: string `sensor` and `unit` that follow the API's name rules, a finite number
 * (JSON has no NaN or Infinity), and a timestamp that is either absent (the collect time is used) or plausible epoch
 * ns (core's `MIN_PLAUSIBLE_NS` up to 2^63). One that breaks them would make the API refuse the whole batch, the
 * device's good readings with it, on every poll. A timestamp in ms or s is not re-stamped with the collect time:
 * the reading might be an old one (an FTP meter's backlog), and storing it at the wrong time would be worse than
 * dropping it.
 */
function isReadingShaped(value: unknown): value is Reading {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Record<string, unknown>;
  const { sensor, unit, value: v, timestampNs: t } = r;
  return (
    typeof sensor === 'string' &&
    typeof unit === 'string' &&
    typeof v === 'number' &&
    Number.isFinite(v) &&
    nameProblem(sensor) === undefined &&
    nameProblem(unit) === undefined &&
    (hasNoTimestamp(t) || (Math.round(t as number) >= MIN_PLAUSIBLE_NS && Math.round(t as number) < TIMESTAMP_END_NS))
  );
}
