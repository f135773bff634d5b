import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, removeDir, waitFor, type InfluxdPeer } from '@energyrecorder/testkit';
import type { ApiServer } from '../src/index.js';
import { raw } from './helpers.js';

/**
 * Temp directories for the InfluxDB write queue (`INFLUX.queue_dir`) of the APIs a test file starts: one per API,
 * as two stores may not share one, and never the default `./influx-queue` of the working directory (the package).
 * Remove them after the APIs are closed.
 */
export function queueDirs(prefix = 'influx-queue'): { next(): string; removeAll(): void } {
  const made: string[] = [];
  return {
    next() {
      const dir = makeTempDir(prefix);
      made.push(dir);
      return dir;
    },
    removeAll() {
      for (const dir of made.splice(0)) removeDir(dir);
    },
  };
}

/**
 * Resolves once the API's write queue holds no batch: influxd stored (or refused for good) every batch the API
 * acknowledged, so a query sent straight to influxd sees them. Immediate for an API without a queue.
 */
export async function queueDrained(api: ApiServer, timeoutMs = 20_000): Promise<void> {
  await waitFor(() => (api.store.queue?.batches ?? 0) === 0, 'the InfluxDB write queue to be drained', timeoutMs, 20);
}

/** A metric without labels from the API's `/metrics` (NaN when absent). */
export async function metric(url: string, name: string): Promise<number> {
  const text = (await raw(url, 'GET', '/metrics')).text;
  return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
}

/** The pid of the test influxd (to SIGSTOP it: it stops answering without closing its port). */
export function influxdPid(peer: InfluxdPeer): number {
  return Number(readFileSync(join(peer.dataDir, 'influxd.pid'), 'utf8').trim());
}

/** Epoch ns of an RFC 3339 time as influxd prints it (fraction of up to 9 digits), exactly. */
function rfc3339Ns(time: string): bigint {
  const fraction = /\.(\d+)Z$/.exec(time)?.[1] ?? '';
  return BigInt(Date.parse(time.replace(/\.\d+Z$/, 'Z'))) * 1_000_000n + BigInt(fraction.padEnd(9, '0'));
}

/** One `SensorMeasurement` reading as influxd stores it: its key ({@link readingKey}), value and session tags. */
export interface StoredRow {
  key: string;
  value: number;
  scenario: string;
  step: string;
}

/**
 * The `SensorMeasurement` readings of `environment` in database `db`, with their value and the scenario and step
 * they are tagged with. A key met twice (one reading stored as two points, tagged differently) throws.
 */
export async function storedRows(peer: InfluxdPeer, db: string, environment: string, auth?: string): Promise<StoredRow[]> {
  const q = `SELECT "sensor", "value", "scenario", "step" FROM "SensorMeasurement" WHERE "environment" = '${environment.replace(/'/g, "\\'")}'`;
  const res = await fetch(`${peer.url}/query?${new URLSearchParams({ q, db }).toString()}`, {
    headers: auth === undefined ? {} : { authorization: `Basic ${Buffer.from(auth).toString('base64')}` },
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await res.json()) as { results: Array<{ error?: string; series?: Array<{ values: Array<[string, string, number, string, string]> }> }> };
  const first = body.results[0];
  if (first?.error !== undefined) throw new Error(first.error);
  const rows: StoredRow[] = [];
  const keys = new Set<string>();
  for (const s of first?.series ?? []) {
    for (const [time, sensor, value, scenario, step] of s.values) {
      const key = `${sensor} ${rfc3339Ns(time)}`;
      if (keys.has(key)) throw new Error(`reading ${key} is stored more than once`);
      keys.add(key);
      rows.push({ key, value, scenario, step });
    }
  }
  return rows;
}

/**
 * The `SensorMeasurement` readings of `environment` in database `db`, keyed as {@link readingKey}, with their values.
 * A key met twice (one reading stored as two points, tagged differently) throws.
 */
export async function storedReadings(peer: InfluxdPeer, db: string, environment: string, auth?: string): Promise<Map<string, number>> {
  return new Map((await storedRows(peer, db, environment, auth)).map((r) => [r.key, r.value]));
}

/** The key {@link storedReadings} gives a reading: its sensor and its exact time. */
export const readingKey = (sensor: string, timeNs: number): string => `${sensor} ${BigInt(timeNs)}`;
