import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { noopLogger, nowNs, type Logger } from '@energyrecorder/core';
import { StoreError, StoreUnavailableError } from '../errors.js';
import { pointsToBatches } from '../internal/batches.js';
import { parseDurationNs } from '../internal/duration.js';
import type { EquipmentSample, MeasurementBatch, PowerQuery, ScenarioEvent, Store } from '../store.js';

/** Options of {@link createSqliteStore}. */
export interface SqliteStoreOptions {
  /** Database file; `:memory:` for tests that need no durability. */
  path: string;
  /** How long to wait for another process's write lock, in ms. */
  busyTimeoutMs?: number;
  /** Measurements older than this InfluxDB-style duration (`3w`, `12h`, `INF`) are deleted. */
  retention?: string;
  /** Scenario events older than this duration are deleted (sessions and reports forget them). */
  eventsRetention?: string;
  /** How often expired rows are deleted, in ms (also once at start). */
  purgeIntervalMs?: number;
  logger?: Logger;
}

/** Defaults of {@link SqliteStoreOptions}: the same durations as the InfluxDB retention policies. */
export const DEFAULT_SQLITE_STORE_OPTIONS = Object.freeze({
  busyTimeoutMs: 5000,
  retention: '3w',
  eventsRetention: '52w',
  purgeIntervalMs: 10 * 60_000,
});

/** The embedded store, with its retention sweep exposed (for tests and operators' scripts). */
export interface SqliteStore extends Store {
  /** Deletes measurements and events older than their retention, as of `nowNs`; returns the rows deleted. */
  purgeExpired(nowNs?: number): number;
}

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
  // better-sqlite3 reports extended codes (`SQLITE_BUSY_SNAPSHOT`, `SQLITE_IOERR_WRITE`): all of them are transient.
  return typeof code === 'string' && /^SQLITE_(BUSY|LOCKED|IOERR|FULL)(_|$)/.test(code);
}

interface Pending {
  batch: MeasurementBatch;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * The embedded store: one SQLite file through better-sqlite3, WAL journal with `synchronous = FULL`, so a
 * transaction is on disk when `writeBatch` resolves (see docs/adr/0001-embedded-store.md). Batches that arrive
 * while the event loop is busy are committed together (group commit: one transaction and one fsync for all of
 * them). The same file can be shared by several API processes.
 */
export function createSqliteStore(options: SqliteStoreOptions): SqliteStore {
  const logger = options.logger ?? noopLogger;
  // As in InfluxDB, a zero duration (`0s`) keeps everything: read as "keep nothing", it deleted all data, the
  // running scenario's events included, at every sweep.
  const keepFor = (text: string): number | undefined => {
    const ns = parseDurationNs(text);
    return ns === 0 ? undefined : ns;
  };
  const retentionNs = keepFor(options.retention ?? DEFAULT_SQLITE_STORE_OPTIONS.retention);
  const eventsRetentionNs = keepFor(options.eventsRetention ?? DEFAULT_SQLITE_STORE_OPTIONS.eventsRetention);
  let db: Database.Database | undefined;
  let purgeTimer: NodeJS.Timeout | undefined;
  // Series ids by the batch's shared tags, then by sensor and unit: one string key per batch, not per reading.
  const seriesIds = new Map<string, Map<string, number>>();
  let cachedSeries = 0;
  let stmts:
    | {
        insertEvent: Database.Statement;
        lastEvent: Database.Statement;
        lastEventAt: Database.Statement;
        listEvents: Database.Statement;
        insertSeries: Database.Statement;
        selectSeries: Database.Statement;
        seriesStillIs: Database.Statement;
        upsertMeasurement: Database.Statement;
        queryPower: Database.Statement;
        allSeries: Database.Statement;
        purgeSeries: Database.Statement;
        dropEmptySeries: Database.Statement;
        purgeEvents: Database.Statement;
      }
    | undefined;

  const wrap = <T>(what: string, fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      if (err instanceof StoreUnavailableError || err instanceof StoreError) throw err;
      if (isBusy(err)) throw new StoreUnavailableError(`embedded store busy while ${what}`, { cause: err, retryAfterS: 1 });
      throw new StoreError(`embedded store failed while ${what}: ${(err as Error).message}`, { cause: err });
    }
  };

  const ready = (): NonNullable<typeof stmts> => {
    if (stmts === undefined) throw new StoreUnavailableError('embedded store is not open');
    return stmts;
  };

  const seriesOf = (b: MeasurementBatch, topology: string): Map<string, number> => {
    const key = JSON.stringify([b.environment, b.equipment, b.scenario, b.step, topology]);
    let m = seriesIds.get(key);
    if (m === undefined) {
      if (cachedSeries > 100_000) {
        seriesIds.clear();
        cachedSeries = 0;
      }
      m = new Map();
      seriesIds.set(key, m);
    }
    return m;
  };

  const seriesId = (s: NonNullable<typeof stmts>, b: MeasurementBatch, topology: string, sensor: string, unit: string): number => {
    s.insertSeries.run(b.equipment, b.environment, b.scenario, b.step, topology, sensor, unit);
    const row = s.selectSeries.get(b.environment, sensor, unit, b.equipment, b.scenario, b.step, topology) as { id: number } | undefined;
    if (row === undefined) throw new StoreError('series row vanished');
    cachedSeries++;
    return row.id;
  };

  // `checked` holds the ids known to exist in the current transaction. Another process sharing the file may have
  // deleted a cached id's row (its retention sweep drops empty series), so a cached id is checked once per
  // transaction, before the first reading filed under it; the check and the writes see one snapshot, and a
  // snapshot made stale by another process's commit fails the write (SQLITE_BUSY, a 503) rather than letting it
  // through. A stale id is forgotten and the series looked up or created again: no reading is orphaned.
  const insertBatch = (s: NonNullable<typeof stmts>, b: MeasurementBatch, checked: Set<number>): void => {
    const topology = b.topology === undefined ? '{}' : JSON.stringify(b.topology);
    const ids = seriesOf(b, topology);
    for (const r of b.readings) {
      const k = `${r.sensor}\u0000${r.unit}`;
      let id = ids.get(k);
      if (id !== undefined && !checked.has(id)) {
        if (s.seriesStillIs.get(id, b.environment, r.sensor, r.unit, b.equipment, b.scenario, b.step, topology) === undefined) id = undefined;
        else checked.add(id);
      }
      if (id === undefined) {
        id = seriesId(s, b, topology, r.sensor, r.unit);
        ids.set(k, id);
        checked.add(id);
      }
      s.upsertMeasurement.run(id, r.timeNs, r.value);
    }
  };

  let transaction: Database.Transaction<(batches: readonly MeasurementBatch[]) => void> | undefined;
  const writeMany = (batches: readonly MeasurementBatch[]): void => {
    if (transaction === undefined) throw new StoreUnavailableError('embedded store is not open');
    try {
      // IMMEDIATE: the write lock is taken (waiting up to busy_timeout) before the series checks read anything,
      // so they read the latest commit of every process.
      transaction.immediate(batches);
    } catch (err) {
      // Series rows created by the rolled-back transaction are gone: forget their ids too.
      seriesIds.clear();
      cachedSeries = 0;
      throw err;
    }
  };
  let queue: Pending[] = [];
  let scheduled = false;

  // Everything queued since the last flush goes into one transaction: one commit, one fsync. A batch is
  // resolved only after that commit returned, so "acknowledged" still means "durably stored".
  const flush = (): void => {
    scheduled = false;
    const group = queue;
    queue = [];
    if (group.length === 0) return;
    try {
      wrap('writing measurements', () => writeMany(group.map((p) => p.batch)));
      for (const p of group) p.resolve();
    } catch (err) {
      if (group.length === 1 || err instanceof StoreUnavailableError) {
        for (const p of group) p.reject(err);
        return;
      }
      // One batch may be the culprit: commit the others one by one so it fails alone.
      for (const p of group) {
        try {
          wrap('writing measurements', () => writeMany([p.batch]));
          p.resolve();
        } catch (e) {
          p.reject(e);
        }
      }
    }
  };

  const purgeExpired = (now = nowNs()): number =>
    wrap('deleting expired rows', () => {
      const s = ready();
      let deleted = 0;
      if (retentionNs !== undefined) {
        const cutoff = BigInt(Math.round(now - retentionNs));
        // Per series through the primary key, so measurements need no second index on time. A series left
        // without measurements goes too: its key holds the scenario and step, so every session adds series, and
        // both this sweep and report lookups would otherwise slow down with the history.
        const ids = s.allSeries.all() as Array<{ id: number }>;
        let dropped = 0;
        try {
          for (let i = 0; i < ids.length; i += 500) {
            const chunk = ids.slice(i, i + 500);
            db?.transaction(() => {
              for (const { id } of chunk) {
                deleted += s.purgeSeries.run(id, cutoff).changes;
                dropped += s.dropEmptySeries.run(id, id).changes;
              }
            })();
          }
        } finally {
          // Cached ids of dropped series would file new readings under a row that no longer exists.
          if (dropped > 0) {
            seriesIds.clear();
            cachedSeries = 0;
          }
        }
        if (dropped > 0) logger.info({ series: dropped }, 'empty series deleted');
      }
      if (eventsRetentionNs !== undefined) {
        deleted += s.purgeEvents.run(BigInt(Math.round(now - eventsRetentionNs))).changes;
      }
      if (deleted > 0) logger.info({ deleted }, 'expired rows deleted');
      return deleted;
    });

  const writeBatch = (batch: MeasurementBatch): Promise<void> => {
    if (batch.readings.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      queue.push({ batch, resolve, reject });
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    });
  };

  return {
    kind: 'sqlite',
    async init() {
      if (db !== undefined) return;
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
          seriesStillIs: d.prepare(
            'SELECT 1 FROM series WHERE id = ? AND environment = ? AND sensor = ? AND unit = ? AND equipment = ? AND scenario = ? AND step = ? AND topology = ?',
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
          allSeries: d.prepare('SELECT id FROM series'),
          purgeSeries: d.prepare('DELETE FROM measurements WHERE series_id = ? AND time_ns < ?'),
          // The row holding the highest id is never deleted: `id INTEGER PRIMARY KEY` (no AUTOINCREMENT, which an
          // existing file cannot gain) hands out MAX(id) + 1, so deleting it would give its id to the next new
          // series while another process still has it cached.
          dropEmptySeries: d.prepare(
            'DELETE FROM series WHERE id = ? AND id < (SELECT MAX(id) FROM series) AND NOT EXISTS (SELECT 1 FROM measurements WHERE series_id = ?)',
          ),
          purgeEvents: d.prepare('DELETE FROM scenario_events WHERE time_ns < ?'),
        };
        const s = stmts;
        transaction = d.transaction((batches: readonly MeasurementBatch[]) => {
          const checked = new Set<number>();
          for (const b of batches) insertBatch(s, b, checked);
        });
        logger.info({ path: options.path }, 'embedded store open');
      });
      if (retentionNs !== undefined || eventsRetentionNs !== undefined) {
        const sweep = (): void => {
          try {
            purgeExpired();
          } catch (err) {
            // Another process may hold the lock; the next sweep will do it.
            logger.warn({ err: (err as Error).message }, 'retention sweep failed');
          }
        };
        sweep();
        purgeTimer = setInterval(sweep, options.purgeIntervalMs ?? DEFAULT_SQLITE_STORE_OPTIONS.purgeIntervalMs);
        purgeTimer.unref();
      }
    },
    retentionCutoffNs(now) {
      return retentionNs === undefined ? undefined : now - retentionNs;
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
    writeBatch,
    async writeMeasurements(points) {
      if (points.length === 0) return;
      const batches = pointsToBatches(points);
      wrap('writing measurements', () => writeMany(batches));
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
    purgeExpired,
    async close() {
      if (purgeTimer !== undefined) clearInterval(purgeTimer);
      purgeTimer = undefined;
      // Commit what is queued before the file closes, so a graceful stop loses nothing it acknowledged.
      flush();
      db?.close();
      db = undefined;
      stmts = undefined;
      transaction = undefined;
      seriesIds.clear();
      cachedSeries = 0;
    },
  };
}
