import { maxHeaderSize, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { NOT_SPECIFIED, nowNs, reportToCsv, ValidationError, type Logger } from '@energyrecorder/core';
import { StoreError, StoreUnavailableError } from '../errors.js';
import type { EquipmentSample, MeasurementBatch, ScenarioEvent, Store, StoredReading } from '../store.js';
import { createAuthChecker, type Access } from './auth.js';
import { Metrics } from './metrics.js';
import { measurementTopic, type MqttRepublisher } from './mqtt-republisher.js';
import { OPENAPI_MODELS } from './openapi-models.js';
import { buildReport } from '../report.js';
import { deriveSessions } from '../sessions.js';
import { createSessionLookup } from './session-lookup.js';
import { createSessionTimeline, DEFAULT_SESSION_TIMELINE_OPTIONS, type SessionTimelineOptions } from './session-timeline.js';
import { PackedReadings, ScannedMeasurementPost, scanMeasurementPost } from './packed-batch.js';
import { assignTimestamps, earliestNs } from './timestamps.js';
import {
  nameSchema,
  parseBody,
  parseMeasurementPost,
  powerPostSchema,
  recorderPostSchema,
  stepPostSchema,
  timestampProblem,
  describe,
  validationBody,
  type ParseResult,
  type ValidationBody,
} from './validation.js';
import type { ApiUser } from '@energyrecorder/core';
import { WATTS_PER_UNIT } from './power-units.js';

/** Everything the HTTP layer needs, already built. */
export interface AppDeps {
  store: Store;
  logger: Logger;
  alwaysRecord: boolean;
  bodyLimitBytes: number;
  mqtt?: MqttRepublisher;
  mqttBasePath: string;
  auth?: { users: readonly ApiUser[]; protectReads: boolean };
  https?: { key: Buffer; cert: Buffer };
  /** Margin around a report window for the samples integration interpolates from, in ns. */
  reportMarginNs?: number;
  /** Called after each stored change (never awaited; a throwing listener is logged and ignored). */
  onEvent?: (event: ApiEvent) => void;
  /** Session timeline tuning (margin, window); see `session-timeline.ts`. */
  sessionTimeline?: Partial<Omit<SessionTimelineOptions, 'now'>>;
  /** Registered on the app before the routes (e.g. the dashboard). */
  plugins?: ReadonlyArray<(app: FastifyInstance) => Promise<void>>;
  /** Longest a request may take to arrive, headers and body, in ms; see {@link DEFAULT_HTTP_LIMITS}. */
  requestTimeoutMs?: number;
  /** Most connections open at once; further ones are closed on arrival. See {@link DEFAULT_HTTP_LIMITS}. */
  maxConnections?: number;
}

/** Defaults of the HTTP server's limits ({@link AppDeps.requestTimeoutMs}, {@link AppDeps.maxConnections}). */
export const DEFAULT_HTTP_LIMITS = Object.freeze({
  /**
   * A request (headers and body) must arrive within 2 min: a 20 MiB body (the default body limit) needs 175 KB/s.
   * Without it a client sending a byte a second kept its connection (and a file descriptor) for ever.
   */
  requestTimeoutMs: 120_000,
  /** Connections open at once, SSE dashboards included; below the usual descriptor limits, so the API stays up. */
  maxConnections: 10_000,
});

/** What {@link AppDeps.onEvent} receives. */
export type ApiEvent =
  | { type: 'session'; environment: string; scenario: string; step: string; running: boolean; timeNs: number }
  | {
      type: 'measurements';
      environment: string;
      equipment: string;
      scenario: string;
      step: string;
      readings: ReadonlyArray<EventReading>;
      /**
       * The readings of one series (sensor and unit) only, as `readings.filter(...)` would give them, without
       * building the others (a batch kept as bytes builds its readings only when asked).
       */
      readingsOf?(sensor: string, unit: string): ReadonlyArray<EventReading>;
    };

/** One reading of a `measurements` {@link ApiEvent}. */
export interface EventReading {
  sensor: string;
  unit: string;
  value: number;
  timestampNs: number;
}

const MEASUREMENTS_ROUTE = '/resources/equipments/:equipement/measurements';

/** How far around a session a report reads samples: widened step by step while an equipment lacks an edge. */
const REPORT_MARGINS_NS: readonly number[] = [120e9, 900e9, 7200e9];

/**
 * True when some equipment has samples inside or around the session but none at or before its start, or (when
 * it ended) none at or after its end: its edge would be left out of the integration.
 */
function lacksAnEdge(samples: readonly EquipmentSample[], startNs: number, endNs: number | null): boolean {
  const edges = new Map<string, { before: boolean; after: boolean }>();
  for (const s of samples) {
    let e = edges.get(s.equipment);
    if (e === undefined) {
      e = { before: false, after: endNs === null };
      edges.set(s.equipment, e);
    }
    if (s.timestampNs <= startNs) e.before = true;
    if (endNs !== null && s.timestampNs >= endNs) e.after = true;
  }
  for (const e of edges.values()) if (!e.before || !e.after) return true;
  return false;
}

const CORS = {
  'access-control-allow-origin': '*',
  'access-control-allow-headers': 'Content-Type,Authorization',
  'access-control-allow-methods': 'GET,PUT,POST,DELETE',
};

const METHOD_NOT_ALLOWED = 'The method is not allowed for the requested URL.';

/** A route's path as a regular expression over request paths (`:param` one segment, `*` the rest). */
function routePattern(url: string): RegExp {
  const body = url
    .split('/')
    .map((seg) => {
      if (seg === '*') return '.*';
      if (seg.startsWith(':')) return '[^/]+';
      return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  // ignoreTrailingSlash: `/a` and `/a/` are the same route.
  return new RegExp(`^${body.replace(/\/$/, '')}/?$`);
}

const NOT_FOUND_URL =
  'The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.';

function noSession(env: string): string {
  return `Can't find any recording session for recorder "${env}"`;
}

/** Content type of every JSON answer. */
const JSON_TYPE = 'application/json; charset=utf-8';

/** Werkzeug's upper-case reason phrase of `status`: the shell SDK greps `curl -i` output for "404 NOT FOUND". */
function werkzeugPhrase(status: number): string {
  return (STATUS_CODES[status] ?? '').toUpperCase();
}

/** The headers every answer carries: CORS, and the reason phrase as Werkzeug wrote it. */
function originalHeaders(reply: FastifyReply): FastifyReply {
  reply.headers(CORS);
  const phrase = werkzeugPhrase(reply.statusCode);
  if (phrase !== '') reply.raw.statusMessage = phrase;
  return reply;
}

/**
 * JSON text as the original wrote it: flask-restx answers `json.dumps(data) + "\n"`, with Python's defaults (`", "`
 * and `": "` between items, every character outside printable ASCII escaped as `\uXXXX`) and the keys in the
 * model's order. The shell SDK (`energy.sh`) depends on that layout: it takes the scenario and step of
 * `{"environment": "E", "step": "S", "scenario": "C"}` as whitespace-separated fields 6 and 4 of the line. Still
 * valid JSON for every other client. Numbers print as JavaScript prints them.
 */
function pythonJson(value: unknown): string {
  return `${pythonValue(value)}\n`;
}

function pythonValue(v: unknown): string {
  if (typeof v === 'string') return pythonString(v);
  if (typeof v === 'number') return String(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (Array.isArray(v)) return `[${v.map(pythonValue).join(', ')}]`;
  if (v !== null && typeof v === 'object') {
    const items: string[] = [];
    for (const [k, x] of Object.entries(v)) if (x !== undefined) items.push(`${pythonString(k)}: ${pythonValue(x)}`);
    return `{${items.join(', ')}}`;
  }
  return 'null';
}

const SHORT_ESCAPES: Readonly<Record<number, string>> = { 0x22: '\\"', 0x5c: '\\\\', 0x0a: '\\n', 0x0d: '\\r', 0x09: '\\t', 0x08: '\\b', 0x0c: '\\f' };

/** A string as Python's `json.dumps` (`ensure_ascii`) writes it. */
function pythonString(s: string): string {
  let out = '"';
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c <= 0x7e && c !== 0x22 && c !== 0x5c) continue;
    out += s.slice(from, i) + (SHORT_ESCAPES[c] ?? `\\u${c.toString(16).padStart(4, '0')}`);
    from = i + 1;
  }
  return `${out}${s.slice(from)}"`;
}

/** The measurements' 200 body, written once. */
const STATUS_OK = pythonJson({ status: 'OK' });

/** Sends `body` as the original's JSON text (see {@link pythonJson}). */
function sendPython(reply: FastifyReply, statusCode: number, body: unknown): FastifyReply {
  return reply.code(statusCode).header('content-type', JSON_TYPE).send(pythonJson(body));
}

/** The original's `runningScenario` answer, in its key order. */
function runningScenario(environment: string, scenario: string, step: string): { environment: string; step: string; scenario: string } {
  return { environment, step, scenario };
}

/** What Python's `json.loads` says of an empty body, after flask-restx's prefix. */
const EMPTY_BODY = 'Failed to decode JSON object: Expecting value: line 1 column 1 (char 0)';

/** What the body parser gives for an empty or blank body (Fastify would turn `undefined` into `null`). */
const BLANK_BODY = Symbol('blank body');

/** The body of a route that needs one; a 400 worded as the original's when there is none (empty or blank). */
function requireBody(body: unknown): unknown {
  if (body === undefined || body === BLANK_BODY) throw new HttpProblem(400, EMPTY_BODY);
  return body;
}

class HttpProblem extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly body?: ValidationBody,
  ) {
    super(message);
  }
}

function invalid(field: string, reason: string): HttpProblem {
  const b = validationBody({ [field]: reason });
  return new HttpProblem(400, b.message, b);
}

/** The parsed value, or a 400 with the parser's body. */
function accepted<T>(r: ParseResult<T>): T {
  if (!r.ok) throw new HttpProblem(400, r.body.message, r.body);
  return r.value;
}

/** A name from the path or the query string, checked like every tag; a 400 naming `field` otherwise. */
function nameArg(field: string, raw: unknown): string {
  const r = nameSchema.safeParse(raw);
  if (!r.success) throw invalid(field, r.error.issues[0]?.message ?? 'invalid');
  return r.data;
}

function pathName(req: FastifyRequest, param: string): string {
  return nameArg(param, (req.params as Record<string, unknown>)[param]);
}

function nsQuery(name: string, raw: unknown): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (typeof raw !== 'string' || !/^\d{1,20}$/.test(raw)) throw invalid(name, `${JSON.stringify(raw)} is not an integer`);
  const v = Number(raw);
  const problem = timestampProblem(v);
  if (problem !== undefined) throw invalid(name, problem);
  return v;
}

/** True for an empty or whitespace-only body, looking no further than the first non-blank character. */
function isBlank(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09 && c !== 0xfeff && c !== 0xa0) return s.trim() === '';
  }
  return true;
}

/** Longest path segment (an environment or equipment name in the path) the router accepts. */
const MAX_PARAM_LENGTH = 2048;

/**
 * Structured-syntax JSON types (`application/merge-patch+json`, ...), read as JSON like `application/json`. No
 * other type is: an HTML form (urlencoded, multipart, text/plain) or a `fetch` without a type (a Blob, a buffer)
 * reaches the API cross-site without a CORS preflight, and a browser may add the dashboard's Basic credentials.
 */
const JSON_SUFFIX_TYPE = /^[^/;\s]+\/[^/;\s]+\+json(?:;|$)/;

/** A request with a body that is not JSON: 415 naming what came, before the body is read. */
function unsupportedMediaType(contentType: string | undefined): string {
  const sent = contentType === undefined ? 'no Content-Type' : `Content-Type ${describe(contentType)}`;
  return `Unsupported media type: the body came with ${sent}; send JSON with Content-Type: application/json`;
}

/**
 * Errors Fastify meets before any route runs (a malformed URL, an over-long path segment), worded as ours. No
 * route's hooks run for them, so the CORS headers and Werkzeug's reason phrase are set here.
 */
function frameworkError(err: { code?: string; statusCode?: number; message: string }, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const status = typeof err.statusCode === 'number' ? err.statusCode : 500;
  const [code, message] =
    err.code === 'FST_ERR_BAD_URL'
      ? [400, `The URL path is not valid (a malformed %-escape): ${describe(req.url)}`]
      : err.code === 'FST_ERR_MAX_PARAM_LENGTH'
        ? [414, `A segment of the URL path is longer than ${MAX_PARAM_LENGTH} characters`]
        : [status, status >= 500 ? `An unhandled exception occurred.${err.message}` : err.message];
  return sendPython(originalHeaders(reply.code(code)), code, { message });
}

/**
 * What Node's HTTP parser refuses (a request that did not arrive within the request timeout, headers too large,
 * bytes that are not HTTP) answered as `{"message": ...}` on the raw socket, which is then closed.
 */
function clientErrorHandler(requestTimeoutMs: number) {
  return (err: NodeJS.ErrnoException, socket: Socket): void => {
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const [status, message] =
      err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, `The request did not arrive within ${requestTimeoutMs / 1000} s`]
        : err.code === 'HPE_HEADER_OVERFLOW'
          ? [431, `The request line and headers are larger than ${maxHeaderSize} bytes`]
          : [400, 'The request is not valid HTTP/1.1'];
    // As Node's own handler: nothing is written over an answer already on its way (it would corrupt it).
    const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (socket.writable && inFlight?.headersSent !== true) {
      const body = pythonJson({ message });
      socket.write(`HTTP/1.1 ${status} ${werkzeugPhrase(status)}\r\nContent-Type: ${JSON_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    }
    socket.destroy(err);
  };
}

/**
 * Headers of the Swagger UI's page and files, as the dashboard's: its scripts and styles are its own files (no
 * inline script), its logo a data: URL, and it fetches the API's description and (try it out) the API itself.
 */
const DOC_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

/** Builds the Fastify app with every route of the API. */
export async function buildApp(deps: AppDeps): Promise<{ app: FastifyInstance; metrics: Metrics }> {
  const { store, logger } = deps;
  const requestTimeoutMs = deps.requestTimeoutMs ?? DEFAULT_HTTP_LIMITS.requestTimeoutMs;
  // Node looks for late requests every `connectionsCheckingInterval` (30 s by default): a quarter of the timeout
  // keeps a short one (tests) within 25 %. Node 20 cuts a request only once both `headersTimeout` (60 s) and
  // `requestTimeout` have passed, so the first may not be longer (as Node's constructor sets it from the second).
  const serverOptions =
    requestTimeoutMs > 0
      ? {
          requestTimeout: requestTimeoutMs,
          headersTimeout: Math.min(60_000, requestTimeoutMs),
          connectionsCheckingInterval: Math.min(30_000, Math.max(50, Math.round(requestTimeoutMs / 4))),
        }
      : {};
  const app = Fastify({
    logger: false,
    bodyLimit: deps.bodyLimitBytes,
    // Fastify's default (0) lets a client take for ever to send a request, holding its connection.
    requestTimeout: requestTimeoutMs,
    // One proxy hop, as the original's ProxyFix: X-Forwarded-For/-Host/-Proto of the nearest proxy.
    trustProxy: 1,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: MAX_PARAM_LENGTH },
    frameworkErrors: frameworkError,
    clientErrorHandler: clientErrorHandler(requestTimeoutMs),
    ...(deps.https === undefined ? { http: serverOptions } : { https: { ...deps.https, ...serverOptions } }),
  } as Parameters<typeof Fastify>[0]) as unknown as FastifyInstance;
  // Further connections are closed as they arrive (Node's `drop`): 20,000 slow clients had used up every file
  // descriptor, and with them the store's and the dashboard's.
  app.server.maxConnections = deps.maxConnections ?? DEFAULT_HTTP_LIMITS.maxConnections;
  // An answer given before the whole request arrived (401/403 from the auth check, 413, 415) closes the
  // connection: Node would otherwise read the rest of the body to reuse it, for as long as the client takes.
  app.addHook('onSend', async (req, reply, payload) => {
    if (!req.raw.complete) reply.header('connection', 'close');
    return payload;
  });

  const metrics = new Metrics();
  metrics.counter('energyrecorder_http_requests_total', 'HTTP requests by method, route and status');
  metrics.counter('energyrecorder_readings_ingested_total', 'Readings stored');
  metrics.counter('energyrecorder_ingest_scanned_batches_total', 'Measurement batches read by the byte scanner (InfluxDB fast path) rather than JSON.parse');
  metrics.counter('energyrecorder_store_errors_total', 'Store operations that failed, by kind');
  metrics.histogram('energyrecorder_store_latency_seconds', 'Store operation latency', [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5]);
  if (deps.store.queue !== undefined) {
    metrics.gauge('energyrecorder_influx_queue_bytes', 'Bytes of readings acknowledged and waiting in the write queue for InfluxDB', () => deps.store.queue?.bytes ?? 0);
    metrics.gauge('energyrecorder_influx_queue_batches', 'Batches acknowledged and waiting in the write queue for InfluxDB', () => deps.store.queue?.batches ?? 0);
    metrics.gauge('energyrecorder_influx_queue_oldest_seconds', 'Age of the oldest batch waiting for InfluxDB', () => {
      const oldest = deps.store.queue?.oldestMs;
      return oldest === undefined ? 0 : (Date.now() - oldest) / 1000;
    });
    metrics.gauge('energyrecorder_influx_queue_rejected_total', 'Queued batches InfluxDB refused for good (kept in rejected.lp)', () => deps.store.queue?.rejected ?? 0);
  }
  metrics.gauge('energyrecorder_mqtt_queue_depth', 'Messages waiting for the MQTT broker', () => deps.mqtt?.queueDepth ?? 0);
  metrics.gauge('energyrecorder_mqtt_published_total', 'Messages handed to the MQTT broker', () => deps.mqtt?.published ?? 0);
  metrics.gauge('energyrecorder_mqtt_dropped_total', 'Messages dropped from a full MQTT queue', () => deps.mqtt?.dropped ?? 0);
  metrics.gauge('energyrecorder_mqtt_connected', '1 when the MQTT client is connected', () => (deps.mqtt?.connected === true ? 1 : 0));

  let initialised: Promise<void> | undefined;
  const timed = async <T>(op: string, fn: () => Promise<T>): Promise<T> => {
    if (initialised === undefined) {
      initialised = store.init().catch((err: unknown) => {
        initialised = undefined;
        throw err;
      });
    }
    await initialised;
    const t0 = performance.now();
    try {
      return await fn();
    } catch (err) {
      metrics.inc('energyrecorder_store_errors_total', { op });
      throw err;
    } finally {
      metrics.observe('energyrecorder_store_latency_seconds', { op }, (performance.now() - t0) / 1000);
    }
  };

  const emit = (event: ApiEvent): void => {
    if (deps.onEvent === undefined) return;
    try {
      deps.onEvent(event);
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'event listener failed');
    }
  };
  // Every route's path and methods, so a known path asked with another method answers 405 with `Allow`, as
  // Werkzeug did, rather than 404.
  const routeMethods: Array<{ pattern: RegExp; methods: Set<string> }> = [];
  app.addHook('onRoute', (route) => {
    const pattern = routePattern(route.url);
    let entry = routeMethods.find((r) => r.pattern.source === pattern.source);
    if (entry === undefined) {
      entry = { pattern, methods: new Set() };
      routeMethods.push(entry);
    }
    for (const m of Array.isArray(route.method) ? route.method : [route.method]) entry.methods.add(m.toUpperCase());
  });
  const allowedMethods = (url: string): string[] => {
    const q = url.indexOf('?');
    let path = q < 0 ? url : url.slice(0, q);
    try {
      path = decodeURI(path);
    } catch {
      // Left as sent: no route matches a malformed escape better than its raw form.
    }
    const methods = new Set<string>();
    for (const r of routeMethods) if (r.pattern.test(path)) for (const m of r.methods) methods.add(m);
    if (methods.size === 0) return [];
    methods.add('OPTIONS');
    if (methods.has('GET')) methods.add('HEAD');
    return [...methods].sort();
  };
  for (const plugin of deps.plugins ?? []) await plugin(app);

  let lastEventNs = 0;
  const eventTime = (): number => {
    // Two events of one process never share a timestamp, so a stop always sorts after its start.
    lastEventNs = Math.max(nowNs(), lastEventNs + 1000);
    return lastEventNs;
  };

  // Bodies are parsed here rather than by Fastify's JSON parser: an empty body (the Python SDK's DELETE sends
  // `content-type: application/json` with none) is fine. Only JSON types are read (every original client sends
  // `application/json`; the original's flask-restx refused other types too): any other body, or one without a
  // Content-Type, gets 415 from Fastify before it is read (see JSON_SUFFIX_TYPE for why).
  app.removeAllContentTypeParsers();
  // The body arrives as one Buffer (one concat of the socket chunks) and is decoded once for a single JSON.parse;
  // collecting it as a string would concatenate a rope that JSON.parse must flatten first.
  // Stores that write line protocol get the collectors' usual body scanned as bytes (packed-batch.ts); any other
  // body, or any other store, takes JSON.parse and the validation below.
  const scanMeasurements = store.encodesLines === true;
  const parseJson = (req: FastifyRequest, raw: string | Buffer, done: (err: Error | null, body?: unknown) => void): void => {
    if (scanMeasurements && typeof raw !== 'string' && req.routeOptions.url === MEASUREMENTS_ROUTE) {
      const scanned = scanMeasurementPost(raw);
      if (scanned !== undefined) {
        done(null, scanned);
        return;
      }
    }
    const s = typeof raw === 'string' ? raw : raw.toString('utf8');
    if (isBlank(s)) {
      done(null, BLANK_BODY);
      return;
    }
    try {
      // JSON.parse keeps a `__proto__` key as an own property (it never sets a prototype); the handlers copy only
      // the fields they know, and validation refuses `topology.__proto__`, which no object could store.
      done(null, JSON.parse(s));
    } catch (err) {
      done(new HttpProblem(400, `Failed to decode JSON object: ${(err as Error).message}`), undefined);
    }
  };
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, parseJson);
  app.addContentTypeParser(JSON_SUFFIX_TYPE, { parseAs: 'buffer' }, parseJson);
  // Schemas document the API; zod in the handlers validates it, so Fastify neither validates nor serialises.
  app.setValidatorCompiler(() => (data: unknown) => ({ value: data }));
  app.setSerializerCompiler(() => (data: unknown) => JSON.stringify(data));
  for (const m of OPENAPI_MODELS) app.addSchema(m);

  await app.register(swagger, {
    swagger: {
      info: { title: 'Energy monitoring API', description: 'PODs Energy consumption gathering API', version: '1.0' },
      basePath: '/',
      consumes: ['application/json'],
      produces: ['application/json'],
      tags: [
        { name: 'equipments', description: 'Equipements monitoring operations' },
        { name: 'recorders', description: 'Recording sessions management' },
        { name: 'monitoring', description: 'API monitoring' },
        { name: 'servers', description: 'Legacy power ingestion (deprecated)' },
      ],
      ...(deps.auth === undefined ? {} : { securityDefinitions: { basic: { type: 'basic' } }, security: [{ basic: [] }] }),
    },
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json['$id'] === 'string' ? json['$id'] : `def-${i}`),
    },
  });
  // In a plugin of its own, so the security headers cover the UI's page and files and nothing else.
  await app.register(async (doc) => {
    doc.addHook('onSend', async (_req, reply, payload) => {
      reply.headers(DOC_SECURITY_HEADERS);
      return payload;
    });
    // No validator badge: it would load an image from validator.swagger.io (refused by the CSP anyway).
    await doc.register(swaggerUi, { routePrefix: '/resources/doc', uiConfig: { docExpansion: 'list', validatorUrl: null } });
  });

  const checkAuth = createAuthChecker(deps.auth?.users, deps.auth?.protectReads ?? true);
  const guard = (access: Access) => async (req: FastifyRequest, reply: FastifyReply) => {
    const r = checkAuth(access, req.headers.authorization);
    if (!r.ok) {
      if (r.status === 401) reply.header('www-authenticate', 'Basic realm="energyrecorder"');
      return sendPython(reply, r.status, { message: r.message });
    }
    return undefined;
  };

  app.addHook('onSend', async (req, reply, payload) => {
    originalHeaders(reply);
    return payload;
  });
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    metrics.inc('energyrecorder_http_requests_total', { method: req.method, route, status: String(reply.statusCode) });
    logger.debug({ method: req.method, route, status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
  });

  app.setNotFoundHandler(async (req, reply) => {
    if (req.method === 'OPTIONS') return reply.code(200).header('allow', 'GET,PUT,POST,DELETE,OPTIONS').send();
    const allowed = allowedMethods(req.url);
    // A route that takes this method but found nothing (a missing Swagger UI file) is a 404, not a 405.
    if (allowed.length > 0 && !allowed.includes(req.method)) return sendPython(reply.header('allow', allowed.join(', ')), 405, { message: METHOD_NOT_ALLOWED });
    return sendPython(reply, 404, { message: NOT_FOUND_URL });
  });
  app.setErrorHandler(async (err: unknown, req, reply) => {
    if (err instanceof HttpProblem) return sendPython(reply, err.statusCode, err.body ?? { message: err.message });
    if (err instanceof StoreUnavailableError) {
      logger.warn({ err: err.message, route: req.routeOptions.url }, 'store unavailable');
      return sendPython(reply.header('retry-after', String(err.retryAfterS)), 503, { message: `Storage unavailable, retry later: ${err.message}` });
    }
    if (err instanceof ValidationError) return sendPython(reply, 400, validationBody({ [err.field]: err.message }));
    const e = err as { statusCode?: unknown; code?: unknown; message?: unknown };
    if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return sendPython(reply, 413, { message: `Request body is larger than ${deps.bodyLimitBytes} bytes` });
    }
    if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return sendPython(reply, 415, { message: unsupportedMediaType(req.headers['content-type']) });
    if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
      return sendPython(reply, e.statusCode, { message: String(e.message) });
    }
    logger.error({ err: String(e.message), route: req.routeOptions.url }, 'unhandled error');
    return sendPython(reply, 500, { message: `An unhandled exception occurred.${String(e.message)}` });
  });

  const envParams = { type: 'object', properties: { env: { type: 'string', description: 'Environment (POD) name' } } };
  const errors = { 400: { $ref: 'validationError#' }, 404: { $ref: 'errorMessage#' }, 503: { $ref: 'errorMessage#' } };
  const read = { onRequest: guard('read') };
  const write = { onRequest: guard('write') };

  // One store read per batch at most, shared by concurrent requests that arrived while it was pending.
  const pointLookup = createSessionLookup((env, atNs) => timed('lastEvent', () => store.lastEvent(env, atNs)));
  // Readings older than the margin are answered from a per-environment timeline of events (session-timeline.ts).
  const timeline = createSessionTimeline(
    {
      lastEvent: (env, atNs) => timed('lastEvent', () => store.lastEvent(env, atNs)),
      listEvents: (env, sinceNs) => timed('listEvents', () => store.listEvents(env, sinceNs)),
    },
    pointLookup,
    { now: nowNs, ...(deps.sessionTimeline ?? {}) },
  );
  metrics.gauge('energyrecorder_session_timeline_hits_total', 'Session lookups answered from an environment timeline', () => timeline.stats.hits);
  metrics.gauge('energyrecorder_session_timeline_refreshes_total', 'Environment timelines read from the store', () => timeline.stats.refreshes);
  metrics.gauge('energyrecorder_session_store_lookups_total', 'Session lookups sent to the store (young, old or untimed readings)', () => timeline.stats.storeLookups);
  const marginNs = deps.sessionTimeline?.marginNs ?? DEFAULT_SESSION_TIMELINE_OPTIONS.marginNs;
  /**
   * Appends an event. Call it right after stamping the event (`eventTime()`), with no await in between: until the
   * write settles, this process's lookups of the environment at or after the event's time wait for it
   * (`timeline.append`), so no reading stamped after the event is tagged with the previous step. An event
   * stamped before a write that took longer than the margin may be missing from other processes' timelines until
   * they expire (`maxAgeNs`): said in the log, as the margin is then too small for this store.
   */
  const appendEvent = async (e: ScenarioEvent): Promise<void> => {
    const t0 = nowNs();
    try {
      await timeline.append(e.environment, e.timeNs, () => timed('appendEvent', () => store.appendEvent(e)));
    } finally {
      const tookNs = nowNs() - t0;
      if (tookNs > marginNs) {
        logger.warn(
          { env: e.environment, ms: Math.round(tookNs / 1e6), marginMs: Math.round(marginNs / 1e6) },
          'a scenario event write took longer than the session timeline margin: other API processes may tag readings of that time with the previous session until their timelines expire',
        );
      }
    }
  };
  const current = async (env: string, atNs?: number): Promise<ScenarioEvent | undefined> => {
    const e = await timeline.lookup(env, atNs);
    return e !== undefined && e.started ? e : undefined;
  };
  const running = (e: ScenarioEvent) => runningScenario(e.environment, e.scenario, e.step);
  /**
   * The session tagging a batch. With a write queue (the batch is kept even while the store is down), a store
   * that cannot be read does not refuse the batch when this process knows the environment's state at its time:
   * no event can be written while the store is down, so that state holds, bar an event another API process
   * wrote in the moments before the outage that this one had not read yet.
   */
  let lastFallbackWarning = 0;
  const ingestSession = async (env: string, atNs?: number): Promise<ScenarioEvent | undefined> => {
    try {
      return await current(env, atNs);
    } catch (err) {
      if (!(err instanceof StoreUnavailableError) || store.queue === undefined) throw err;
      const known = timeline.lastKnown(env, atNs);
      if (known === undefined) throw err;
      const now = Date.now();
      if (now - lastFallbackWarning >= 60_000) {
        lastFallbackWarning = now;
        logger.warn(
          { env, asOf: new Date(known.asOfNs / 1e6).toISOString(), err: err.message },
          'the store cannot be read: readings are tagged with the session state this process last read, and queued',
        );
      }
      const e = known.event;
      return e !== undefined && e.started ? e : undefined;
    }
  };

  app.get(
    '/resources/recorders/environment/:env',
    {
      ...read,
      schema: {
        tags: ['recorders'],
        summary: 'Get the recording session of an environment (at `time` ns if given)',
        params: envParams,
        querystring: { type: 'object', properties: { time: { type: 'integer', format: 'int64' } } },
        response: { 200: { $ref: 'runningScenario#' }, ...errors },
      },
    },
    async (req, reply) => {
      const env = pathName(req, 'env');
      const at = nsQuery('time', (req.query as Record<string, unknown>)['time']);
      const e = await current(env, at);
      if (e === undefined) return sendPython(reply, 404, { message: noSession(env) });
      return sendPython(reply, 200, running(e));
    },
  );

  app.post(
    '/resources/recorders/environment/:env',
    {
      ...write,
      schema: {
        tags: ['recorders'],
        summary: 'Start a recording session (replaces any running one)',
        params: envParams,
        body: { $ref: 'recorderPost#' },
        response: { 200: { $ref: 'runningScenario#' }, ...errors },
      },
    },
    async (req, reply) => {
      const env = pathName(req, 'env');
      const b = accepted(parseBody(recorderPostSchema, requireBody(req.body)));
      const timeNs = eventTime();
      await appendEvent({ environment: env, scenario: b.scenario, step: b.step, started: true, timeNs });
      emit({ type: 'session', environment: env, scenario: b.scenario, step: b.step, running: true, timeNs });
      logger.info({ env, scenario: b.scenario, step: b.step }, 'session started');
      return sendPython(reply, 200, runningScenario(env, b.scenario, b.step));
    },
  );

  app.delete(
    '/resources/recorders/environment/:env',
    {
      ...write,
      schema: { tags: ['recorders'], summary: 'Stop the running session', params: envParams, response: { 200: { $ref: 'runningScenario#' }, ...errors } },
    },
    async (req, reply) => {
      const env = pathName(req, 'env');
      const e = await current(env);
      if (e === undefined) return sendPython(reply, 404, { message: noSession(env) });
      const timeNs = eventTime();
      await appendEvent({ ...e, started: false, timeNs });
      emit({ type: 'session', environment: env, scenario: e.scenario, step: e.step, running: false, timeNs });
      logger.info({ env, scenario: e.scenario }, 'session stopped');
      return sendPython(reply, 200, running(e));
    },
  );

  app.post(
    '/resources/recorders/environment/:env/step',
    {
      ...write,
      schema: {
        tags: ['recorders'],
        summary: 'Change the step of the running session',
        params: envParams,
        body: { $ref: 'stepPost#' },
        response: { 200: { $ref: 'runningScenario#' }, ...errors },
      },
    },
    async (req, reply) => {
      const env = pathName(req, 'env');
      const b = accepted(parseBody(stepPostSchema, requireBody(req.body)));
      const e = await current(env);
      if (e === undefined) return sendPython(reply, 404, { message: noSession(env) });
      const timeNs = eventTime();
      await appendEvent({ ...e, step: b.step, started: true, timeNs });
      emit({ type: 'session', environment: env, scenario: e.scenario, step: b.step, running: true, timeNs });
      return sendPython(reply, 200, runningScenario(env, e.scenario, b.step));
    },
  );

  app.get(
    '/resources/recorders/environment/:env/sessions',
    {
      ...read,
      schema: {
        tags: ['recorders'],
        summary: 'History of recording sessions, newest first',
        params: envParams,
        querystring: { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: 10000, default: 100 } } },
        response: { 200: { $ref: 'sessionList#' }, ...errors },
      },
    },
    async (req) => {
      const env = pathName(req, 'env');
      const rawLimit = (req.query as Record<string, unknown>)['limit'];
      let limit = 100;
      if (rawLimit !== undefined) {
        if (typeof rawLimit !== 'string' || !/^\d{1,5}$/.test(rawLimit) || Number(rawLimit) < 1 || Number(rawLimit) > 10000) {
          throw invalid('limit', `${JSON.stringify(rawLimit)} is not an integer between 1 and 10000`);
        }
        limit = Number(rawLimit);
      }
      const sessions = deriveSessions(await timed('listEvents', () => store.listEvents(env)));
      return { environment: env, sessions: sessions.reverse().slice(0, limit) };
    },
  );

  app.get(
    '/resources/recorders/environment/:env/report',
    {
      ...read,
      schema: {
        tags: ['recorders'],
        summary: 'Energy report of a session (latest, latest of `scenario`, or the one started at `start` ns), JSON or CSV',
        params: envParams,
        querystring: {
          type: 'object',
          properties: {
            scenario: { type: 'string' },
            start: { type: 'integer', format: 'int64' },
            format: { type: 'string', enum: ['json', 'csv'] },
            sensor: { type: 'string', default: 'power' },
          },
        },
        produces: ['application/json', 'text/csv'],
        response: { 200: { $ref: 'sessionReport#' }, ...errors },
      },
    },
    async (req, reply) => {
      const env = pathName(req, 'env');
      const q = req.query as Record<string, unknown>;
      const start = nsQuery('start', q['start']);
      const scenario = q['scenario'] === undefined ? undefined : nameArg('scenario', q['scenario']);
      const sensor = nameArg('sensor', q['sensor'] ?? 'power');
      const format = q['format'];
      if (format !== undefined && format !== 'json' && format !== 'csv') throw invalid('format', `${JSON.stringify(format)} is not one of ['json', 'csv']`);
      const csv = format === 'csv' || (format === undefined && /\btext\/csv\b/.test(req.headers.accept ?? ''));

      const sessions = deriveSessions(await timed('listEvents', () => store.listEvents(env)));
      let chosen = sessions.filter((s) => scenario === undefined || s.scenario === scenario);
      if (start !== undefined) chosen = chosen.filter((s) => Math.abs(s.startNs - start) < 1000);
      const session = chosen[chosen.length - 1];
      if (session === undefined) {
        const what = scenario !== undefined ? ` of scenario "${scenario}"` : '';
        return sendPython(reply, 404, { message: `Can't find any recording session${what} for recorder "${env}"` });
      }
      const now = nowNs();
      const endNs = session.endNs ?? now;
      // Power in any of the usual units (a CSV meter's `Power (kW)`), converted to watts.
      const query = async (margin: number): Promise<EquipmentSample[]> => {
        const fromNs = session.startNs - margin;
        const toNs = endNs + margin;
        const perUnit = await timed('queryPower', () =>
          Promise.all(
            Object.entries(WATTS_PER_UNIT).map(async ([unit, scale]) => {
              const list = await store.queryPower({ environment: env, sensor, unit, fromNs, toNs });
              return scale === 1 ? list : list.map((x) => ({ ...x, powerWatts: x.powerWatts * scale }));
            }),
          ),
        );
        return perUnit.flat();
      };
      // The edges of the window are interpolated from the nearest sample on each side. A meter polled every few
      // minutes (a CSV meter's file every 5-15 min) may have none within the first margin, so an equipment with
      // samples on one side only widens the query, up to 2 h each side.
      const margins = deps.reportMarginNs === undefined ? REPORT_MARGINS_NS : [deps.reportMarginNs];
      let samples = await query(margins[0] as number);
      for (let i = 1; i < margins.length && lacksAnEdge(samples, session.startNs, session.endNs); i++) {
        samples = await query(margins[i] as number);
      }
      const report = buildReport(env, session, samples, now);
      if (csv) return reply.type('text/csv; charset=utf-8').send(reportToCsv(report));
      return report;
    },
  );

  const ingest = async (
    equipment: string,
    environment: string,
    collectNs: number | undefined,
    items: ReadonlyArray<{ sensor: string; unit: string; value: number; time?: number | undefined }> | PackedReadings,
    topology: Record<string, string> | undefined,
    reply: FastifyReply,
    legacyPower?: number,
  ): Promise<{ scenario: string; step: string } | undefined> => {
    // As the original intended (seed-behaviour §1.5): the session running at the collect time tags the batch.
    const e = await ingestSession(environment, collectNs);
    if (e === undefined && !deps.alwaysRecord) {
      await sendPython(reply, 404, { message: noSession(environment) });
      return undefined;
    }
    const scenario = e?.scenario ?? NOT_SPECIFIED;
    const step = e?.step ?? NOT_SPECIFIED;
    const fallbackNs = collectNs ?? nowNs();
    const packed = items instanceof PackedReadings ? items : undefined;
    const list = packed === undefined ? (items as Exclude<typeof items, PackedReadings>) : undefined;
    const count = items.length;
    const times = packed?.assignTimes(fallbackNs) ?? assignTimestamps(list as NonNullable<typeof list>, fallbackNs);
    // A reading older than the store's retention would be dropped at once (InfluxDB answers a partial write):
    // refused here, named, so the client does not retry it forever nor lose it silently.
    const cutoff = store.retentionCutoffNs?.(nowNs());
    if (cutoff !== undefined && earliestNs(times) < cutoff) {
      let old: Record<string, string> | undefined;
      for (let i = 0; i < times.length; i++) {
        const t = Number(times[i]);
        if (t >= cutoff) continue;
        const ownTime = packed?.ownTime(i) ?? list?.[i]?.time;
        const own = legacyPower === undefined && ownTime !== undefined;
        const field = own ? `measurements.${i}.time` : 'time';
        old ??= {};
        old[field] ??= `${t} is before ${new Date(cutoff / 1e6).toISOString()}, the oldest time the store keeps (its retention)`;
      }
      if (old !== undefined) throw new HttpProblem(400, 'Input payload validation failed', validationBody(old));
    }
    // Packed readings become objects only if something reads them (a store without a line encoder, the live
    // dashboard, MQTT); InfluxDB gets their bytes copied into line protocol.
    let objects: StoredReading[] | undefined;
    const readingObjects = (): StoredReading[] => {
      if (objects !== undefined) return objects;
      objects = new Array<StoredReading>(count);
      for (let i = 0; i < count; i++) {
        const timeNs = times[i] as number | bigint;
        if (packed !== undefined) {
          objects[i] = { sensor: packed.sensor(i), unit: packed.unit(i), value: packed.value(i), timeNs };
        } else {
          const m = (list as NonNullable<typeof list>)[i] as NonNullable<typeof list>[number];
          objects[i] = { sensor: m.sensor, unit: m.unit, value: m.value, timeNs };
        }
      }
      return objects;
    };
    const batch: MeasurementBatch = {
      equipment,
      environment,
      scenario,
      step,
      ...(topology === undefined ? {} : { topology }),
      get readings() {
        return readingObjects();
      },
      ...(packed === undefined ? {} : { encodeLines: (head: Uint8Array, mid: Uint8Array, tail: Uint8Array) => packed.encodeLines(head, mid, tail, times) }),
      ...(legacyPower === undefined ? {} : { legacyPower }),
    };
    try {
      await timed('writeMeasurements', () => store.writeBatch(batch));
    } catch (err) {
      // Refused data (a field type conflict with points written by another tool, say) is the request's problem,
      // not a server fault: the client gets the store's reason and does not retry.
      if (err instanceof StoreError) throw new HttpProblem(400, `The store refused these readings: ${err.message}`);
      throw err;
    }
    metrics.inc('energyrecorder_readings_ingested_total', {}, count);
    if (deps.onEvent !== undefined) {
      let eventReadings: EventReading[] | undefined;
      const all = (): EventReading[] =>
        (eventReadings ??= readingObjects().map((p) => ({ sensor: p.sensor, unit: p.unit, value: p.value, timestampNs: Number(p.timeNs) })));
      emit({
        type: 'measurements',
        environment,
        equipment,
        scenario,
        step,
        get readings() {
          return all();
        },
        readingsOf(sensor, unit) {
          if (packed === undefined || eventReadings !== undefined) return all().filter((r) => r.sensor === sensor && r.unit === unit);
          return packed.indicesOf(sensor, unit).map((i) => ({ sensor, unit, value: packed.value(i), timestampNs: Number(times[i]) }));
        },
      });
    }
    if (deps.mqtt !== undefined) {
      const mqtt = deps.mqtt;
      const readings = readingObjects();
      mqtt.publish(
        readings.map((p) => ({
          topic: measurementTopic(deps.mqttBasePath, environment, equipment, p.sensor),
          payload: JSON.stringify({
            environment,
            equipement: equipment,
            scenario,
            step,
            sensor: p.sensor,
            unit: p.unit,
            value: p.value,
            timestamp: Number(p.timeNs),
            ...(topology === undefined ? {} : { topology }),
          }),
        })),
      );
    }
    return { scenario, step };
  };

  app.post(
    MEASUREMENTS_ROUTE,
    {
      ...write,
      schema: {
        tags: ['equipments'],
        summary: 'Store measurements of an equipment, tagged with the session running at the collect time',
        params: { type: 'object', properties: { equipement: { type: 'string', description: 'Equipment id' } } },
        body: { $ref: 'measurementPost#' },
        response: { 200: { $ref: 'APIStatus#' }, ...errors },
      },
    },
    async (req, reply) => {
      const equipment = pathName(req, 'equipement');
      const scanned = req.body instanceof ScannedMeasurementPost ? req.body : undefined;
      if (scanned !== undefined) metrics.inc('energyrecorder_ingest_scanned_batches_total', {});
      const b = scanned ?? accepted(parseMeasurementPost(requireBody(req.body)));
      logger.debug({ equipment, env: b.environment, count: b.measurements.length }, 'measurements');
      const ok = await ingest(equipment, b.environment, b.time, b.measurements, b.topology, reply);
      if (ok === undefined) return reply;
      return reply.code(200).header('content-type', JSON_TYPE).send(STATUS_OK);
    },
  );

  app.post(
    '/resources/servers/:server/consumption',
    {
      ...write,
      schema: {
        tags: ['servers'],
        summary: 'Legacy: store one power value of a server (sensor power, unit W)',
        params: { type: 'object', properties: { server: { type: 'string' } } },
        body: { $ref: 'powerPost#' },
        response: { 200: { $ref: 'powerMeasurement#' }, ...errors },
      },
    },
    async (req, reply) => {
      const server = pathName(req, 'server');
      const b = accepted(parseBody(powerPostSchema, requireBody(req.body)));
      const r = await ingest(server, b.environment, b.time, [{ sensor: 'power', unit: 'W', value: b.power, time: b.time }], undefined, reply, b.power);
      if (r === undefined) return reply;
      return sendPython(reply, 200, { environment: b.environment, scenario: r.scenario, step: r.step, power: b.power });
    },
  );

  app.get(
    '/resources/monitoring/ping',
    { schema: { tags: ['monitoring'], summary: 'Liveness, including the store', response: { 200: { $ref: 'APIStatus#' }, 500: { $ref: 'errorMessage#' } } } },
    async (_req, reply) => {
      try {
        await timed('ping', () => store.ping(AbortSignal.timeout(2000)));
      } catch (err) {
        // The original's error went through its default handler (seed-behaviour §1.1, §1.7), hence the prefix with
        // no space after the period; the SDKs only look for status OK in the body.
        return sendPython(reply, 500, {
          message: `An unhandled exception occurred.Unable to connect ${store.kind === 'influx' ? 'influxDB' : 'store'}: ${(err as Error).message}`,
        });
      }
      return sendPython(reply, 200, { status: 'OK' });
    },
  );

  app.get('/resources/swagger.json', { schema: { hide: true } }, async (req) => {
    const doc = app.swagger() as unknown as Record<string, unknown>;
    // ProxyFix with one hop: the right-most X-Forwarded-Host/-Proto entry is the one our proxy added.
    const last = (h: string | string[] | undefined): string | undefined => {
      const v = Array.isArray(h) ? h[h.length - 1] : h;
      const entry = v?.split(',').pop()?.trim();
      return entry === undefined || entry === '' ? undefined : entry;
    };
    const host = last(req.headers['x-forwarded-host']) ?? req.headers.host ?? 'localhost';
    const proto = last(req.headers['x-forwarded-proto']) ?? (deps.https === undefined ? 'http' : 'https');
    return { ...doc, host, schemes: [proto === 'https' ? 'https' : 'http'] };
  });

  app.get('/metrics', { ...read, schema: { hide: true } }, async (_req, reply) =>
    reply.type('text/plain; version=0.0.4; charset=utf-8').send(metrics.render()),
  );

  return { app, metrics };
}
