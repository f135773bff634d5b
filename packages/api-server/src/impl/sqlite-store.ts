import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { noopLogger, type Logger } from '@energyrecorder/core';
import { StoreError, StoreUnavailableError } from '../errors.js';
import type { EquipmentSample, PowerQuery, ScenarioEvent, Store, StoredMeasurement } from '../store.js';

/** Options of {@link createSqliteStore}. */
export interface SqliteStoreOptions {
  /** Database file; `:memory:` for tests that need no durability. */
  path: string;
  /** How long to wait for another process's write lock, in ms. */
  busyTimeoutMs?: number;
  logger?: Logger;
}

/** Defaults of {@link SqliteStoreOptions}. */
export const DEFAULT_SQLITE_STORE_OPTIONS = Object.freeze({ busyTimeoutMs: 5000 });

const SCHEMA = `
CREATE TABLE IF NOT EXISTS scenario_events (
  id INTEGER PRIMARY KEY,
  environment TEXT NOT NULL,
  scenario TEXT NOT NULL,
  step TEXT NOT NULL,
  started INTEGER NOT NULL,
  time_ns INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS scenario_events_env_time ON scenario_events (environment, time_ns);
CREATE TABLE IF NOT EXISTS series (
  id INTEGER PRIMARY KEY,
  equipment TEXT NOT NULL,
  environment TEXT NOT NULL,
  scenario TEXT NOT NULL,
  step TEXT NOT NULL,
  topology TEXT NOT NULL,
  sensor TEXT NOT NULL,
  unit TEXT NOT NULL,
  UNIQUE (environment, sensor, unit, equipment, scenario, step, topology)
);
CREATE TABLE IF NOT EXISTS measurements (
  series_id INTEGER NOT NULL,
  time_ns INTEGER NOT NULL,
  value REAL NOT NULL,
  PRIMARY KEY (series_id, time_ns)
) WITHOUT ROWID;
`;

interface EventRow {
  environment: string;
  scenario: string;
  step: string;
  started: number;
  time_ns: number;
}

function toEvent(row: EventRow): ScenarioEvent {
  return {
    environment: row.environment,
    scenario: row.scenario,
    step: row.step,
    started: row.started === 1,
    timeNs: Number(row.time_ns),
  };
}

function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED' || code === 'SQLITE_IOERR' || code === 'SQLITE_FULL';
}

/**
 * The embedded store: one SQLite file through better-sqlite3, WAL journal with `synchronous = FULL`, so a
 * transaction is on disk when `writeMeasurements` returns (see docs/adr/0001-embedded-store.md). The same
 * file can be shared by several API processes.
 */
export function createSqliteStore(options: SqliteStoreOptions): Store {
  const logger = options.logger ?? noopLogger;
  let db: Database.Database | undefined;
  const seriesIds = new Map<string, number>();
  let stmts:
    | {
        insertEvent: Database.Statement;
        lastEvent: Database.Statement;
        lastEventAt: Database.Statement;
        listEvents: Database.Statement;
        insertSeries: Database.Statement;
        selectSeries: Database.Statement;
        upsertMeasurement: Database.Statement;
        queryPower: Database.Statement;
      }
    | undefined;

  const wrap = <T>(what: string, fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      if (isBusy(err)) throw new StoreUnavailableError(`embedded store busy while ${what}`, { cause: err, retryAfterS: 1 });
      throw new StoreError(`embedded store failed while ${what}: ${(err as Error).message}`, { cause: err });
    }
  };

  const ready = (): NonNullable<typeof stmts> => {
    if (stmts === undefined) throw new StoreUnavailableError('embedded store is not open');
    return stmts;
  };

  const seriesId = (m: StoredMeasurement): number => {
    const topology = m.topology === undefined ? '{}' : JSON.stringify(m.topology);
    const key = JSON.stringify([m.environment, m.sensor, m.unit, m.equipment, m.scenario, m.step, topology]);
    const cached = seriesIds.get(key);
    if (cached !== undefined) return cached;
    const s = ready();
    s.insertSeries.run(m.equipment, m.environment, m.scenario, m.step, topology, m.sensor, m.unit);
    const row = s.selectSeries.get(m.environment, m.sensor, m.unit, m.equipment, m.scenario, m.step, topology) as
      | { id: number }
      | undefined;
    if (row === undefined) throw new StoreError('series row vanished');
    if (seriesIds.size > 100_000) seriesIds.clear();
    seriesIds.set(key, row.id);
    return row.id;
  };

  let writeBatch: ((points: readonly StoredMeasurement[]) => void) | undefined;

  return {
    kind: 'sqlite',
    async init() {
      wrap('opening', () => {
        if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
        const d = new Database(options.path);
        d.pragma(`busy_timeout = ${options.busyTimeoutMs ?? DEFAULT_SQLITE_STORE_OPTIONS.busyTimeoutMs}`);
        d.pragma('journal_mode = WAL');
        // FULL: the WAL is fsynced at every commit, so an acknowledged batch survives power loss, not just kill -9.
        d.pragma('synchronous = FULL');
        d.exec(SCHEMA);
        db = d;
        stmts = {
          insertEvent: d.prepare(
            'INSERT INTO scenario_events (environment, scenario, step, started, time_ns) VALUES (?, ?, ?, ?, ?)',
          ),
          lastEvent: d.prepare(
            'SELECT environment, scenario, step, started, time_ns FROM scenario_events WHERE environment = ? ORDER BY time_ns DESC, id DESC LIMIT 1',
          ),
          lastEventAt: d.prepare(
            'SELECT environment, scenario, step, started, time_ns FROM scenario_events WHERE environment = ? AND time_ns <= ? ORDER BY time_ns DESC, id DESC LIMIT 1',
          ),
          listEvents: d.prepare(
            'SELECT environment, scenario, step, started, time_ns FROM scenario_events WHERE environment = ? AND time_ns >= ? ORDER BY time_ns ASC, id ASC',
          ),
          insertSeries: d.prepare(
            'INSERT OR IGNORE INTO series (equipment, environment, scenario, step, topology, sensor, unit) VALUES (?, ?, ?, ?, ?, ?, ?)',
          ),
          selectSeries: d.prepare(
            'SELECT id FROM series WHERE environment = ? AND sensor = ? AND unit = ? AND equipment = ? AND scenario = ? AND step = ? AND topology = ?',
          ),
          upsertMeasurement: d.prepare(
            'INSERT INTO measurements (series_id, time_ns, value) VALUES (?, ?, ?) ON CONFLICT (series_id, time_ns) DO UPDATE SET value = excluded.value',
          ),
          queryPower: d.prepare(
            `SELECT s.equipment AS equipment, m.time_ns AS time_ns, m.value AS value
               FROM series s JOIN measurements m ON m.series_id = s.id
              WHERE s.environment = ? AND s.sensor = ? AND s.unit = ? AND m.time_ns >= ? AND m.time_ns <= ?
              ORDER BY s.equipment, m.time_ns`,
          ),
        };
        const s = stmts;
        writeBatch = d.transaction((points: readonly StoredMeasurement[]) => {
          for (const p of points) s.upsertMeasurement.run(seriesId(p), p.timeNs, p.value);
        });
        logger.info({ path: options.path }, 'embedded store open');
      });
    },
    async ping() {
      wrap('pinging', () => {
        if (db === undefined) throw new StoreUnavailableError('embedded store is not open');
        db.prepare('SELECT 1').get();
      });
    },
    async appendEvent(e) {
      wrap('writing a scenario event', () => {
        ready().insertEvent.run(e.environment, e.scenario, e.step, e.started ? 1 : 0, BigInt(Math.round(e.timeNs)));
      });
    },
    async lastEvent(environment, atNs) {
      return wrap('reading the scenario state', () => {
        const s = ready();
        const row = (
          atNs === undefined ? s.lastEvent.get(environment) : s.lastEventAt.get(environment, BigInt(Math.round(atNs)))
        ) as EventRow | undefined;
        return row === undefined ? undefined : toEvent(row);
      });
    },
    async listEvents(environment, sinceNs) {
      return wrap('listing scenario events', () => {
        const rows = ready().listEvents.all(environment, BigInt(Math.round(sinceNs ?? 0))) as EventRow[];
        return rows.map(toEvent);
      });
    },
    async writeMeasurements(points) {
      if (points.length === 0) return;
      wrap('writing measurements', () => {
        if (writeBatch === undefined) throw new StoreUnavailableError('embedded store is not open');
        writeBatch(points);
      });
    },
    async queryPower(q: PowerQuery): Promise<EquipmentSample[]> {
      return wrap('querying power', () => {
        const rows = ready().queryPower.all(
          q.environment,
          q.sensor,
          q.unit,
          BigInt(Math.round(q.fromNs)),
          BigInt(Math.round(q.toNs)),
        ) as Array<{ equipment: string; time_ns: number; value: number }>;
        return rows.map((r) => ({ equipment: r.equipment, timestampNs: Number(r.time_ns), powerWatts: r.value }));
      });
    },
    async close() {
      db?.close();
      db = undefined;
      stmts = undefined;
      writeBatch = undefined;
    },
  };
}
