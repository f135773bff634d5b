import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { DEFAULT_WEBAPP_SETTINGS, noopLogger, parseConfig, webappSettingsSchema, type Logger, type WebappSettings } from '@energyrecorder/core';
import { createInfluxStore } from './impl/influx-store.js';
import { createSqliteStore } from './impl/sqlite-store.js';
import { buildApp, type ApiEvent } from './internal/app.js';
import { createDashboard } from './dashboard/attach.js';
import { createMqttRepublisher, type MqttRepublisher } from './internal/mqtt-republisher.js';
import type { Store } from './store.js';

/** Options of {@link createApiServer}. */
export interface ApiServerOptions {
  /**
   * `webapp-settings.yaml` content (already parsed YAML or a validated object). Absent: embedded store in
   * memory, no MQTT, no auth; handy for other packages' tests.
   */
  settings?: unknown;
  /** Port to listen on; 0 picks a free one. Default: the port of `BIND`, or 0 without settings. */
  port?: number;
  /** Address to listen on. Default: the host of `BIND`, or 127.0.0.1 without settings. */
  host?: string;
  /** Embedded store file, overriding `STORE.path` (`:memory:` for a throw-away store). */
  storePath?: string;
  /** A ready store, overriding `INFLUX` and `STORE`. */
  store?: Store;
  logger?: Logger;
  /** MQTT queue bound, in messages. */
  mqttQueueLimit?: number;
  /** Called after each stored session change or measurement batch (e.g. to feed a live dashboard). */
  onEvent?: (event: ApiEvent) => void;
  /** Fastify plugins registered before the API routes (e.g. the dashboard). */
  plugins?: ReadonlyArray<(app: FastifyInstance) => Promise<void>>;
  /** The live dashboard at `/` (on by default); `false` turns it off, `assetsDir` serves another build. */
  dashboard?: boolean | { assetsDir?: string };
  /**
   * Session lookups of readings older than `marginNs` (default 500 ms: the longest an event write may take to
   * become readable by every API process, clock skew included) and younger than `windowNs` (default 6 h) are
   * answered from a per-environment timeline instead of one store query per request; at most `maxEnvironments`
   * (default 4,096) timelines are kept. A timeline answers for at most `maxAgeNs` (default 2 s) before it is read
   * again, which bounds how long an event whose write broke the margin can be missed.
   */
  sessionTimeline?: { marginNs?: number; maxAgeNs?: number; windowNs?: number; maxEnvironments?: number };
  /**
   * Longest a client may take to send a whole request (headers and body), in ms; a late one gets 408 and its
   * connection is closed. Default 120,000: a 20 MiB body (the default body limit) on a 175 KB/s link. 0: no limit.
   */
  requestTimeoutMs?: number;
  /** Most connections open at once (dashboards' streams included); more are closed on arrival. Default 10,000. */
  maxConnections?: number;
}

/** A running (or ready to run) recording API. */
export interface ApiServer {
  /** Starts listening; resolves with the base URL (without `/resources`). */
  listen(): Promise<string>;
  /** Stops accepting, finishes in-flight requests, flushes MQTT, closes the store. */
  close(): Promise<void>;
  /** Base URL, e.g. `http://127.0.0.1:41234`; throws before `listen()`. */
  readonly url: string;
  /** The store in use. */
  readonly store: Store;
  /** The Fastify instance, once listening (for `inject` in tests). */
  readonly app: FastifyInstance | undefined;
}

/** Validates settings the way the CLI does (throws `ConfigError` listing every problem). */
export function parseWebappSettings(input: unknown, source?: string): WebappSettings {
  return parseConfig(webappSettingsSchema, input ?? {}, source);
}

function splitBind(bind: string): { host: string; port: number } {
  const i = bind.lastIndexOf(':');
  return { host: bind.slice(0, i) === '' ? '0.0.0.0' : bind.slice(0, i), port: Number(bind.slice(i + 1)) };
}

/** Builds the store the settings ask for: InfluxDB when `INFLUX` is set, the embedded SQLite file otherwise. */
export function createStoreFromSettings(settings: WebappSettings, logger: Logger, storePath?: string): Store {
  const i = settings.INFLUX;
  if (i !== undefined) {
    return createInfluxStore({
      host: i.host,
      db: i.db,
      ...(i.user === undefined ? {} : { user: i.user, pass: i.pass ?? '' }),
      verifyCert: i.verify_cert,
      ...(i.ca_file === undefined ? {} : { caFile: i.ca_file }),
      powerDataRetention: i.power_data_retention,
      runningScenariosRetention: i.running_scenarios_retention,
      timeoutMs: i.timeout_ms,
      ...(i.queue ? { queue: { dir: i.queue_dir, maxBytes: i.queue_max_bytes } } : {}),
      logger: logger.child({ component: 'influx-store' }),
    });
  }
  return createSqliteStore({
    path: storePath ?? settings.STORE.path,
    retention: settings.STORE.retention,
    eventsRetention: settings.STORE.events_retention,
    logger: logger.child({ component: 'sqlite-store' }),
  });
}

/**
 * Creates the recording API. Nothing starts before `listen()`.
 *
 * @example
 * const api = createApiServer({ port: 0 });
 * const url = await api.listen(); // embedded in-memory store
 * await api.close();
 */
export function createApiServer(options: ApiServerOptions = {}): ApiServer {
  const logger = options.logger ?? noopLogger;
  const haveSettings = options.settings !== undefined;
  const settings = parseWebappSettings(options.settings);
  const bind = splitBind(settings.BIND);
  const port = options.port ?? (haveSettings ? bind.port : 0);
  const host = options.host ?? (haveSettings ? bind.host : '127.0.0.1');
  const store =
    options.store ?? createStoreFromSettings(settings, logger, options.storePath ?? (haveSettings ? undefined : ':memory:'));
  let app: FastifyInstance | undefined;
  let mqtt: MqttRepublisher | undefined;
  let url: string | undefined;

  return {
    get url() {
      if (url === undefined) throw new Error('createApiServer: call listen() first');
      return url;
    },
    get store() {
      return store;
    },
    get app() {
      return app;
    },
    async listen() {
      // Local files (the InfluxDB write queue): a failure is fatal, unlike a database that is down at start.
      await store.open?.();
      try {
        await store.init();
      } catch (err) {
        // A database that is down at start is not fatal: requests answer 503 until it comes back.
        logger.warn({ err: (err as Error).message, store: store.kind }, 'store not ready at start');
      }
      if (settings.MQTT !== undefined) {
        mqtt = createMqttRepublisher({
          settings: settings.MQTT,
          ...(options.mqttQueueLimit === undefined ? {} : { queueLimit: options.mqttQueueLimit }),
          logger: logger.child({ component: 'mqtt' }),
        });
      }
      const auth = settings.AUTH === undefined ? undefined : { users: settings.AUTH.users, protectReads: settings.AUTH.protect_reads };
      const dashboard =
        options.dashboard === false
          ? undefined
          : createDashboard({
              logger: logger.child({ component: 'dashboard' }),
              ...(typeof options.dashboard === 'object' && options.dashboard.assetsDir !== undefined
                ? { assetsDir: options.dashboard.assetsDir }
                : {}),
              ...(auth === undefined ? {} : { auth }),
            });
      const onEvent = dashboard === undefined ? options.onEvent : (e: ApiEvent): void => {
        dashboard.onEvent(e);
        options.onEvent?.(e);
      };
      const plugins = [...(dashboard === undefined ? [] : [dashboard.register]), ...(options.plugins ?? [])];
      const built = await buildApp({
        store,
        logger: logger.child({ component: 'http' }),
        alwaysRecord: settings.ALWAYS_RECORD,
        bodyLimitBytes: settings.BODY_LIMIT_BYTES ?? DEFAULT_WEBAPP_SETTINGS.bodyLimitBytes,
        ...(mqtt === undefined ? {} : { mqtt }),
        mqttBasePath: settings.MQTT?.base_path ?? '',
        ...(onEvent === undefined ? {} : { onEvent }),
        plugins,
        ...(options.sessionTimeline === undefined ? {} : { sessionTimeline: options.sessionTimeline }),
        ...(options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: options.requestTimeoutMs }),
        ...(options.maxConnections === undefined ? {} : { maxConnections: options.maxConnections }),
        ...(auth === undefined ? {} : { auth }),
        ...(settings.TLS === undefined
          ? {}
          : { https: { key: readFileSync(settings.TLS.key_file), cert: readFileSync(settings.TLS.cert_file) } }),
      });
      app = built.app;
      await app.listen({ port, host });
      const addr = app.server.address() as AddressInfo;
      const shownHost = addr.address === '0.0.0.0' || addr.address === '::' ? '127.0.0.1' : addr.address;
      url = `${settings.TLS === undefined ? 'http' : 'https'}://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${addr.port}`;
      logger.info({ url, store: store.kind, mqtt: mqtt !== undefined, auth: settings.AUTH !== undefined }, 'recording API listening');
      return url;
    },
    async close() {
      if (app !== undefined) await app.close();
      if (mqtt !== undefined) await mqtt.close();
      await store.close();
      logger.info({}, 'recording API closed');
    },
  };
}
