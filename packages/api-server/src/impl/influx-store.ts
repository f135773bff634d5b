import { readFileSync } from 'node:fs';
import { InfluxDB } from 'influx';
import { Agent, request } from 'undici';
import { decodeTagValue, encodePoint, escapeTag, noopLogger, ValidationError, type Logger } from '@energyrecorder/core';
import { StoreError, StoreUnavailableError } from '../errors.js';
import { parseDurationNs } from '../internal/duration.js';
import { pointsToBatches } from '../internal/batches.js';
import { nsSecondsPart } from '../internal/timestamps.js';
import { WriteQueue, type SendOutcome } from '../internal/write-queue.js';
import type { EncodedLines, EquipmentSample, MeasurementBatch, PowerQuery, ScenarioEvent, Store } from '../store.js';

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
  /** Duration of `power_data_rp`, created as the default RP only with a database the store creates. */
  powerDataRetention: string;
  /** Duration of `running_scenarios_rp` when the store creates it. */
  runningScenariosRetention: string;
  timeoutMs: number;
  /**
   * The durable write queue (INFLUX.queue): batches are acknowledged once synced to files in `dir` and written
   * to influxd from there. Absent: each batch is acknowledged once influxd stored it (503 while it cannot).
   */
  queue?: { dir: string; maxBytes: number };
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

function isOutage(err: unknown): boolean {
  if (err instanceof StoreUnavailableError) return true;
  const e = err as { name?: unknown; code?: unknown; message?: unknown } | null;
  if (e === null || typeof e !== 'object') return false;
  if (e.name === 'ServiceNotAvailableError' || e.name === 'AbortError' || e.name === 'TimeoutError') return true;
  if (typeof e.code === 'string' && /^(E[A-Z]+|UND_ERR_.*)$/.test(e.code)) return true;
  return typeof e.message === 'string' && /ECONNREFUSED|ECONNRESET|socket hang up|timed? ?out|No host available/i.test(e.message);
}

/** Concurrent writes to influxd; more requests than this are merged into the next write. */
const MAX_WRITES_IN_FLIGHT = 2;
/** Upper bound of a merged write body, in bytes. */
const MAX_GROUP_BYTES = 8 * 1024 * 1024;
/** Bytes of an influxd answer kept for an error message. */
const MAX_ERROR_BODY = 64 * 1024;
/** Write buffers larger than this are not kept for reuse. */
const MAX_SPARE_BYTES = MAX_GROUP_BYTES;

/**
 * Decimal text of an integer epoch-ns timestamp. `String(n)` of a fresh 19-digit double costs about three times
 * two int32 conversions (measured: 0.12 vs 0.04 ms per 1,000), and the ingest path prints one per reading.
 */
export function formatNs(t: number | bigint): string {
  if (typeof t === 'bigint' || !(t >= 1e9 && t < 2 ** 62)) return String(t);
  const hi = nsSecondsPart(t);
  const l = String(t - hi * 1e9);
  return `${hi}${'000000000'.slice(l.length)}${l}`;
}

/** Compares tag keys as InfluxDB does: by their bytes. */
function byKeyBytes(a: readonly [string, string], b: readonly [string, string]): number {
  return Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0]));
}

/**
 * The parts of every `SensorMeasurement` line of a batch around its per-reading `sensor` and `unit` tags, with
 * all tags in key order: influxd sorts the tags of every point whose tags come unsorted (InfluxDB's own advice
 * is to send them sorted), which measured about a tenth of its CPU per point at batch 1,000.
 */
export function batchLineParts(b: Pick<MeasurementBatch, 'equipment' | 'environment' | 'scenario' | 'step' | 'topology'>): {
  head: string;
  mid: string;
  tail: string;
} {
  const tags: Array<[string, string]> = [
    ['environment', escapeTag(b.environment)],
    ['equipement', escapeTag(b.equipment)],
    ['scenario', escapeTag(b.scenario)],
    ['step', escapeTag(b.step)],
  ];
  if (b.topology !== undefined) for (const [k, v] of Object.entries(b.topology)) tags.push([escapeTag(k), escapeTag(v)]);
  tags.sort(byKeyBytes);
  let head: string = INFLUX_SCHEMA.measurement;
  let mid = '';
  let tail = '';
  for (const [k, v] of tags) {
    const part = `,${k}=${v}`;
    if (byKeyBytes([k, ''], ['sensor', '']) < 0) head += part;
    else if (byKeyBytes([k, ''], ['unit', '']) < 0) mid += part;
    else tail += part;
  }
  return { head, mid, tail };
}

/** Line protocol of a batch, in the writer's terms (the fast path's encoder when the batch has one). */
function encodeBatch(b: MeasurementBatch, escaped: Map<string, string>): EncodedLines {
  if (b.encodeLines !== undefined && b.legacyPower === undefined) {
    const { head, mid, tail } = batchLineParts(b);
    return b.encodeLines(Buffer.from(head, 'utf8'), Buffer.from(mid, 'utf8'), Buffer.from(tail, 'utf8'));
  }
  return bufferLines(encodeBatchBytes(b, escaped));
}

/** Lines already encoded, as {@link EncodedLines}. */
function bufferLines(bytes: Buffer): EncodedLines {
  return { maxBytes: bytes.length, writeTo: (out, offset) => offset + bytes.copy(out, offset) };
}

/** Line protocol of a batch, built in one pass: shared tags escaped once, sensor/unit escapes memoised. */
export function encodeBatchBytes(b: MeasurementBatch, escaped: Map<string, string>): Buffer {
  const esc = (v: string): string => {
    let e = escaped.get(v);
    if (e === undefined) {
      e = escapeTag(v);
      if (escaped.size > 10_000) escaped.clear();
      escaped.set(v, e);
    }
    return e;
  };
  const { head, mid, tail } = batchLineParts(b);
  // One array join gives a flat string in one allocation; `+=` would build a rope of a thousand pieces that the
  // socket write has to flatten before encoding it (measured: about twice the cost per 1,000 readings).
  const lines = new Array<string>(b.readings.length + 1);
  let i = 0;
  for (const r of b.readings) {
    // Numbers print as plain integers below 1e21 and JSON floats otherwise; without an `i` suffix InfluxDB
    // stores `value` as a float, as the original did.
    lines[i++] = `${head},sensor=${esc(r.sensor)}${mid},unit=${esc(r.unit)}${tail} value=${r.value} ${formatNs(r.timeNs)}\n`;
  }
  const first = b.readings[0];
  // seed-behaviour §1.4: the deprecated endpoint also wrote PowerMeasurement (hardware, environment, scenario, step).
  lines[i] =
    b.legacyPower !== undefined && first !== undefined
      ? `PowerMeasurement,environment=${escapeTag(b.environment)},hardware=${escapeTag(b.equipment)},scenario=${escapeTag(b.scenario)},step=${escapeTag(b.step)} power=${b.legacyPower} ${first.timeNs}\n`
      : '';
  return toBytes(lines.join(''));
}

const NON_ASCII = /[\u0080-\uffff]/;

/**
 * The body as bytes, encoded here rather than by the socket write so a merged write is one `Buffer.concat` and
 * undici sends it with a `content-length` in one write. ASCII bodies (the usual case) take the cheaper Latin-1
 * copy, which gives the same bytes as UTF-8 for them.
 */
function toBytes(body: string): Buffer {
  return NON_ASCII.test(body) ? Buffer.from(body, 'utf8') : Buffer.from(body, 'latin1');
}

interface QueryResponse {
  results?: Array<{ error?: string; series?: Array<{ columns: string[]; values: unknown[][] }> }>;
  error?: string;
}

/** Bound parameters of an InfluxQL query; a bigint is sent as the exact integer it holds. */
type QueryParams = Record<string, string | number | bigint>;

/** A time parameter as the exact int64 influxd compares against (the nearest integer to `ns`). */
function exactNs(ns: number): bigint {
  return BigInt(Math.round(ns));
}

/**
 * The `params` JSON of a query. `JSON.stringify` prints a number as its shortest round-trip decimal
 * (1796674118066409700 for the double 1796674118066409728), which influxd reads as another int64: a bound at an
 * event's exact stored time then missed the event. Bigints are spliced in as bare integers instead; influxd
 * reads JSON numbers in `params` as int64 when they are integers.
 */
export function paramsJson(params: QueryParams): string {
  let out = '';
  for (const [k, v] of Object.entries(params)) {
    out += `${out === '' ? '' : ','}${JSON.stringify(k)}:${typeof v === 'bigint' ? v.toString() : JSON.stringify(v)}`;
  }
  return `{${out}}`;
}

function nanoTime(value: unknown): number {
  const v = value as { getNanoTime?: () => string } | null;
  if (v !== null && typeof v === 'object' && typeof v.getNanoTime === 'function') return Number(v.getNanoTime());
  return Number(value);
}

/** An InfluxQL identifier, double-quoted. */
function ident(name: string): string {
  return `"${name.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * The InfluxDB 1.x store with the original's schema: measurements in `SensorMeasurement` (the database's default
 * RP: `power_data_rp` on a database the store creates), session state in `running_scenarios_rp.RunningScenarios`.
 * Event and power queries go over undici with bound parameters, times as exact int64 (see {@link paramsJson});
 * the schema is read through the `influx` package and created over undici; writes are core line protocol over
 * undici.
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

  /** One POST to influxd over the shared pool, bounded by `timeoutMs` as well as the caller's signal. */
  const post = async (
    path: string,
    contentType: string,
    body: string | Buffer,
    signal: AbortSignal | undefined,
  ): Promise<{ statusCode: number; text: string }> => {
    const headers: Record<string, string> = { 'content-type': contentType };
    if (authHeader !== undefined) headers['authorization'] = authHeader;
    // A plain timer cleared on completion rather than AbortSignal.timeout, whose timer lives until the signal is
    // garbage-collected (one per write at hundreds of writes a second).
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new DOMException(`no answer from InfluxDB within ${options.timeoutMs} ms`, 'TimeoutError')), options.timeoutMs);
    try {
      const res = await request(`${base}${path}`, {
        method: 'POST',
        body,
        headers,
        dispatcher,
        signal: signal === undefined ? deadline.signal : AbortSignal.any([signal, deadline.signal]),
      });
      return { statusCode: res.statusCode, text: await res.body.text() };
    } finally {
      clearTimeout(timer);
    }
  };

  // Writes without a caller's signal (the ingest path) go straight to undici's dispatcher with a handler that
  // keeps the status and at most MAX_ERROR_BODY bytes of the answer: no request wrapper, response stream or
  // AbortSignal per write (measured: a quarter of the write's JavaScript at batch 1).
  const origin = url.origin;
  const prefix = url.pathname === '/' ? '' : url.pathname.replace(/\/+$/, '');
  const writeHeaders: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8' };
  if (authHeader !== undefined) writeHeaders['authorization'] = authHeader;
  const dispatchPost = (path: string, body: Buffer): Promise<{ statusCode: number; text: string }> =>
    new Promise((resolve, reject) => {
      let statusCode = 0;
      const chunks: Buffer[] = [];
      let kept = 0;
      let abort: ((err: Error) => void) | undefined;
      let timedOut: Error | undefined;
      let settled = false;
      const settle = (err: Error | undefined): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err === undefined) resolve({ statusCode, text: Buffer.concat(chunks).toString('utf8') });
        else reject(err);
      };
      const timer = setTimeout(() => {
        timedOut = new DOMException(`no answer from InfluxDB within ${options.timeoutMs} ms`, 'TimeoutError');
        if (abort === undefined) settle(timedOut);
        else abort(timedOut);
      }, options.timeoutMs);
      const handler: Parameters<typeof dispatcher.dispatch>[1] = {
        onConnect(a) {
          abort = a;
          if (timedOut !== undefined) a(timedOut);
        },
        onError(err) {
          settle(err);
        },
        onHeaders(code) {
          statusCode = code;
          return true;
        },
        onData(chunk) {
          if (kept < MAX_ERROR_BODY) {
            chunks.push(chunk);
            kept += chunk.length;
          }
          return true;
        },
        onComplete() {
          settle(undefined);
        },
      };
      try {
        dispatcher.dispatch({ origin, path: `${prefix}${path}`, method: 'POST', headers: writeHeaders, body }, handler);
      } catch (err) {
        settle(err as Error);
      }
    });

  // seed-behaviour §1.4 and §5: the original's creation.iql, run only when the database did not exist. The
  // database is created with power_data_rp as its default in one statement: created apart (the original's
  // `CREATE DATABASE` then `CREATE RETENTION POLICY ... DEFAULT`), a write in between, such as a client's retry
  // after the database was dropped, landed in `autogen` and was hidden from default-RP queries.
  const createDatabase = `CREATE DATABASE ${ident(options.db)} WITH DURATION ${options.powerDataRetention} REPLICATION 1 NAME ${ident(INFLUX_SCHEMA.powerDataRp)}`;
  const createRp = (rp: string): string =>
    rp === INFLUX_SCHEMA.powerDataRp
      ? `CREATE RETENTION POLICY ${ident(rp)} ON ${ident(options.db)} DURATION ${options.powerDataRetention} REPLICATION 1 DEFAULT`
      : `CREATE RETENTION POLICY ${ident(rp)} ON ${ident(options.db)} DURATION ${options.runningScenariosRetention} REPLICATION 1`;
  const who = options.user === undefined ? 'the InfluxDB user (none configured)' : `InfluxDB user "${options.user}"`;

  const writePath = `/write?${new URLSearchParams({ db: options.db, precision: 'n' }).toString()}`;

  const write = async (body: string | Buffer, rp: string | undefined, signal?: AbortSignal): Promise<void> => {
    const path = rp === undefined ? writePath : `${writePath}&${new URLSearchParams({ rp }).toString()}`;
    const res = signal === undefined && typeof body !== 'string' ? await dispatchPost(path, body) : await post(path, 'text/plain; charset=utf-8', body, signal);
    if (res.statusCode === 204) return;
    const message = `InfluxDB write answered ${res.statusCode}: ${res.text.slice(0, 300)}`;
    // A race with the RP (or an RP shortened behind our back): influxd stored the other points and dropped these.
    if (res.statusCode === 400 && res.text.includes('beyond retention policy')) {
      throw new ValidationError('measurements', `some readings are older than the retention policy keeps: InfluxDB dropped them and stored the others (${res.text.trim().slice(0, 200)})`);
    }
    // The database or a retention policy is gone (dropped, or influxd recreated without its volume): recreate
    // them in the background; the client gets a 503 and its retry lands in the new database.
    if (/database not found|retention policy not found/.test(res.text)) {
      logger.warn({ db: options.db, status: res.statusCode }, 'InfluxDB lost the database or a retention policy; creating them again');
      recreateSchema();
      // A policy the API's user may not create (not an InfluxDB admin) stays missing: say which, and what to run.
      if (res.text.includes('retention policy not found')) {
        throw new StoreUnavailableError(
          rp === undefined
            ? `InfluxDB database "${options.db}" has no default retention policy for the measurements (${res.text.trim().slice(0, 200)}): an InfluxDB admin must create one, e.g. ${createRp(INFLUX_SCHEMA.powerDataRp)}`
            : `InfluxDB database "${options.db}" has no retention policy "${rp}", where scenario events are written: the API creates it when ${who} is an InfluxDB admin; otherwise an admin must run ${createRp(rp)}`,
        );
      }
    }
    // 5xx and a missing database or policy may pass; other 4xx bodies are our bug.
    if (res.statusCode >= 500 || res.statusCode === 404 || res.statusCode === 401 || res.statusCode === 403) {
      throw new StoreUnavailableError(message);
    }
    throw new StoreError(message);
  };

  // Session lookups run once per ingest request: they use the same keep-alive undici pool as writes, with
  // InfluxDB's bound parameters (`params`), rather than the influx package's one-connection-per-query client.
  // `missingRpIsEmpty`: a query of a retention policy that does not exist reads as no rows (nothing was ever
  // written there) rather than failing.
  const query = async (q: string, params: QueryParams, signal?: AbortSignal, missingRpIsEmpty = false): Promise<Array<Record<string, unknown>>> => {
    const form = new URLSearchParams({ db: options.db, epoch: 'ns', q, params: paramsJson(params) });
    const res = await post('/query', 'application/x-www-form-urlencoded', form.toString(), signal);
    const { text } = res;
    if (res.statusCode >= 500 || res.statusCode === 401 || res.statusCode === 403) {
      throw new StoreUnavailableError(`InfluxDB query answered ${res.statusCode}: ${text.slice(0, 300)}`);
    }
    let parsed: QueryResponse;
    try {
      parsed = JSON.parse(text) as QueryResponse;
    } catch {
      throw new StoreError(`InfluxDB query answered ${res.statusCode} with no JSON: ${text.slice(0, 300)}`);
    }
    const first = parsed.results?.[0];
    const error = parsed.error ?? first?.error;
    if (error !== undefined) {
      if (/database not found/i.test(error)) {
        recreateSchema();
        throw new StoreUnavailableError(`InfluxDB: ${error}`);
      }
      if (missingRpIsEmpty && /retention policy not found/i.test(error)) return [];
      throw new StoreError(`InfluxDB query failed: ${error}`);
    }
    const rows: Array<Record<string, unknown>> = [];
    for (const series of first?.series ?? []) {
      for (const values of series.values) {
        const row: Record<string, unknown> = {};
        series.columns.forEach((c, i) => (row[c] = values[i]));
        rows.push(row);
      }
    }
    return rows;
  };

  // Without `running_scenarios_rp` (its creation refused: the API's user is not an admin) no session was ever
  // recorded: lookups answer "nothing running" so readings are still stored, while starts answer 503 naming it.
  const selectEvents = async (q: string, params: QueryParams, signal?: AbortSignal) => {
    const rows = await query(q, params, signal, true);
    return rows.map(
      (r): ScenarioEvent => ({
        environment: decodeTagValue(String(r['environment'])),
        scenario: decodeTagValue(String(r['scenario'])),
        step: decodeTagValue(String(r['step'])),
        started: Number(r['started']) === 1,
        timeNs: nanoTime(r['time']),
      }),
    );
  };
  const escaped = new Map<string, string>();
  // Duration of the RP the measurements are written to (the database's default: writes name no RP, as the
  // original's) as influxd reports it (Go syntax, `0s` = keep forever).
  let retentionNs: number | undefined;
  const readRetention = async (): Promise<{ name: string; duration: string } | undefined> => {
    const rp = (await influx.showRetentionPolicies(options.db)).find((r) => r.default);
    const ns = rp === undefined ? undefined : parseDurationNs(rp.duration);
    retentionNs = ns === 0 ? undefined : ns;
    return rp;
  };

  // Group commit: at most MAX_WRITES_IN_FLIGHT writes to influxd at a time; batches that arrive meanwhile wait
  // and go out together in the next write. Idle, a batch is written at once; under load, influxd gets fewer,
  // larger writes, which it ingests far faster. A batch is resolved only when the write holding it got 204.
  // Each write's body is encoded straight into a buffer kept for the next writes once influxd answered 204 (the
  // body was sent whole by then): at batch 1,000 a fresh buffer per write made garbage collection a third of
  // the API's CPU.
  const queued: Array<{ lines: EncodedLines; resolve: () => void; reject: (err: unknown) => void }> = [];
  const spare: Buffer[] = [];
  const takeBuffer = (bytes: number): Buffer => {
    const i = spare.findIndex((b) => b.length >= bytes);
    if (i >= 0) return spare.splice(i, 1)[0] as Buffer;
    return Buffer.allocUnsafeSlow(Math.max(bytes, 1 << 20));
  };
  const giveBack = (buf: Buffer): void => {
    if (buf.length > MAX_SPARE_BYTES) return;
    spare.push(buf);
    if (spare.length > MAX_WRITES_IN_FLIGHT + 1) spare.sort((a, b) => b.length - a.length).pop();
  };
  const writeGroup = async (group: typeof queued): Promise<void> => {
    let bytes = 0;
    for (const g of group) bytes += g.lines.maxBytes;
    const buf = takeBuffer(bytes);
    let end = 0;
    for (const g of group) end = g.lines.writeTo(buf, end);
    // On failure the buffer is dropped, not reused: an aborted request may still hold it in a socket queue.
    await guard('writing measurements', () => write(buf.subarray(0, end), undefined));
    giveBack(buf);
  };
  let inFlight = 0;
  const send = async (group: typeof queued): Promise<void> => {
    try {
      await writeGroup(group);
      for (const g of group) g.resolve();
    } catch (err) {
      if (group.length === 1 || !(err instanceof StoreError || err instanceof ValidationError)) {
        for (const g of group) g.reject(err);
        return;
      }
      // A refused write may be one batch's fault: write them one by one so it fails alone.
      for (const g of group) {
        try {
          await writeGroup([g]);
          g.resolve();
        } catch (e) {
          g.reject(e);
        }
      }
    }
  };
  const pump = (): void => {
    while (inFlight < MAX_WRITES_IN_FLIGHT && queued.length > 0) {
      let size = 0;
      let n = 0;
      while (n < queued.length && (n === 0 || size + (queued[n] as (typeof queued)[number]).lines.maxBytes <= MAX_GROUP_BYTES)) {
        size += (queued[n] as (typeof queued)[number]).lines.maxBytes;
        n++;
      }
      const group = queued.splice(0, n);
      inFlight++;
      void send(group).finally(() => {
        inFlight--;
        pump();
      });
    }
  };
  // The durable queue's sender: refusals that sending again cannot change are its `stored: false`.
  const sendQueued = async (body: Buffer): Promise<SendOutcome> => {
    try {
      await guard('writing measurements', () => write(body, undefined));
      return { stored: true };
    } catch (err) {
      // influxd stored every point but those its retention drops at once.
      if (err instanceof ValidationError) {
        logger.warn({ err: err.message }, 'InfluxDB dropped queued readings older than its retention policy keeps');
        return { stored: true };
      }
      if (err instanceof StoreError) return { stored: false, reason: err.message };
      throw err;
    }
  };
  const writeQueue =
    options.queue === undefined
      ? undefined
      : new WriteQueue({ dir: options.queue.dir, maxBytes: options.queue.maxBytes, send: sendQueued, logger });

  const enqueue = (lines: EncodedLines): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      queued.push({ lines, resolve, reject });
      pump();
    });

  /** Runs a schema statement; false when influxd refuses it to a user who is not an admin (403). */
  const runSchemaStatement = async (q: string, signal?: AbortSignal): Promise<boolean> => {
    const res = await post('/query', 'application/x-www-form-urlencoded', new URLSearchParams({ q }).toString(), signal);
    if (res.statusCode === 403) return false;
    let error: string | undefined;
    try {
      const parsed = JSON.parse(res.text) as QueryResponse;
      error = parsed.error ?? parsed.results?.[0]?.error;
    } catch {
      error = `${res.statusCode} ${res.text.slice(0, 300)}`;
    }
    if (res.statusCode >= 500 || res.statusCode === 401) throw new StoreUnavailableError(`InfluxDB answered ${res.statusCode} to ${q}: ${error ?? ''}`);
    if (res.statusCode !== 200 || error !== undefined) throw new StoreError(`InfluxDB refused ${q}: ${error ?? res.statusCode}`);
    return true;
  };

  // Creates the database and its retention policies when the database is missing: at start, and again when
  // influxd answers a write with `database not found` (dropped, or a container recreated without its volume), so
  // the API heals without a restart. An existing database keeps its default RP (the original ran creation.iql
  // only on a missing database, seed-behaviour §5, and wrote measurements to the default RP): making
  // `power_data_rp` the default there would hide older points from default-RP queries (Grafana) and expire new
  // ones after its duration. Only `running_scenarios_rp` is added when missing, and `power_data_rp` as DEFAULT
  // only when the database has no default RP left (measurements would have nowhere to go). A creation influxd
  // refuses for lack of admin rights is a warning naming the statement to run, not a failure: measurements
  // are still written. Concurrent callers share one run.
  let ensuring: Promise<void> | undefined;
  const ensureSchema = (signal?: AbortSignal): Promise<void> => {
    ensuring ??= (async () => {
      await guard('creating the database', async () => {
        const names = await influx.getDatabaseNames();
        if (!names.includes(options.db)) {
          const creation = [createDatabase, createRp(INFLUX_SCHEMA.runningScenariosRp)];
          for (const q of creation) {
            if (!(await runSchemaStatement(q, signal))) {
              throw new StoreUnavailableError(
                `InfluxDB database "${options.db}" does not exist and ${who} may not create it (not an InfluxDB admin): an admin must run ${creation.join('; ')}`,
              );
            }
          }
        } else {
          const rps = await influx.showRetentionPolicies(options.db);
          const missing: string[] = [];
          if (!rps.some((r) => r.default)) {
            missing.push(
              rps.some((r) => r.name === INFLUX_SCHEMA.powerDataRp)
                ? `ALTER RETENTION POLICY ${ident(INFLUX_SCHEMA.powerDataRp)} ON ${ident(options.db)} DEFAULT`
                : createRp(INFLUX_SCHEMA.powerDataRp),
            );
          }
          if (!rps.some((r) => r.name === INFLUX_SCHEMA.runningScenariosRp)) missing.push(createRp(INFLUX_SCHEMA.runningScenariosRp));
          for (const q of missing) {
            if (await runSchemaStatement(q, signal)) continue;
            logger.warn(
              { db: options.db, user: options.user, run: q },
              q.includes(INFLUX_SCHEMA.runningScenariosRp)
                ? `InfluxDB refused to create retention policy ${INFLUX_SCHEMA.runningScenariosRp} (the API's user is not an InfluxDB admin): measurements are stored, but starting a scenario answers 503 until an admin runs: ${q}`
                : `InfluxDB database has no default retention policy and refused to set one (the API's user is not an InfluxDB admin): measurements answer 503 until an admin runs: ${q}`,
            );
          }
        }
        const rp = await readRetention();
        signal?.throwIfAborted();
        logger.info(
          { db: options.db, host: base, measurementsRp: rp?.name, measurementsRetention: rp?.duration },
          'InfluxDB store ready',
        );
      });
    })().finally(() => {
      ensuring = undefined;
    });
    return ensuring;
  };
  /** {@link ensureSchema} in the background, for a write or query that found the database or a policy gone. */
  const recreateSchema = (): void => {
    ensureSchema().catch((err: unknown) => logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'recreating the InfluxDB schema failed'));
  };

  const from = `"${INFLUX_SCHEMA.runningScenariosRp}"."${INFLUX_SCHEMA.scenarios}"`;
  const eventCols = '"started", "environment", "scenario", "step"';

  return {
    kind: 'influx',
    encodesLines: true,
    async open() {
      await writeQueue?.open();
    },
    get queue() {
      return writeQueue?.status;
    },
    async init(signal) {
      await ensureSchema(signal);
    },
    async ping(signal) {
      await guard('pinging', async () => {
        // As the original's ping: a query that fails when the database or its RPs are gone. An operator may
        // have altered the measurements' RP since start: its duration is read again.
        await readRetention();
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
        const placeholders: QueryParams = { env: environment };
        let where = '"environment" = $env';
        if (atNs !== undefined) {
          where += ' AND time <= $t';
          placeholders['t'] = exactNs(atNs);
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
          { env: environment, since: exactNs(sinceNs ?? 0) },
          signal,
        ),
      );
    },
    async writeMeasurements(points, signal) {
      if (points.length === 0) return;
      const body = Buffer.concat(pointsToBatches(points).map((b) => encodeBatchBytes(b, escaped)));
      await guard('writing measurements', () => write(body, undefined, signal));
    },
    retentionCutoffNs(now) {
      return retentionNs === undefined ? undefined : now - retentionNs;
    },
    async writeBatch(batch, signal) {
      signal?.throwIfAborted();
      const lines = encodeBatch(batch, escaped);
      if (lines.maxBytes === 0) return;
      await (writeQueue === undefined ? enqueue(lines) : writeQueue.append(lines));
    },
    async queryPower(q: PowerQuery, signal): Promise<EquipmentSample[]> {
      // Read your writes: readings acknowledged before the query are stored first.
      await writeQueue?.drained(options.timeoutMs);
      return guard('querying power', async () => {
        const rows = await query(
          `SELECT "value", "equipement" FROM "${INFLUX_SCHEMA.measurement}" WHERE "environment" = $env AND "sensor" = $sensor AND "unit" = $unit AND time >= $from AND time <= $to ORDER BY time ASC`,
          {
            env: q.environment,
            sensor: q.sensor,
            unit: q.unit,
            from: exactNs(q.fromNs),
            to: exactNs(q.toNs),
          },
          signal,
        );
        return rows
          .map((r) => ({
            equipment: decodeTagValue(String(r['equipement'])),
            timestampNs: nanoTime(r['time']),
            powerWatts: Number(r['value']),
          }))
          .sort((a, b) => (a.equipment < b.equipment ? -1 : a.equipment > b.equipment ? 1 : a.timestampNs - b.timestampNs));
      });
    },
    async close() {
      await writeQueue?.close();
      await dispatcher.close();
    },
  };
}
