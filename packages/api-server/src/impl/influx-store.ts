import { readFileSync } from 'node:fs';
import { InfluxDB } from 'influx';
import { Agent, request } from 'undici';
import { decodeTagValue, encodePoint, noopLogger, ValidationError, type Logger, type Point } from '@energyrecorder/core';
import { StoreError, StoreUnavailableError } from '../errors.js';
import type { EquipmentSample, PowerQuery, ScenarioEvent, Store } from '../store.js';

/** Options of {@link createInfluxStore}. */
export interface InfluxStoreOptions {
  /** Base URL, e.g. `http://127.0.0.1:8086`. */
  host: string;
  db: string;
  /** `undefined` sends no auth; a string (even empty) sends Basic auth, as the original. */
  user?: string;
  pass?: string;
  /** Verify the server certificate over HTTPS (the original did not). */
  verifyCert?: boolean;
  caFile?: string;
  powerDataRetention: string;
  runningScenariosRetention: string;
  timeoutMs: number;
  logger?: Logger;
}

/** Schema names of the original (seed-behaviour §1.3–1.4). */
export const INFLUX_SCHEMA = Object.freeze({
  measurement: 'SensorMeasurement',
  scenarios: 'RunningScenarios',
  powerDataRp: 'power_data_rp',
  runningScenariosRp: 'running_scenarios_rp',
});

// The pool's default exponential back-off marks a restarted influxd dead for up to 10 s; a short constant
// delay lets the API notice a recovered database at once.
interface Backoff {
  getDelay: () => number;
  next: () => Backoff;
  reset: () => Backoff;
}
const shortBackoff: Backoff = {
  getDelay: () => 200,
  next: () => shortBackoff,
  reset: () => shortBackoff,
};

/**
 * A value as InfluxDB 1.x keeps it after core's `escapeTag`: it retains the backslash of `\\` pairs, so queries
 * compare against that form. Control characters never reach the store (the API refuses them).
 */
function storedTag(value: string): string {
  return value.replace(/\\/g, '\\\\');
}

function isOutage(err: unknown): boolean {
  if (err instanceof StoreUnavailableError) return true;
  const e = err as { name?: unknown; code?: unknown; message?: unknown } | null;
  if (e === null || typeof e !== 'object') return false;
  if (e.name === 'ServiceNotAvailableError' || e.name === 'AbortError' || e.name === 'TimeoutError') return true;
  if (typeof e.code === 'string' && /^(E[A-Z]+|UND_ERR_.*)$/.test(e.code)) return true;
  return typeof e.message === 'string' && /ECONNREFUSED|ECONNRESET|socket hang up|timed? ?out|No host available/i.test(e.message);
}

function nanoTime(value: unknown): number {
  const v = value as { getNanoTime?: () => string } | null;
  if (v !== null && typeof v === 'object' && typeof v.getNanoTime === 'function') return Number(v.getNanoTime());
  return Number(value);
}

/**
 * The InfluxDB 1.x store with the original's schema: measurements in `SensorMeasurement` (default RP
 * `power_data_rp`), session state in `running_scenarios_rp.RunningScenarios`. Queries go through the `influx`
 * package with bound parameters; writes are core line protocol over undici.
 */
export function createInfluxStore(options: InfluxStoreOptions): Store {
  const logger = options.logger ?? noopLogger;
  const url = new URL(options.host);
  const https = url.protocol === 'https:';
  const ca = options.caFile === undefined ? undefined : readFileSync(options.caFile);
  const rejectUnauthorized = options.verifyCert ?? true;
  const influx = new InfluxDB({
    host: url.hostname,
    port: url.port === '' ? (https ? 443 : 80) : Number(url.port),
    protocol: https ? 'https' : 'http',
    path: url.pathname === '/' ? '' : url.pathname,
    database: options.db,
    ...(options.user !== undefined ? { username: options.user, password: options.pass ?? '' } : {}),
    options: https ? { rejectUnauthorized, ...(ca === undefined ? {} : { ca }) } : {},
    pool: { maxRetries: 0, requestTimeout: options.timeoutMs, backoff: shortBackoff },
  });
  const dispatcher = new Agent({
    connect: { rejectUnauthorized, ...(ca === undefined ? {} : { ca }) },
    keepAliveTimeout: 10_000,
  });
  const authHeader =
    options.user === undefined
      ? undefined
      : `Basic ${Buffer.from(`${options.user}:${options.pass ?? ''}`).toString('base64')}`;
  const base = options.host.replace(/\/+$/, '');

  const guard = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof StoreError || err instanceof StoreUnavailableError || err instanceof ValidationError) throw err;
      if (isOutage(err)) throw new StoreUnavailableError(`InfluxDB unreachable while ${what}`, { cause: err });
      throw new StoreError(`InfluxDB refused ${what}: ${(err as Error).message}`, { cause: err });
    }
  };

  const write = async (body: string, rp: string | undefined, signal?: AbortSignal): Promise<void> => {
    const query = new URLSearchParams({ db: options.db, precision: 'n' });
    if (rp !== undefined) query.set('rp', rp);
    const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8' };
    if (authHeader !== undefined) headers['authorization'] = authHeader;
    const timeout = AbortSignal.timeout(options.timeoutMs);
    const res = await request(`${base}/write?${query.toString()}`, {
      method: 'POST',
      body,
      headers,
      dispatcher,
      signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]),
    });
    const text = await res.body.text();
    if (res.statusCode === 204) return;
    const message = `InfluxDB write answered ${res.statusCode}: ${text.slice(0, 300)}`;
    // 5xx (and a missing database, which init recreates at the next start) may pass; 4xx bodies are our bug.
    if (res.statusCode >= 500 || res.statusCode === 404 || res.statusCode === 401 || res.statusCode === 403) {
      throw new StoreUnavailableError(message);
    }
    throw new StoreError(message);
  };

  const selectEvents = async (q: string, placeholders: Record<string, string | number>, signal?: AbortSignal) => {
    const rows = await influx.query<{ scenario: string; step: string; started: number; environment: string }>(q, {
      placeholders,
      ...(signal === undefined ? {} : { signal }),
    });
    return rows.map(
      (r): ScenarioEvent => ({
        environment: decodeTagValue(String(r.environment)),
        scenario: decodeTagValue(String(r.scenario)),
        step: decodeTagValue(String(r.step)),
        started: Number(r.started) === 1,
        timeNs: nanoTime(r.time),
      }),
    );
  };

  const from = `"${INFLUX_SCHEMA.runningScenariosRp}"."${INFLUX_SCHEMA.scenarios}"`;
  const eventCols = '"started", "environment", "scenario", "step"';

  return {
    kind: 'influx',
    async init(signal) {
      await guard('creating the database', async () => {
        const names = await influx.getDatabaseNames();
        if (!names.includes(options.db)) await influx.createDatabase(options.db);
        const rps = await influx.showRetentionPolicies(options.db);
        const have = new Set(rps.map((r) => r.name));
        if (!have.has(INFLUX_SCHEMA.powerDataRp)) {
          await influx.createRetentionPolicy(INFLUX_SCHEMA.powerDataRp, {
            database: options.db,
            duration: options.powerDataRetention,
            replication: 1,
            isDefault: true,
          });
        }
        if (!have.has(INFLUX_SCHEMA.runningScenariosRp)) {
          await influx.createRetentionPolicy(INFLUX_SCHEMA.runningScenariosRp, {
            database: options.db,
            duration: options.runningScenariosRetention,
            replication: 1,
          });
        }
        signal?.throwIfAborted();
        logger.info({ db: options.db, host: base }, 'InfluxDB store ready');
      });
    },
    async ping(signal) {
      await guard('pinging', async () => {
        // As the original's ping: a query that fails when the database or its RPs are gone.
        await influx.showRetentionPolicies(options.db);
        signal?.throwIfAborted();
      });
    },
    async appendEvent(e, signal) {
      await guard('writing a scenario event', () =>
        write(
          encodePoint({
            measurement: INFLUX_SCHEMA.scenarios,
            tags: [
              ['environment', e.environment],
              ['scenario', e.scenario],
              ['step', e.step],
            ],
            fields: { started: e.started ? 1 : 0 },
            timestampNs: BigInt(Math.round(e.timeNs)),
          }),
          INFLUX_SCHEMA.runningScenariosRp,
          signal,
        ),
      );
    },
    async lastEvent(environment, atNs, signal) {
      return guard('reading the scenario state', async () => {
        const placeholders: Record<string, string | number> = { env: storedTag(environment) };
        let where = '"environment" = $env';
        if (atNs !== undefined) {
          where += ' AND time <= $t';
          placeholders['t'] = Math.round(atNs);
        }
        const rows = await selectEvents(
          `SELECT ${eventCols} FROM ${from} WHERE ${where} ORDER BY time DESC LIMIT 1`,
          placeholders,
          signal,
        );
        return rows[0];
      });
    },
    async listEvents(environment, sinceNs, signal) {
      return guard('listing scenario events', () =>
        selectEvents(
          `SELECT ${eventCols} FROM ${from} WHERE "environment" = $env AND time >= $since ORDER BY time ASC`,
          { env: storedTag(environment), since: Math.round(sinceNs ?? 0) },
          signal,
        ),
      );
    },
    async writeMeasurements(points, signal) {
      if (points.length === 0) return;
      const lines: string[] = [];
      for (const m of points) {
        const tags: Array<[string, string]> = [
          ['equipement', m.equipment],
          ['environment', m.environment],
          ['scenario', m.scenario],
          ['step', m.step],
        ];
        if (m.topology !== undefined) for (const [k, v] of Object.entries(m.topology)) tags.push([k, v]);
        tags.push(['sensor', m.sensor], ['unit', m.unit]);
        const p: Point = { measurement: INFLUX_SCHEMA.measurement, tags, fields: { value: m.value }, timestampNs: m.timeNs };
        lines.push(encodePoint(p));
      }
      await guard('writing measurements', () => write(lines.join('\n'), undefined, signal));
    },
    async queryPower(q: PowerQuery, signal): Promise<EquipmentSample[]> {
      return guard('querying power', async () => {
        const rows = await influx.query<{ value: number; equipement: string }>(
          `SELECT "value", "equipement" FROM "${INFLUX_SCHEMA.measurement}" WHERE "environment" = $env AND "sensor" = $sensor AND "unit" = $unit AND time >= $from AND time <= $to ORDER BY time ASC`,
          {
            placeholders: {
              env: storedTag(q.environment),
              sensor: storedTag(q.sensor),
              unit: storedTag(q.unit),
              from: Math.round(q.fromNs),
              to: Math.round(q.toNs),
            },
            ...(signal === undefined ? {} : { signal }),
          },
        );
        return rows
          .map((r) => ({
            equipment: decodeTagValue(String(r.equipement)),
            timestampNs: nanoTime(r.time),
            powerWatts: Number(r.value),
          }))
          .sort((a, b) => (a.equipment < b.equipment ? -1 : a.equipment > b.equipment ? 1 : a.timestampNs - b.timestampNs));
      });
    },
    async close() {
      await dispatcher.close();
    },
  };
}
