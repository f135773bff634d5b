import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import {
  AdapterError,
  HttpStatusError,
  TimeoutError,
  noopLogger,
  parseRetryAfterMs,
  type Logger,
} from '@energyrecorder/core';
import { basicAuthorization, buildDigestAuthorization, offersBasic, parseDigestChallenge, type DigestChallenge } from '@energyrecorder/core/http-auth';
import { DeviceErrors, errorMessage } from './device-support.js';
import { sharedAgents, type AgentLease } from './http-agents.js';
import { roundTrip, BAD_RESPONSE, type RoundTripResponse } from './http-transport.js';

/** How credentials are sent. `auto` answers whatever the device challenges with (Basic or Digest). */
export type HttpAuthScheme = 'basic' | 'digest' | 'auto';

/** Options of {@link HttpClient}. */
export interface HttpClientOptions {
  /** Adapter type, for errors and logs. */
  adapterType: string;
  /** Device address without credentials, for errors and logs (e.g. `bmc1.lab:8443`). */
  target: string;
  /** `scheme://host[:port]` the relative paths are resolved against. */
  origin: string;
  /** Per-request deadline in ms, covering connect, headers and body. */
  timeoutMs: number;
  /** Verify the device's TLS certificate (default true). */
  verifyCert?: boolean;
  /** PEM file of a CA to trust in addition to the system ones; read on the first request. */
  caFile?: string;
  /** Credentials; never logged. */
  credentials?: { user: string; pass: string } | undefined;
  /** Default `basic`. */
  authScheme?: HttpAuthScheme;
  logger?: Logger;
  /** Bodies larger than this are refused (default 8 MiB): a BMC never needs more, a broken one might send more. */
  maxBodyBytes?: number;
}

/** One request. `path` is absolute (`/redfish/v1`) or a full URL on the same device. */
export interface HttpRequest {
  method?: 'GET' | 'POST' | 'DELETE' | 'PATCH' | 'PUT';
  path: string;
  headers?: Record<string, string>;
  /** JSON body (objects) or a raw string body. */
  body?: unknown;
  /** URL-encoded form body; takes precedence over `body`. */
  form?: Record<string, string>;
  signal?: AbortSignal | undefined;
  /** Overrides the client's timeout for this request. */
  timeoutMs?: number;
  /** Statuses returned to the caller instead of thrown (2xx always are). */
  acceptStatus?: readonly number[];
  /** Send the client's credentials (default true). */
  withAuth?: boolean;
}

/** A response with its body as text. Header names are lower-case. */
export interface HttpResponse {
  status: number;
  headers: Readonly<Record<string, string | undefined>>;
  /** `set-cookie` values, one per header line. */
  setCookies: readonly string[];
  text: string;
  /** `METHOD path`, for messages. */
  what: string;
}

/** Codes of errors the HTTP layer raises, all as `AdapterError.code`. */
export const HTTP_ERROR_CODES = Object.freeze({
  unreachable: 'ER_ADAPTER_UNREACHABLE',
  timeout: 'ER_ADAPTER_TIMEOUT',
  aborted: 'ER_ADAPTER_ABORTED',
  tls: 'ER_ADAPTER_TLS',
  http: 'ER_ADAPTER_HTTP',
  auth: 'ER_ADAPTER_AUTH',
  payload: 'ER_ADAPTER_PAYLOAD',
  config: 'ER_ADAPTER_CONFIG',
});

const TLS_ERROR_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Network codes meaning "nothing speaks this scheme here", which allow the http/https fallback. */
const SCHEME_MISMATCH_CODES = new Set([
  'ECONNREFUSED',
  'EPROTO',
  'ECONNRESET',
  'ERR_SSL_WRONG_VERSION_NUMBER',
  // undici's "other side closed": a TLS port dropping a plain-text request.
  'UND_ERR_SOCKET',
]);

function errorCode(err: unknown): string | undefined {
  let cur: unknown = err;
  for (let depth = 0; depth < 4 && typeof cur === 'object' && cur !== null; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string' && code !== BAD_RESPONSE) return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

/** True when `err` says the other scheme may work (connection refused or a TLS/plain-text mismatch). */
export function isSchemeMismatch(err: unknown): boolean {
  if (!(err instanceof AdapterError) || err.code !== HTTP_ERROR_CODES.unreachable) return false;
  const code = errorCode(err.cause);
  if (code !== undefined && SCHEME_MISMATCH_CODES.has(code)) return true;
  const msg = err.cause instanceof Error ? err.cause.message : '';
  return /wrong version number|packet length too long|socket hang up/i.test(msg);
}

/**
 * The part of a transport failure worth keeping as an error's `cause`. Socket errors can hold the request (its
 * `Authorization` header, a login body with the password) and the socket; any logger that serialises causes
 * would print them, so only the name, message and code survive.
 */
export class TransportFailure extends Error {
  readonly code: string | undefined;
  /** True when the device answered something unusable (too large, bad compression) rather than failing to. */
  readonly badResponse: boolean;

  constructor(err: unknown) {
    super(errorMessage(err));
    this.name = err instanceof Error && err.name !== 'Error' ? err.name : 'TransportFailure';
    this.code = errorCode(err);
    const own = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
    this.badResponse = own === BAD_RESPONSE;
  }
}

function cut(text: string, max = 200): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

/**
 * The one HTTP client of the adapters: keep-alive agents, a hard per-request deadline joined with the caller's
 * `AbortSignal`, TLS verification on unless the device opts out, Basic or Digest credentials that never reach a
 * log line, and every failure turned into an `AdapterError` carrying the adapter type and target.
 */
export class HttpClient {
  /** `scheme://host[:port]`; mutable so http/https detection can switch it. */
  origin: string;
  private readonly opts: HttpClientOptions;
  private readonly logger: Logger;
  private readonly errors: DeviceErrors;
  private httpAgent: AgentLease | undefined;
  private httpsAgent: AgentLease | undefined;
  private readonly maxBodyBytes: number;
  private digest: { challenge: DigestChallenge; nc: number } | undefined;
  private closed = false;
  /** Work that must end before the client is given up: web UI sessions between their login and logout. */
  private readonly pending = new Set<Promise<unknown>>();

  constructor(options: HttpClientOptions) {
    this.opts = { ...options };
    this.origin = options.origin.replace(/\/+$/, '');
    this.logger = options.logger ?? noopLogger;
    this.errors = new DeviceErrors(options.adapterType, options.target);
    this.maxBodyBytes = options.maxBodyBytes ?? 8 * 1024 * 1024;
  }

  /** Adapter type given at construction. */
  get adapterType(): string {
    return this.opts.adapterType;
  }

  /** Target given at construction. */
  get target(): string {
    return this.opts.target;
  }

  /** Default per-request deadline in ms. */
  get timeoutMs(): number {
    return this.opts.timeoutMs;
  }

  /**
   * Runs `work` and keeps it in view of {@link drain} until it settles, so that whoever closes the client can
   * first let it finish (a web UI session's logout, above all).
   */
  track<T>(work: () => Promise<T>): Promise<T> {
    const running = work();
    const settled = running.then(
      () => undefined,
      () => undefined,
    );
    this.pending.add(settled);
    void settled.then(() => this.pending.delete(settled));
    return running;
  }

  /** Resolves once no {@link track}ed work is left, or after `maxMs`, whichever comes first. Never rejects. */
  async drain(maxMs: number): Promise<void> {
    const deadline = Date.now() + maxMs;
    while (this.pending.size > 0) {
      const left = deadline - Date.now();
      if (left <= 0) return;
      let timer: NodeJS.Timeout | undefined;
      const timeUp = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, left);
      });
      await Promise.race([Promise.all([...this.pending]), timeUp]);
      clearTimeout(timer);
    }
  }

  /** Builds an `AdapterError` for this device. */
  error(message: string, code: string, options: { cause?: unknown; retryable?: boolean } = {}): AdapterError {
    return this.errors.error(message, { code, ...options });
  }

  private useHttpAgent(): void {
    if (this.httpAgent !== undefined) return;
    this.httpAgent = sharedAgents.http();
  }

  private async useHttpsAgent(): Promise<void> {
    if (this.httpsAgent !== undefined) return;
    let ca: Buffer | undefined;
    if (this.opts.caFile !== undefined) {
      try {
        ca = await readFile(this.opts.caFile);
      } catch (err) {
        throw this.error(`cannot read ca_file ${this.opts.caFile}`, HTTP_ERROR_CODES.config, {
          cause: err,
          retryable: false,
        });
      }
    }
    // Closed while the CA file was read: taking a lease now would never be released.
    if (this.closed || this.httpsAgent !== undefined) return;
    this.httpsAgent = sharedAgents.https({ verifyCert: this.opts.verifyCert ?? true, ca });
  }

  private authorization(method: string, url: URL): string | undefined {
    const cred = this.opts.credentials;
    if (cred === undefined) return undefined;
    const scheme = this.opts.authScheme ?? 'basic';
    if (this.digest !== undefined) {
      this.digest.nc += 1;
      return buildDigestAuthorization({
        challenge: this.digest.challenge,
        user: cred.user,
        pass: cred.pass,
        method,
        uri: url.pathname + url.search,
        nc: this.digest.nc,
        cnonce: randomBytes(8).toString('hex'),
      });
    }
    if (scheme === 'basic') return basicAuthorization(cred.user, cred.pass);
    return undefined;
  }

  /** Resolves a path or same-device URL against the current origin. */
  resolve(path: string): URL {
    return /^https?:\/\//i.test(path) ? new URL(path) : new URL(path.startsWith('/') ? path : `/${path}`, this.origin);
  }

  /**
   * Sends a request. Returns 2xx responses and those in `acceptStatus`; throws an `AdapterError` for anything
   * else (the HTTP status as an `HttpStatusError` cause, `Retry-After` parsed).
   */
  async request(req: HttpRequest): Promise<HttpResponse> {
    let current = req;
    for (let hop = 0; ; hop++) {
      const res = await this.exchange(current);
      const location = REDIRECT_STATUSES.has(res.status) ? res.headers['location'] : undefined;
      if (location === undefined || location === '' || (req.acceptStatus ?? []).includes(res.status)) return res;
      if (hop >= MAX_REDIRECTS) throw this.statusError(res);
      current = this.redirected(current, res, location);
    }
  }

  /**
   * The request a redirect asks for. 303 (and 301/302 after a POST, as browsers do) turn into a GET without
   * body. A redirect to another origin (scheme, host or port) is never followed: the request may carry a login
   * form with the password, a CSRF token or a session cookie, and even an `https` → `http` hop on the same host
   * would send them in clear text. It fails naming where it led, so `host` can be corrected.
   */
  private redirected(req: HttpRequest, res: HttpResponse, location: string): HttpRequest {
    const from = this.resolve(req.path);
    let to: URL;
    try {
      to = new URL(location, from);
    } catch {
      throw this.error(`${res.what}: HTTP ${res.status} with an unusable Location header`, HTTP_ERROR_CODES.http, {
        cause: this.statusCause(res),
        retryable: false,
      });
    }
    if (to.origin !== from.origin) {
      throw this.error(
        `${res.what}: HTTP ${res.status} redirects to another origin (${to.origin}); not followed, so that nothing ` +
          `of the request (credentials, login form, session cookie) goes there: if the device answers there, set host to it`,
        HTTP_ERROR_CODES.http,
        { cause: this.statusCause(res), retryable: false },
      );
    }
    const toGet = res.status === 303 || ((res.status === 301 || res.status === 302) && req.method === 'POST');
    const next: HttpRequest = { ...req, path: to.toString() };
    if (toGet) {
      next.method = 'GET';
      delete next.body;
      delete next.form;
    }
    return next;
  }

  private async exchange(req: HttpRequest): Promise<HttpResponse> {
    const method = req.method ?? 'GET';
    const url = this.resolve(req.path);
    const what = `${method} ${url.pathname}${url.search}`;
    let res = await this.send(method, url, req, what);
    const cred = this.opts.credentials;
    if (res.status === 401 && cred !== undefined && (req.withAuth ?? true)) {
      // Answer a challenge once: first contact in `auto`/`digest` mode, or a Digest nonce gone stale.
      const challengeHeader = res.headers['www-authenticate'] ?? '';
      const challenge = parseDigestChallenge(challengeHeader);
      const scheme = this.opts.authScheme ?? 'basic';
      if (challenge !== undefined && scheme !== 'basic') {
        const retrying = this.digest === undefined || challenge.stale || challenge.nonce !== this.digest.challenge.nonce;
        this.digest = { challenge, nc: 0 };
        if (retrying) res = await this.send(method, url, req, what);
      } else if (scheme === 'auto' && offersBasic(challengeHeader) && this.digest === undefined) {
        this.opts.authScheme = 'basic';
        res = await this.send(method, url, req, what);
      }
    }
    if ((res.status >= 200 && res.status < 300) || (req.acceptStatus ?? []).includes(res.status)) return res;
    if (REDIRECT_STATUSES.has(res.status) && res.headers['location'] !== undefined) return res;
    throw this.statusError(res);
  }

  /** Turns a non-accepted response into the `AdapterError` {@link request} throws. */
  statusError(res: HttpResponse): AdapterError {
    const statusError = this.statusCause(res);
    const retryAfterMs = statusError.retryAfterMs;
    const auth = res.status === 401 || res.status === 403;
    const after = retryAfterMs === undefined ? '' : ` (retry after ${retryAfterMs} ms)`;
    return this.error(
      `${res.what}: HTTP ${res.status}${auth ? ' (credentials refused)' : ''}${after}`,
      auth ? HTTP_ERROR_CODES.auth : HTTP_ERROR_CODES.http,
      { cause: statusError, retryable: statusError.retryable },
    );
  }

  private statusCause(res: HttpResponse): HttpStatusError {
    return new HttpStatusError(`${res.what}: HTTP ${res.status}`, {
      status: res.status,
      body: cut(res.text, 500),
      retryAfterMs: parseRetryAfterMs(res.headers['retry-after']),
    });
  }

  private async send(method: string, url: URL, req: HttpRequest, what: string): Promise<HttpResponse> {
    if (this.closed) throw this.error(`${what}: client closed`, HTTP_ERROR_CODES.aborted, { retryable: false });
    const headers: Record<string, string> = { accept: 'application/json, */*;q=0.5', ...req.headers };
    if (req.withAuth ?? true) {
      const authz = this.authorization(method, url);
      if (authz !== undefined) headers['authorization'] = authz;
    }
    let data: string | undefined;
    if (req.form !== undefined) {
      data = new URLSearchParams(req.form).toString();
      headers['content-type'] ??= 'application/x-www-form-urlencoded';
    } else if (typeof req.body === 'string') {
      data = req.body;
    } else if (req.body !== undefined) {
      data = JSON.stringify(req.body);
      headers['content-type'] ??= 'application/json';
    }
    const timeoutMs = req.timeoutMs ?? this.opts.timeoutMs;
    let lease: AgentLease | undefined;
    if (url.protocol === 'https:') {
      await this.useHttpsAgent();
      if (this.closed) throw this.error(`${what}: client closed`, HTTP_ERROR_CODES.aborted, { retryable: false });
      lease = this.httpsAgent;
    } else {
      this.useHttpAgent();
      lease = this.httpAgent;
    }
    // One controller and one cleared timer per request: `AbortSignal.timeout()` + `AbortSignal.any()` cost two
    // signals, weak references and a timer that lives on for the whole timeout after the answer came, which at
    // thousands of requests a second is most of the garbage this client makes.
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new TimeoutError(`${what} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    const outer = req.signal;
    const onOuterAbort = (): void => controller.abort(outer?.reason);
    if (outer !== undefined) {
      if (outer.aborted) controller.abort(outer.reason);
      else outer.addEventListener('abort', onOuterAbort, { once: true });
    }
    let res: RoundTripResponse;
    let leave: (() => void) | undefined;
    try {
      // The deadline covers the wait for a connection slot too, as it covered the agent's queue before.
      leave = await lease?.slot(url.host, controller.signal);
      const dispatcher = lease?.agent;
      res = await roundTrip({ url, method, headers, data, dispatcher, signal: controller.signal, maxBodyBytes: this.maxBodyBytes });
    } catch (raw) {
      const err = new TransportFailure(raw);
      if (timedOut) {
        throw this.error(`${what}: no complete answer within ${timeoutMs} ms`, HTTP_ERROR_CODES.timeout, {
          cause: new TimeoutError(`${what} timed out after ${timeoutMs} ms`, { cause: err }),
        });
      }
      if (req.signal?.aborted === true) {
        throw this.error(`${what}: aborted`, HTTP_ERROR_CODES.aborted, { cause: err });
      }
      const code = err.code;
      if (err.badResponse) {
        throw this.error(`${what}: answer too large or malformed`, HTTP_ERROR_CODES.payload, { cause: err });
      }
      if (code !== undefined && TLS_ERROR_CODES.has(code)) {
        throw this.error(
          `${what}: TLS certificate rejected (${code}); set ca_file, or verify_cert: false for this device`,
          HTTP_ERROR_CODES.tls,
          { cause: err, retryable: false },
        );
      }
      throw this.error(`${what}: ${code ?? err.message}`, HTTP_ERROR_CODES.unreachable, { cause: err });
    } finally {
      leave?.();
      clearTimeout(timer);
      outer?.removeEventListener('abort', onOuterAbort);
    }
    const flat: Record<string, string | undefined> = {};
    let setCookies: string[] = [];
    for (const [k, v] of Object.entries(res.headers)) {
      const key = k.toLowerCase();
      if (key === 'set-cookie') setCookies = Array.isArray(v) ? v.map(String) : [String(v)];
      else if (Array.isArray(v)) flat[key] = v.map(String).join(', ');
      else if (v !== undefined && v !== null) flat[key] = String(v);
    }
    const text = res.text;
    this.logger.trace({ what, status: res.status, bytes: text.length }, 'http response');
    return { status: res.status, headers: flat, setCookies, text, what };
  }

  /** Sends a request and parses its body as JSON, or throws an `ER_ADAPTER_PAYLOAD` error saying why not. */
  async json(req: HttpRequest): Promise<unknown> {
    const res = await this.request(req);
    return this.parseJson(res);
  }

  /** Parses a response body as JSON, or throws an `ER_ADAPTER_PAYLOAD` error. */
  parseJson(res: HttpResponse): unknown {
    if (res.text.trim() === '') throw this.payloadError(`${res.what}: empty body where JSON was expected`);
    try {
      return JSON.parse(res.text) as unknown;
    } catch (err) {
      const reason = errorMessage(err);
      throw this.payloadError(`${res.what}: invalid JSON (${reason}); body starts ${JSON.stringify(cut(res.text, 80))}`, err);
    }
  }

  /** An `ER_ADAPTER_PAYLOAD` error: the device answered, but not with what was expected. */
  payloadError(message: string, cause?: unknown): AdapterError {
    return this.error(message, HTTP_ERROR_CODES.payload, { cause, retryable: true });
  }

  /** Gives back the shared agents (the last client of one closes its sockets). Later requests fail. */
  close(): void {
    this.closed = true;
    this.httpAgent?.release();
    this.httpsAgent?.release();
  }
}

/** `host` as the original wrote it (`name[:port]`, optionally with scheme and a path prefix), split up. */
export interface DeviceAddress {
  /** `http`, `https`, or undefined when the scheme must be detected. */
  scheme: 'http' | 'https' | undefined;
  /** `name[:port]`. */
  hostPort: string;
  /** Path prefix without trailing slash (`''` for none); lets one fake server host many devices. */
  basePath: string;
}

/**
 * The path (and query) of a link read from a device's answer: an absolute `http(s)` URL keeps only its path, so
 * the link is followed on the configured device. Links are data the device (or whatever answers in its place)
 * chose; followed as they are, an `@odata.id` naming another host would receive the Basic credentials or the
 * session token. Undefined for another scheme or a malformed URL.
 */
export function devicePath(link: string): string | undefined {
  if (!/^[a-z][a-z0-9+.-]*:/i.test(link)) return link;
  try {
    const url = new URL(link);
    return url.protocol === 'http:' || url.protocol === 'https:' ? `${url.pathname}${url.search}` : undefined;
  } catch {
    return undefined;
  }
}

/** Parses a device `host` value: `10.0.0.5`, `bmc:8443`, `https://bmc`, `http://127.0.0.1:8000/dev/3`. */
export function parseDeviceAddress(host: string): DeviceAddress {
  const m = /^(https?):\/\/([^/]+)(\/.*)?$/i.exec(host.trim());
  if (m !== null) {
    const scheme = (m[1] ?? '').toLowerCase() === 'https' ? 'https' : 'http';
    return { scheme, hostPort: m[2] ?? '', basePath: (m[3] ?? '').replace(/\/+$/, '') };
  }
  const [hostPort, ...rest] = host.trim().split('/');
  const basePath = rest.length === 0 ? '' : `/${rest.join('/')}`.replace(/\/+$/, '');
  return { scheme: undefined, hostPort: hostPort ?? '', basePath };
}

/** The forms of `host` {@link deviceHostProblem} accepts, for messages and docs. */
export const DEVICE_HOST_FORMS =
  'name, name:port, [IPv6] or [IPv6]:port, optionally as an http:// or https:// URL and with a path prefix ' +
  '(e.g. "10.0.0.5", "bmc1:8443", "[fd00::5]:443", "https://bmc1", "http://127.0.0.1:9000/dev/3")';

const HOST_NAME = /^[A-Za-z0-9_](?:[A-Za-z0-9_.-]*)$/;
const HOST_V6 = /^\[[0-9A-Fa-f:.]+\]$/;

/**
 * Why `host` is not a device address {@link parseDeviceAddress} can use, or undefined when it is one. A typo
 * such as `https:/bmc`, `htps://bmc` or `https//bmc` would otherwise name a host called `https` or `htps`
 * (and send the credentials there), and `bmc:99999` would fail every poll as an unexpected error.
 */
export function deviceHostProblem(host: string): string | undefined {
  const h = host.trim();
  const forms = `host must be ${DEVICE_HOST_FORMS}`;
  let rest = h;
  const url = /^https?:\/\//i.exec(h);
  if (url !== null) rest = h.slice(url[0].length);
  else if (/^[a-z][a-z0-9+.-]*:\//i.test(h) || /^[a-z][a-z0-9+.-]*\/\//i.test(h)) {
    return `${forms}: only http:// and https:// are understood as a scheme, written with "://"`;
  }
  if (/[\s?#\\]/.test(rest)) return `${forms}: no spaces, "?", "#" or "\\"`;
  const slash = rest.indexOf('/');
  const hostPort = slash < 0 ? rest : rest.slice(0, slash);
  const path = slash < 0 ? '' : rest.slice(slash);
  if (path.includes('//')) return `${forms}: the path prefix has an empty segment ("//")`;
  const m = /^(\[[^\]]*\]|[^:[\]]*)(?::([^:]*))?$/.exec(hostPort);
  const name = m?.[1] ?? '';
  if (m === null || !(HOST_NAME.test(name) || HOST_V6.test(name))) {
    return `${forms}: the address part is not a host name, an IPv4 address or a bracketed IPv6 address`;
  }
  const port = m[2];
  if (port !== undefined && !(/^\d{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65535)) {
    return `${forms}: the port must be a number from 1 to 65535`;
  }
  return URL.canParse(`http://${hostPort}`) ? undefined : `${forms}: the address part is not a valid host`;
}

/**
 * Settles http vs https the way the original did (https first, http when nothing answers TLS), but never
 * downgrades after a certificate error: that would hand credentials to whoever refused TLS. Nor when the http
 * answer is a redirect to https: the device itself wants TLS (its https side only failed this once, e.g. a
 * connection reset while its web server restarts), so the detection fails, leaving the origin on https, and is
 * tried again on the next call; nothing with credentials is ever sent over http to such a device.
 */
export async function detectScheme(client: HttpClient, address: DeviceAddress, probePath: string, signal: AbortSignal): Promise<void> {
  if (address.scheme !== undefined) {
    client.origin = `${address.scheme}://${address.hostPort}`;
    return;
  }
  const https = `https://${address.hostPort}`;
  client.origin = https;
  try {
    await client.request({ path: probePath, signal, withAuth: false, acceptStatus: allStatuses });
  } catch (err) {
    if (!isSchemeMismatch(err)) throw err;
    client.origin = `http://${address.hostPort}`;
    let res: HttpResponse;
    try {
      res = await client.request({ path: probePath, signal, withAuth: false, acceptStatus: allStatuses });
    } catch (httpErr) {
      client.origin = https;
      throw httpErr;
    }
    const location = res.status >= 300 && res.status < 400 ? res.headers['location'] : undefined;
    if (location !== undefined && redirectsToHttps(client.resolve(probePath), location)) {
      client.origin = https;
      throw client.error(
        `${res.what}: https failed (${errorMessage(err instanceof AdapterError ? err.cause : err)}) and http redirects to https (HTTP ${res.status} to ${cut(location)}); ` +
          `not falling back to http, so that no credentials go in clear text: https is tried again on the next poll`,
        HTTP_ERROR_CODES.unreachable,
        { cause: err },
      );
    }
  }
}

function redirectsToHttps(from: URL, location: string): boolean {
  try {
    return new URL(location, from).protocol === 'https:';
  } catch {
    // An unusable Location on a redirect: play safe, the device did not say http is fine.
    return true;
  }
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** As many hops as the follow-redirects setting this client used before (`maxRedirects: 3`). */
const MAX_REDIRECTS = 3;

const allStatuses: readonly number[] = Array.from({ length: 500 }, (_, i) => i + 100);
