import { resolve as resolvePath } from 'node:path';
import { noopLogger, type Logger, type Reading, type RecorderApiServerSettings } from '@energyrecorder/core';
import type { Clock } from './internal/clock.js';
import { countDevices, type ResolvedCollectorConfig } from './internal/config.js';
import { LatencyTracker, renderMetrics } from './internal/metrics.js';
import { Pusher, type PusherStatus } from './internal/pusher.js';
import { PollScheduler, type EnvironmentStatus } from './internal/scheduler.js';
import { Spool } from './internal/spool.js';
import { startStatusServer, type StatusServer } from './internal/http-server.js';
import { createApiTransport, urlForLog, type ApiTransport } from './internal/transport.js';

/** Time an adapter's `acknowledge()` (e.g. an FTP purge) may take. */
export const ACKNOWLEDGE_TIMEOUT_MS = 30_000;

/** Shortest time batches may wait without any delivery before `/healthz` reports it (see {@link staleAfterMs}). */
export const MIN_STALE_DELIVERY_MS = 5 * 60_000;

/** How long batches may wait without a delivery before `/healthz` says so: max(5 min, 10 flush intervals). */
export function staleAfterMs(flushIntervalMs: number): number {
  return Math.max(MIN_STALE_DELIVERY_MS, 10 * flushIntervalMs);
}

/** `COLLECTOR` keys a reload cannot apply: they are read once at start. */
const RESTART_ONLY_KEYS = [
  'spool_dir',
  'spool_max_bytes',
  'flush_interval_ms',
  'http_host',
  'http_port',
  'log_file',
  'log_level',
] as const;

/** Options of {@link Collector.create}. */
export interface CollectorOptions {
  /** A configuration from `loadCollectorConfigFile` or `parseCollectorConfigText`. */
  config: ResolvedCollectorConfig;
  logger?: Logger;
  /** Directory a relative `spool_dir` is resolved against. Default: the process's working directory. */
  baseDir?: string;
  /** Replaces the clock (tests). */
  clock?: Clock;
  /** Builds the API transport; the default is undici with the `RECORDER_API_SERVER` settings. */
  createTransport?: (settings: RecorderApiServerSettings) => ApiTransport;
  /** fsync the spool on every write. Default true. */
  spoolFsync?: boolean;
  /** Longest wait for one adapter's `close()` when devices are removed or the collector stops. Default 3 s. */
  adapterCloseTimeoutMs?: number;
}

/** Everything the status dump and `/healthz` show. */
export interface CollectorStatus {
  startedAtMs: number;
  environments: EnvironmentStatus[];
  push: PusherStatus;
}

/**
 * The collector daemon as a library: polls every configured device, spools and pushes the readings, serves
 * `/healthz` and `/metrics` when `COLLECTOR.http_port` is set, and reloads its configuration in place.
 */
export class Collector {
  private statusServer: StatusServer | undefined;
  private startedAtMs = 0;
  private stopping: Promise<void> | undefined;
  /** Reloads run one at a time; of those waiting, only the latest is applied. */
  private reloadChain: Promise<void> = Promise.resolve();
  private reloadTicket = 0;

  private constructor(
    private config: ResolvedCollectorConfig,
    private readonly scheduler: PollScheduler,
    private readonly pusher: Pusher,
    private readonly spool: Spool,
    private readonly makeTransport: (settings: RecorderApiServerSettings) => ApiTransport,
    private readonly latency: LatencyTracker,
    private readonly logger: Logger,
  ) {}

  /** Opens the spool and wires the parts; nothing is polled before {@link start}. */
  static async create(options: CollectorOptions): Promise<Collector> {
    const logger = options.logger ?? noopLogger;
    const { settings } = options.config;
    const spoolDir = resolvePath(options.baseDir ?? process.cwd(), settings.COLLECTOR.spool_dir);
    const spool = await Spool.open(spoolDir, {
      maxBytes: settings.COLLECTOR.spool_max_bytes,
      logger: logger.child({ component: 'spool' }),
      ...(options.spoolFsync === undefined ? {} : { fsync: options.spoolFsync }),
    });
    try {
      return Collector.wire(options, spool, spoolDir, logger);
    } catch (err) {
      // Nothing else will ever close it: release the lock so a retry (or the next process) can open the spool.
      await spool.close().catch(() => undefined);
      throw err;
    }
  }

  private static wire(options: CollectorOptions, spool: Spool, spoolDir: string, logger: Logger): Collector {
    const { settings } = options.config;
    const makeTransport = options.createTransport ?? createApiTransport;
    const latency = new LatencyTracker();
    const scheduler: PollScheduler = new PollScheduler({
      onBatch: (batch) => pusher.enqueue(batch),
      logger: logger.child({ component: 'scheduler' }),
      ...(options.clock === undefined ? {} : { clock: options.clock }),
      ...(options.adapterCloseTimeoutMs === undefined ? {} : { closeTimeoutMs: options.adapterCloseTimeoutMs }),
    });
    const pusher = new Pusher({
      spool,
      transport: makeTransport(settings.RECORDER_API_SERVER),
      logger: logger.child({ component: 'pusher' }),
      flushIntervalMs: settings.COLLECTOR.flush_interval_ms,
      ...(options.clock === undefined ? {} : { clock: options.clock }),
      onDelivered: (record) => {
        const readings = (): Reading[] =>
          record.measurements.map((m) => ({ sensor: m.sensor, unit: m.unit, value: m.value, timestampNs: m.time }));
        void scheduler.acknowledge(record.environment, record.equipmentId, readings, ACKNOWLEDGE_TIMEOUT_MS);
      },
      onLatency: (device, seconds, environment) => latency.observe(device, seconds, environment),
    });
    scheduler.setEnvironments(options.config.environments);
    const collector = new Collector(options.config, scheduler, pusher, spool, makeTransport, latency, logger);
    const depth = spool.depth();
    if (depth.records > 0) {
      logger.info({ batches: depth.records, readings: depth.readings, dir: spoolDir }, 'spool holds unsent batches: replaying');
    }
    return collector;
  }

  /** Starts polling, pushing and (if configured) the status server. */
  async start(): Promise<void> {
    this.startedAtMs = Date.now();
    const { COLLECTOR } = this.config.settings;
    if (COLLECTOR.http_port !== undefined) {
      this.statusServer = await startStatusServer(COLLECTOR.http_host, COLLECTOR.http_port, {
        health: () => this.health(),
        metrics: () => this.metrics(),
      });
      this.logger.info({ url: this.statusServer.url }, 'status server listening');
    }
    this.scheduler.start();
    this.pusher.start();
    const { environments } = this.config;
    this.logger.info({ environments: environments.length, devices: countDevices(environments) }, 'collector started');
  }

  /** URL of the `/healthz` + `/metrics` server, when one runs. */
  get statusUrl(): string | undefined {
    return this.statusServer?.url;
  }

  /**
   * Applies a new configuration: devices are added, removed or re-created, environments re-timed, the API
   * transport replaced. Queued and spooled batches are kept. `COLLECTOR` settings are read once at start: a reload
   * that changes them keeps the running ones and warns that they need a restart.
   *
   * Reloads never overlap: one called while another runs waits for it, and when several wait, only the latest
   * is applied (the others resolve without effect), so two SIGHUPs in a row always end with the newest file.
   */
  reload(next: ResolvedCollectorConfig): Promise<void> {
    const ticket = ++this.reloadTicket;
    const run = this.reloadChain.then(() => (ticket === this.reloadTicket ? this.applyReload(next) : undefined));
    this.reloadChain = run.catch(() => undefined);
    return run;
  }

  private async applyReload(next: ResolvedCollectorConfig): Promise<void> {
    const prev = this.config.settings;
    const changed = RESTART_ONLY_KEYS.filter((k) => next.settings.COLLECTOR[k] !== prev.COLLECTOR[k]);
    if (changed.length > 0) {
      this.logger.warn(
        { keys: changed.map((k) => `COLLECTOR.${k}`) },
        'COLLECTOR settings change only on restart: the running ones are kept',
      );
    }
    const api = next.settings.RECORDER_API_SERVER;
    const apiChanged = JSON.stringify(api) !== JSON.stringify(prev.RECORDER_API_SERVER);
    // Built first: an unreadable ca_file refuses the whole reload before anything changed.
    const transport = apiChanged ? this.makeTransport(api) : undefined;
    // Devices first: closing the old transport waits for its POSTs in flight, up to the API timeout.
    this.scheduler.setEnvironments(next.environments);
    this.config = { ...next, settings: { ...next.settings, COLLECTOR: prev.COLLECTOR } };
    if (transport !== undefined) {
      this.logger.info({ baseUrl: urlForLog(api.base_url) }, 'API settings changed');
      await this.pusher.setTransport(transport);
    }
    this.logger.info(
      { environments: next.environments.length, devices: countDevices(next.environments) },
      'configuration reloaded',
    );
  }

  /**
   * Stops polling, lets running reads finish briefly, pushes what it can within `deadlineMs` and leaves the
   * rest in the spool. Safe to call twice.
   */
  stop(deadlineMs = 10_000): Promise<void> {
    this.stopping ??= (async () => {
      const started = Date.now();
      await this.scheduler.stopReads(Math.min(2000, Math.floor(deadlineMs / 4)));
      // Adapters close (each bounded) while the pusher spools the queue and pushes: a wedged device's close()
      // must not keep the last readings in memory only.
      await Promise.all([
        this.pusher.stop(Math.max(100, deadlineMs - (Date.now() - started) - 200)),
        this.scheduler.adaptersClosed(),
      ]);
      await this.spool.close();
      await this.statusServer?.close();
      const left = this.pusher.status();
      const readings = this.scheduler
        .status()
        .reduce((n, e) => n + e.devices.reduce((m, d) => m + d.readings, 0), 0);
      this.logger.info(
        { readings, deliveredReadings: left.deliveredReadings, spooledBatches: left.spoolBatches },
        'collector stopped',
      );
    })();
    return this.stopping;
  }

  /** Pushes now instead of waiting for the next flush (tests, shutdown). */
  flush(signal?: AbortSignal): Promise<void> {
    return this.pusher.flush(signal);
  }

  /** A snapshot of every device and of the push queue. */
  status(): CollectorStatus {
    return { startedAtMs: this.startedAtMs, environments: this.scheduler.status(), push: this.pusher.status() };
  }

  /** The Prometheus exposition of {@link status}. */
  metrics(): string {
    return renderMetrics(this.scheduler.status(), this.pusher.status(), this.latency);
  }

  /**
   * Healthy unless one of these holds (each is named in `problems`):
   * - the API is unreachable and the spool is above 90 % of its bound, or has dropped readings during the current
   *   outage (dropping whole segments takes the spool back below the 90 % mark, so the size alone would report
   *   OK again while readings are being lost);
   * - the API refuses every request for a reason in the settings (credentials, `base_url`, a proxy's limit);
   * - the spool cannot be written, read or committed;
   * - batches have waited longer than {@link staleAfterMs} without any delivery.
   */
  health(): { ok: boolean; body: unknown } {
    const push = this.pusher.status();
    const { COLLECTOR } = this.config.settings;
    const problems: string[] = [];
    if (!push.apiReachable) {
      if (push.droppedReadingsThisOutage > 0) {
        problems.push(`spool full during the API outage: ${push.droppedReadingsThisOutage} readings dropped`);
      } else if (push.spoolDiskBytes >= COLLECTOR.spool_max_bytes * 0.9) {
        problems.push('API unreachable and the spool is above 90 % of spool_max_bytes');
      }
    }
    const refused = push.refusedBySettings;
    if (refused !== undefined) {
      problems.push(`the API answered ${refused.status}: ${refused.fix}; batches are kept in the spool`);
    }
    if (push.spoolError !== undefined) problems.push(`spool: ${push.spoolError}`);
    const stale = staleAfterMs(COLLECTOR.flush_interval_ms);
    if (push.undeliveredForMs > stale) {
      const waiting = push.pendingBatches + push.spoolBatches;
      problems.push(`no batch delivered for ${Math.round(push.undeliveredForMs / 1000)} s while ${waiting} wait`);
    }
    const ok = problems.length === 0;
    return {
      ok,
      body: {
        status: ok ? 'OK' : 'DEGRADED',
        ...(ok ? {} : { problems }),
        apiReachable: push.apiReachable,
        spooledBatches: push.spoolBatches,
        droppedReadingsThisOutage: push.droppedReadingsThisOutage,
        ...(push.lastError === undefined ? {} : { lastPushError: push.lastError }),
      },
    };
  }

  /** Logs the status dump (SIGUSR1). */
  logStatus(): void {
    const s = this.status();
    for (const env of s.environments) {
      for (const d of env.devices) {
        this.logger.info({ ...d }, 'device status');
      }
      this.logger.info(
        {
          environment: env.name,
          ...(env.entry === undefined ? {} : { entry: env.entry }),
          intervalMs: env.intervalMs,
          ticks: env.ticks,
          skippedTicks: env.skippedTicks,
        },
        'environment status',
      );
    }
    this.logger.info({ ...s.push }, 'push status');
  }
}
