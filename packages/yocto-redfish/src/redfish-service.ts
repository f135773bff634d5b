import { randomUUID } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { noopLogger, type Logger } from '@energyrecorder/core';
import type { Meter } from './meter.js';
import { MeterChannel, DEFAULT_METER_CHANNEL_OPTIONS, type ChannelSnapshot, type MeterChannelOptions } from './meter-channel.js';
import { AuthStore, type RedfishUser } from './internal/redfish/auth.js';
import * as R from './internal/redfish/resources.js';
import { metadataXml, odataServiceDocument } from './internal/redfish/metadata.js';

/** Defaults of {@link RedfishServiceOptions}. */
export const DEFAULT_REDFISH_SERVICE_OPTIONS = Object.freeze({
  host: '127.0.0.1',
  port: 0,
  sessionTimeoutS: 1800,
  maxSessions: 64,
  bodyLimitBytes: 64 * 1024,
  /** A larger body is still read (and discarded) up to this size, so 413 reaches the client on a live connection. */
  bodyDrainLimitBytes: 1024 * 1024,
  requestTimeoutMs: 10_000,
  /**
   * How long a connection refused with an answer to a request Node could not parse stays open for its peer to
   * read the answer. The HTTP server allows half-open connections: without it, a peer that never closes its side
   * would keep the connection forever.
   */
  clientErrorLingerMs: 2000,
});

/** One meter served by the service. */
export interface ServedMeter {
  /** Chassis id; defaults to the 1-based position. */
  id?: string;
  /** Chassis name; defaults to `Meter <id>`. */
  name?: string;
  meter: Meter;
  /**
   * The meter's own deadline of one operation (its `timeout_ms`). The channel's deadline of one open or read is
   * raised to this plus {@link METER_DEADLINE_MARGIN_MS}, so a slow but configured meter is not cut short and
   * its driver reports its own timeout.
   */
  timeoutMs?: number;
}

/** Added to a meter's own {@link ServedMeter.timeoutMs} to get the channel deadline, so the driver times out first. */
export const METER_DEADLINE_MARGIN_MS = 1000;

/**
 * Options of {@link createRedfishService}. The meter-channel options (`clock`, `pollIntervalMs`, `readTimeoutMs`,
 * back-off, `metricsIntervalMin`) are handed to every meter's {@link MeterChannel}; `readTimeoutMs` is a floor,
 * raised per meter by {@link ServedMeter.timeoutMs}.
 */
export interface RedfishServiceOptions
  extends Pick<MeterChannelOptions, 'clock' | 'pollIntervalMs' | 'readTimeoutMs' | 'backoffInitialMs' | 'backoffMaxMs' | 'metricsIntervalMin'> {
  meters: readonly ServedMeter[];
  /** Serve one chassis `1` with the sum of all meters, as the original yoko2redfish. Any chassis id answers. */
  sumChassis?: boolean;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Require these users (Basic auth or a session token) for everything but `/redfish` and the service root. */
  users?: readonly RedfishUser[];
  /** Idle lifetime of a session, in seconds; served as `SessionTimeout`, which the DMTF schema bounds to 30..86400. */
  sessionTimeoutS?: number;
  /**
   * Live sessions at most (all users together). A login at the limit closes the least recently used session of
   * the same user or, when it has none, of the account holding the most sessions (more than one); when every
   * live session is its account's only one, it answers 503 `SessionLimitExceeded`.
   */
  maxSessions?: number;
  /**
   * PEM certificate and key: serve HTTPS instead of HTTP. `handshakeTimeoutMs` closes a connection that has not
   * completed its TLS handshake by then (default Node's 120 000).
   */
  tls?: { cert: string | Buffer; key: string | Buffer; handshakeTimeoutMs?: number };
  logger?: Logger;
  /** Poll meters in the background (default true); when false they are read only on request. */
  backgroundPolling?: boolean;
  /**
   * How long an HTTP request waits for a fresh reading before it answers with the last one it has, in ms
   * (default 10 000). Independent of the meters' own deadlines.
   */
  requestTimeoutMs?: number;
}

/** A running (or ready to run) Redfish service. */
export interface RedfishService {
  /** Starts listening; resolves with the base URL (`http://127.0.0.1:port`). */
  listen(): Promise<string>;
  /** Stops listening and closes every meter. */
  close(): Promise<void>;
  /** Base URL once listening, e.g. `http://127.0.0.1:43123`. Throws before `listen`. */
  readonly url: string;
  /** The meter channels by chassis id (summed: the channels of all meters). */
  readonly channels: ReadonlyMap<string, MeterChannel>;
}

interface ChassisEntry {
  id: string;
  name: string;
  channels: MeterChannel[];
  /** Min/avg/max of the summed power, for a chassis of several meters. */
  sumWindow?: R.SumWindow;
}

/**
 * Creates a Redfish service over watt meters: service root, `Chassis`, and per chassis `Power`,
 * `EnvironmentMetrics` and `Sensors`, plus the optional SessionService. Nothing listens until `listen()`.
 */
export function createRedfishService(options: RedfishServiceOptions): RedfishService {
  const log = (options.logger ?? noopLogger).child({ component: 'redfish' });
  const clock = options.clock ?? Date.now;
  const channelMap = new Map<string, MeterChannel>();
  const entries: ChassisEntry[] = [];
  const seen = new Set<string>();
  options.meters.forEach((m, i) => {
    const id = m.id ?? String(i + 1);
    if (seen.has(id)) throw new Error(`duplicate meter id "${id}"`);
    seen.add(id);
    const channel = new MeterChannel({
      meter: m.meter,
      logger: log.child({ meter: id }),
      clock,
      pollIntervalMs: options.pollIntervalMs ?? DEFAULT_METER_CHANNEL_OPTIONS.pollIntervalMs,
      readTimeoutMs: Math.max(
        options.readTimeoutMs ?? DEFAULT_METER_CHANNEL_OPTIONS.readTimeoutMs,
        m.timeoutMs === undefined ? 0 : m.timeoutMs + METER_DEADLINE_MARGIN_MS,
      ),
      ...(options.backoffInitialMs === undefined ? {} : { backoffInitialMs: options.backoffInitialMs }),
      ...(options.backoffMaxMs === undefined ? {} : { backoffMaxMs: options.backoffMaxMs }),
      ...(options.metricsIntervalMin === undefined ? {} : { metricsIntervalMin: options.metricsIntervalMin }),
    });
    channelMap.set(id, channel);
    if (options.sumChassis !== true) entries.push({ id, name: m.name ?? `Meter ${id}`, channels: [channel] });
  });
  if (options.sumChassis === true) {
    entries.push({
      id: '1',
      name: 'Power meters',
      channels: [...channelMap.values()],
      sumWindow: new R.SumWindow(options.metricsIntervalMin ?? DEFAULT_METER_CHANNEL_OPTIONS.metricsIntervalMin),
    });
  }
  // The summed window follows the background polls too, not only the requests that happen to come.
  let sumTimer: NodeJS.Timeout | undefined;
  const recordSums = (): void => {
    for (const e of entries) e.sumWindow?.record(clock(), e.channels.map((c) => c.snapshot()));
  };

  const auth =
    options.users !== undefined && options.users.length > 0
      ? new AuthStore(
          options.users,
          (options.sessionTimeoutS ?? DEFAULT_REDFISH_SERVICE_OPTIONS.sessionTimeoutS) * 1000,
          clock,
          options.maxSessions ?? DEFAULT_REDFISH_SERVICE_OPTIONS.maxSessions,
        )
      : undefined;
  const uuid = randomUUID();

  const findChassis = (id: string): ChassisEntry | undefined =>
    options.sumChassis === true ? entries[0] : entries.find((e) => e.id === id);

  const viewOf = async (entry: ChassisEntry, signal: AbortSignal): Promise<R.ChassisView> => {
    const snaps: ChannelSnapshot[] = await Promise.all(entry.channels.map((c) => c.sample(signal)));
    if (entry.sumWindow === undefined) return R.viewOf(entry.id, entry.name, snaps);
    entry.sumWindow.record(clock(), snaps);
    return R.viewOf(entry.id, entry.name, snaps, entry.sumWindow.metrics(clock()));
  };

  const handler = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const signal = AbortSignal.timeout(options.requestTimeoutMs ?? DEFAULT_REDFISH_SERVICE_OPTIONS.requestTimeoutMs);
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const queryAt = url.indexOf('?');
    const rawPath = queryAt < 0 ? url : url.slice(0, queryAt);
    let path: string;
    try {
      path = decodeURIComponent(rawPath).replace(/\/+$/, '');
    } catch {
      return send(res, 400, R.redfishError('MalformedJSON', 'bad URL encoding'));
    }
    if (path === '') path = '/';
    const parts = path.split('/').filter((p) => p !== '');
    if (method === 'OPTIONS') return send(res, 204, undefined);

    // DMTF: `/redfish` and the service root are readable without credentials; so is session login, which DSP0266
    // ("Create (POST)") accepts on the collection and on its `Members` alike.
    const sessionsPath = `${R.ROOT}/SessionService/Sessions`;
    const isSessionLogin = method === 'POST' && (path === sessionsPath || path === `${sessionsPath}/Members`);
    // DSP0266 also keeps the service metadata and the OData service document public.
    const isPublic =
      path === '/redfish' || path === R.ROOT || path === `${R.ROOT}/$metadata` || path === `${R.ROOT}/odata` || isSessionLogin;
    let user: string | undefined;
    if (auth !== undefined && !isPublic) {
      user = auth.token(header(req, 'x-auth-token')) ?? auth.basic(header(req, 'authorization'));
      if (user === undefined) return unauthorized(res, R.redfishError('NoValidSession', 'authentication required'));
    }
    // Only after authentication (DSP0266: authentication headers are processed first).
    // DSP0266 "Request headers": a request for an OData version the service does not speak is refused with 412.
    const odataVersion = header(req, 'odata-version');
    if (odataVersion !== undefined && odataVersion.trim() !== '4.0') {
      return send(res, 412, R.redfishError('HeaderInvalid', `OData-Version ${odataVersion} is not supported: this service speaks OData 4.0`));
    }
    // DSP0266 "Query parameters": none is supported (so ProtocolFeaturesSupported is not advertised); one starting
    // with `$` answers 501 rather than a body the client would take as filtered or expanded, the others are ignored.
    const dollarParams = [...new URLSearchParams(queryAt < 0 ? '' : url.slice(queryAt + 1)).keys()].filter((k) => k.startsWith('$'));
    if (dollarParams.length > 0) {
      return send(res, 501, R.redfishError('QueryParameterUnsupported', `query parameter ${dollarParams.join(', ')} is not supported`));
    }

    if (parts[0] !== 'redfish') return notFound(res, `no resource at ${path}`);
    if (parts.length === 1) return get(method, res, () => R.versions());
    if (parts[1] !== 'v1') return notFound(res, `no resource at ${path}`);
    if (parts.length === 2) return get(method, res, () => R.serviceRoot(uuid, 'EnergyRecorder yocto-redfish'));

    const section = parts[2];
    if (parts.length === 3 && section === '$metadata') {
      if (method !== 'GET' && method !== 'HEAD') return notAllowed(res);
      res.setHeader('Allow', READ_ONLY.join(', '));
      return sendXml(res, metadataXml());
    }
    if (parts.length === 3 && section === 'odata') return get(method, res, odataServiceDocument);
    if (section === 'Chassis') {
      if (parts.length === 3) return get(method, res, () => R.chassisCollection(entries.map((e) => e.id)));
      const entry = findChassis(parts[3] ?? '');
      if (entry === undefined) return notFound(res, `no chassis ${parts[3] ?? ''}`);
      if (method !== 'GET' && method !== 'HEAD') return notAllowed(res);
      const view = await viewOf(entry, signal);
      const sub = parts[4];
      let body: R.Json | undefined;
      if (parts.length === 4) body = R.chassis(view);
      else if (parts.length === 5 && sub === 'Power') body = R.power(view);
      else if (parts.length === 5 && sub === 'EnvironmentMetrics') body = R.environmentMetrics(view);
      else if (parts.length === 5 && sub === 'Sensors') body = R.sensorCollection(view);
      else if (parts.length === 6 && sub === 'Sensors') body = R.sensor(view, parts[5] ?? '');
      if (body === undefined) return notFound(res, `no resource at ${path}`);
      const found = body;
      return get(method, res, () => found);
    }
    if (section === 'SessionService') return sessionService(req, res, method, parts, user);
    return notFound(res, `no resource at ${path}`);
  };

  const sessionService = async (
    req: IncomingMessage,
    res: ServerResponse,
    method: string,
    parts: string[],
    user: string | undefined,
  ): Promise<void> => {
    const base = `${R.ROOT}/SessionService`;
    if (parts.length === 3) {
      return get(method, res, () => ({
        '@odata.type': '#SessionService.v1_1_9.SessionService',
        '@odata.id': base,
        Id: 'SessionService',
        Name: 'Session Service',
        ServiceEnabled: auth !== undefined,
        SessionTimeout: options.sessionTimeoutS ?? DEFAULT_REDFISH_SERVICE_OPTIONS.sessionTimeoutS,
        Sessions: { '@odata.id': `${base}/Sessions` },
      }));
    }
    if (parts[3] !== 'Sessions') return notFound(res, 'no such resource');
    const sessionBody = (id: string, name: string): R.Json => ({
      '@odata.type': '#Session.v1_7_0.Session',
      '@odata.id': `${base}/Sessions/${id}`,
      Id: id,
      Name: 'User Session',
      UserName: name,
    });
    // DSP0266 "Create (POST)": a POST to the collection's `Members` is the same as one to the collection.
    const isLogin = method === 'POST' && (parts.length === 4 || (parts.length === 5 && parts[4] === 'Members'));
    if (parts.length === 4 || isLogin) {
      const collectionMethods = auth === undefined ? READ_ONLY : [...READ_ONLY, 'POST'];
      if (method === 'POST') {
        if (auth === undefined) return notAllowed(res, collectionMethods, 'authentication is off: there are no sessions to open');
        const body = await readJson(req, DEFAULT_REDFISH_SERVICE_OPTIONS.bodyLimitBytes, DEFAULT_REDFISH_SERVICE_OPTIONS.bodyDrainLimitBytes);
        if (body === TOO_LARGE) {
          // Past the drain limit the rest of the body was not read: the connection cannot carry another request.
          if (!req.complete) res.setHeader('Connection', 'close');
          return send(
            res,
            413,
            R.redfishError('GeneralError', `the request body is larger than ${DEFAULT_REDFISH_SERVICE_OPTIONS.bodyLimitBytes} bytes`),
          );
        }
        const name = typeof body?.['UserName'] === 'string' ? body['UserName'] : undefined;
        const password = typeof body?.['Password'] === 'string' ? body['Password'] : undefined;
        if (name === undefined || password === undefined) {
          return send(res, 400, R.redfishError('PropertyMissing', 'UserName and Password are required'));
        }
        if (!auth.check(name, password)) return unauthorized(res, R.redfishError('ResourceAtUriUnauthorized', 'invalid credentials'));
        const s = auth.create(name);
        if (s?.evicted !== undefined) log.info({ user: s.evicted.user, session: s.evicted.id, by: name }, 'session closed: limit reached');
        if (s === undefined) {
          const max = options.maxSessions ?? DEFAULT_REDFISH_SERVICE_OPTIONS.maxSessions;
          log.warn({ user: name, maxSessions: max }, 'session refused: limit reached');
          return send(
            res,
            503,
            R.redfishError('SessionLimitExceeded', `${max} sessions are open: delete one (DELETE its Location) or wait for one to expire`),
          );
        }
        log.info({ user: name, session: s.id }, 'session opened');
        res.setHeader('X-Auth-Token', s.token);
        res.setHeader('Location', `${base}/Sessions/${s.id}`);
        return send(res, 201, sessionBody(s.id, name));
      }
      return get(
        method,
        res,
        () => {
          const list = auth === undefined || user === undefined ? [] : auth.list(user);
          return {
            '@odata.type': '#SessionCollection.SessionCollection',
            '@odata.id': `${base}/Sessions`,
            Name: 'Session Collection',
            'Members@odata.count': list.length,
            Members: list.map((s) => ({ '@odata.id': `${base}/Sessions/${s.id}` })),
          };
        },
        collectionMethods,
      );
    }
    const id = parts[4] ?? '';
    // Accounts have no roles: a session is visible to its owner only, and another's answers 404 (not 403), so
    // its id cannot be probed.
    const session = parts.length === 5 && user !== undefined ? auth?.get(id, user) : undefined;
    if (session === undefined) return notFound(res, 'no such session');
    if (method === 'DELETE') {
      auth?.delete(id);
      log.info({ user: session.user, session: id }, 'session closed');
      return send(res, 204, undefined);
    }
    return get(method, res, () => sessionBody(session.id, session.user), [...READ_ONLY, 'DELETE']);
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    handler(req, res).catch((err: unknown) => {
      const fields = { err: err instanceof Error ? err.message : String(err), url: req.url };
      // A client that closes its connection mid-request (Node: `aborted`, code ECONNRESET) is not a failure of
      // the service, and anyone, without credentials, can do it at will: not worth an error line.
      if ((err as NodeJS.ErrnoException | undefined)?.code === 'ECONNRESET') {
        log.debug(fields, 'request aborted by the client');
        res.destroy();
        return;
      }
      log.error(fields, 'request failed');
      if (!res.headersSent) send(res, 500, R.redfishError('InternalError', 'internal error'));
      else res.destroy();
    });
  };

  // Responses still being written, per socket: a request Node cannot parse must not be answered into one of them.
  const inFlight = new WeakMap<object, number>();
  const track = (req: IncomingMessage, res: ServerResponse): void => {
    const socket = req.socket;
    inFlight.set(socket, (inFlight.get(socket) ?? 0) + 1);
    res.once('close', () => inFlight.set(socket, (inFlight.get(socket) ?? 1) - 1));
    onRequest(req, res);
  };
  const server: Server =
    options.tls === undefined
      ? createHttpServer(track)
      : createHttpsServer(
          {
            cert: options.tls.cert,
            key: options.tls.key,
            ...(options.tls.handshakeTimeoutMs === undefined ? {} : { handshakeTimeout: options.tls.handshakeTimeoutMs }),
          },
          track,
        );
  // The HTTPS server forwards its TLS errors here too (handshake timeout, not TLS at all), for sockets that never
  // completed a handshake.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => answerClientError(err, socket, (inFlight.get(socket) ?? 0) > 0));
  let baseUrl: string | undefined;

  return {
    get url(): string {
      if (baseUrl === undefined) throw new Error('the Redfish service is not listening yet');
      return baseUrl;
    },
    channels: channelMap,
    async listen(): Promise<string> {
      const host = options.host ?? DEFAULT_REDFISH_SERVICE_OPTIONS.host;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(options.port ?? DEFAULT_REDFISH_SERVICE_OPTIONS.port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      const addr = server.address() as AddressInfo;
      const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
      baseUrl = `${options.tls === undefined ? 'http' : 'https'}://${shownHost === '0.0.0.0' ? '127.0.0.1' : shownHost}:${addr.port}`;
      if (options.backgroundPolling !== false) {
        for (const c of channelMap.values()) c.start();
        if (entries.some((e) => e.sumWindow !== undefined)) {
          sumTimer = setInterval(recordSums, options.pollIntervalMs ?? DEFAULT_METER_CHANNEL_OPTIONS.pollIntervalMs);
          sumTimer.unref();
        }
      }
      log.info({ url: baseUrl, meters: channelMap.size, auth: auth !== undefined }, 'Redfish service listening');
      return baseUrl;
    },
    async close(): Promise<void> {
      if (sumTimer !== undefined) clearInterval(sumTimer);
      await new Promise<void>((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await Promise.all([...channelMap.values()].map((c) => c.stop()));
    },
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Methods of a read-only resource. */
const READ_ONLY: readonly string[] = ['GET', 'HEAD'];

/**
 * Headers of every answer. DSP0266 "Response headers" requires `Cache-Control`: readings change at every poll and
 * a login answer carries a token, so nothing is stored.
 */
function commonHeaders(res: ServerResponse): void {
  res.setHeader('OData-Version', '4.0');
  res.setHeader('Cache-Control', 'no-store');
  // Same CORS headers as the original yoko2redfish, so browser dashboards keep working.
  res.setHeader('Access-Control-Allow-Origin', '*');
  res.setHeader('Access-Control-Allow-Headers', 'Content-Type,Authorization,X-Auth-Token');
  res.setHeader('Access-Control-Allow-Methods', 'GET,POST,DELETE');
  res.setHeader('Access-Control-Expose-Headers', 'X-Auth-Token,Location');
}

function send(res: ServerResponse, status: number, body: R.Json | undefined): void {
  res.statusCode = status;
  commonHeaders(res);
  if (body === undefined) {
    res.end();
    return;
  }
  const type = body['@odata.type'];
  if (status < 300 && typeof type === 'string') res.setHeader('Link', `<${R.jsonSchemaUri(type)}>; rel=describedby`);
  const text = JSON.stringify(body);
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(res.req.method === 'HEAD' ? undefined : text);
}

function sendXml(res: ServerResponse, text: string): void {
  res.statusCode = 200;
  commonHeaders(res);
  res.setHeader('Content-Type', 'application/xml; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(res.req.method === 'HEAD' ? undefined : text);
}

/**
 * Answers a GET or HEAD of a resource that allows `allow` (DSP0266: `Allow` on every GET and HEAD), and 405 to
 * any other method the caller did not handle.
 */
function get(method: string, res: ServerResponse, body: () => R.Json, allow: readonly string[] = READ_ONLY): void {
  if (method !== 'GET' && method !== 'HEAD') return notAllowed(res, allow);
  res.setHeader('Allow', allow.join(', '));
  send(res, 200, body());
}

function notFound(res: ServerResponse, message: string): void {
  send(res, 404, R.redfishError('ResourceMissingAtURI', message));
}

/** 405, with the methods the resource does allow. */
function notAllowed(res: ServerResponse, allow: readonly string[] = READ_ONLY, message = 'method not allowed'): void {
  res.setHeader('Allow', allow.join(', '));
  send(res, 405, R.redfishError('OperationNotAllowed', message));
}

/** 401: RFC 7235 requires the challenge on every 401, a refused login included. */
function unauthorized(res: ServerResponse, body: R.Json): void {
  res.setHeader('WWW-Authenticate', 'Basic realm="yocto-redfish"');
  send(res, 401, body);
}

/** What Node's own answer to a request it cannot parse would be, by parser error (any other `HPE_` code: 400). */
const CLIENT_ERROR_STATUS: Readonly<Record<string, readonly [number, string]>> = {
  // DSP0266 "Status codes": 501 is the answer to a method the service does not recognise; Node's parser refuses
  // any method it does not know before the request reaches the handler.
  HPE_INVALID_METHOD: [501, 'Not Implemented'],
  HPE_HEADER_OVERFLOW: [431, 'Request Header Fields Too Large'],
  HPE_CHUNK_EXTENSIONS_OVERFLOW: [413, 'Payload Too Large'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'Request Timeout'],
};

/**
 * Answers a request Node could not parse, as Node would (a listener replaces its default answer) but with a
 * Redfish error body, then closes the connection, at the latest `clientErrorLingerMs` later. Anything
 * else is closed at once: an error of the connection itself (ECONNRESET), a TLS error (the socket never finished
 * its handshake, so an answer written to it is never sent and the connection would stay open), or a connection
 * with a response still under way (nothing is written into it).
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex, busy: boolean): void {
  const code = err.code ?? '';
  const answer = CLIENT_ERROR_STATUS[code] ?? (code.startsWith('HPE_') ? ([400, 'Bad Request'] as const) : undefined);
  if (answer === undefined || !socket.writable || busy) {
    socket.destroy();
    return;
  }
  const [status, reason] = answer;
  const text = JSON.stringify(R.redfishError('GeneralError', `the request could not be handled: ${reason.toLowerCase()}`));
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\n` +
      `OData-Version: 4.0\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n${text}`,
  );
  const linger = setTimeout(() => socket.destroy(), DEFAULT_REDFISH_SERVICE_OPTIONS.clientErrorLingerMs);
  linger.unref();
  socket.once('close', () => clearTimeout(linger));
}

/** What {@link readJson} answers for a body over its limit. */
const TOO_LARGE = Symbol('body too large');

/**
 * Reads a JSON object body of at most `limit` bytes. A larger body is read to its end and discarded as long as
 * it stays under `drainLimit`, so the 413 answer reaches the client and the kept-alive connection stays usable;
 * beyond that, reading stops (the caller closes the connection). Undefined for anything but a JSON object.
 */
async function readJson(
  req: IncomingMessage,
  limit: number,
  drainLimit: number,
): Promise<Record<string, unknown> | undefined | typeof TOO_LARGE> {
  // Events rather than `for await`: leaving a for-await loop early destroys the request, and with it the socket,
  // so the client would get a connection reset instead of the 413.
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (value: Record<string, unknown> | undefined | typeof TOO_LARGE): void => {
      if (done) return;
      done = true;
      req.off('data', onData);
      req.off('end', onEnd);
      resolve(value);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > drainLimit) {
        req.pause();
        finish(TOO_LARGE);
      } else if (size <= limit) chunks.push(chunk);
    };
    const onEnd = (): void => {
      if (size > limit) return finish(TOO_LARGE);
      try {
        const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        finish(typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined);
      } catch {
        finish(undefined);
      }
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', (err) => {
      if (done) return;
      done = true;
      reject(err);
    });
  });
}
