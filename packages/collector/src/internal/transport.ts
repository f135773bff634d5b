import { readFileSync } from 'node:fs';
import { Agent, Pool, ProxyAgent, request, type Dispatcher } from 'undici';
import { ConfigError, parseRetryAfterMs, splitUrlCredentials, type RecorderApiServerSettings } from '@energyrecorder/core';
import { basicAuthorization } from '@energyrecorder/core/http-auth';
import { errorText } from './logging.js';

/** Connect timeout towards the API, fixed as in the original collector. */
export const API_CONNECT_TIMEOUT_MS = 10_000;

/**
 * 4xx answers that refuse the batch itself: the API read it and will never accept it as it is (400, 409, 422), or
 * it is larger than the API or a proxy takes (413: the same setting would take smaller batches, so holding this
 * one would block every later batch). Every other 4xx (401, 403, 404, 405, 407, 415, 431…) is about the request's
 * route, credentials or framing: a setting that fails every batch alike, so the batch is kept until it is fixed.
 */
export const CONTENT_REFUSAL_STATUSES: ReadonlySet<number> = new Set([400, 409, 413, 422]);

/**
 * The recording API's 404 for a batch that arrives while no scenario runs and `ALWAYS_RECORD` is false: the
 * readings are not wanted, the request itself was right (a wrong `base_url` gets the server's route 404).
 */
const NOT_RECORDING = /^Can't find any recording session for recorder /;

/** What became of one POST. */
export type PostOutcome =
  | { kind: 'ok' }
  /**
   * 400, 409, 413 or 422 ({@link CONTENT_REFUSAL_STATUSES}): the batch will never be accepted as it is. Also the
   * API's 404 while no scenario runs and `ALWAYS_RECORD` is false (`notRecording`): not wanted, not an error.
   */
  | { kind: 'rejected'; status: number; message: string; notRecording?: boolean }
  /**
   * 5xx, 408, 429, a network error or a timeout: worth trying again later. Also a 3xx (with its `location`) and
   * any 4xx that is not a content refusal, with `fix`: a setting (`base_url`, credentials, a proxy's limits)
   * needs fixing, and the batch is kept until it is.
   */
  | { kind: 'retry'; status?: number; retryAfterMs?: number; message: string; location?: string; fix?: string };

/** What to change when the API (or a proxy in front of it) refuses every request with `status`. */
export function configFixFor(status: number): string {
  switch (status) {
    case 401:
      return 'check RECORDER_API_SERVER.user and pass (or the credentials in base_url)';
    case 403:
      return 'check the credentials and that the API user has the writer role (or what a proxy in front of the API allows)';
    case 404:
    case 405:
    case 410:
      return 'check RECORDER_API_SERVER.base_url: it is the server root, without /resources';
    case 407:
      return 'the proxy wants credentials: put them in RECORDER_API_SERVER.proxy (http://user:pass@host:port)';
    case 414:
    case 431:
      return 'the request is larger than the API or a proxy in front of it allows: raise its body or header limit';
    default:
      return 'the API or a proxy in front of it refused the request itself: check RECORDER_API_SERVER.base_url and proxy';
  }
}

/** `url` without its `user:pass@` part (and trailing slash), for logs. Unchanged when it has none. */
export function urlForLog(url: string): string {
  return splitBaseUrl(url).url;
}

/**
 * Splits `base_url` into the URL requests go to (without userinfo, no trailing slash) and the credentials it
 * carried, percent-decoded: `http://user:p%40ss@host` gives user `user` and password `p@ss`.
 */
export function splitBaseUrl(baseUrl: string): { url: string; user?: string; pass?: string } {
  const split = splitUrlCredentials(baseUrl);
  if (split.user === undefined && split.pass === undefined) return { url: baseUrl };
  return { url: split.url.replace(/\/+$/, ''), user: split.user ?? '', pass: split.pass ?? '' };
}

/** Sends measurement bodies to the recording API. */
export interface ApiTransport {
  /** POSTs one JSON body for `equipmentId`. Never throws: every failure is an outcome. */
  post(equipmentId: string, body: string, signal: AbortSignal): Promise<PostOutcome>;
  close(): Promise<void>;
}

/** Builds the undici transport described by `RECORDER_API_SERVER`. */
export function createApiTransport(settings: RecorderApiServerSettings): ApiTransport {
  let ca: string | undefined;
  if (settings.ca_file !== undefined) {
    try {
      ca = readFileSync(settings.ca_file, 'utf8');
    } catch (err) {
      throw new ConfigError([{ path: 'RECORDER_API_SERVER.ca_file', message: `cannot read: ${errorText(err)}` }], {
        cause: err,
      });
    }
  }
  const tls = { rejectUnauthorized: settings.verify_cert, ...(ca === undefined ? {} : { ca }) };
  const timeoutMs = Math.round(settings.timeout * 1000);
  const common = { headersTimeout: timeoutMs, bodyTimeout: timeoutMs, keepAliveTimeout: 30_000 };
  const dispatcher: Dispatcher =
    settings.proxy === undefined
      ? new Agent({ ...common, connect: { ...tls, timeout: API_CONNECT_TIMEOUT_MS } })
      : new ProxyAgent({
          ...common,
          uri: settings.proxy,
          requestTls: { ...tls, timeout: API_CONNECT_TIMEOUT_MS },
          proxyTls: { timeout: API_CONNECT_TIMEOUT_MS },
          // An http base_url goes to the proxy as an absolute-form request (`POST http://api:8080/... HTTP/1.1`), as
          // the original's requests sent it: a CONNECT tunnel to a port other than 443 is what squid's default
          // configuration refuses. An https one is still tunnelled with CONNECT.
          proxyTunnel: false,
          // undici builds the pool to the proxy for those requests with this factory and only the connector: the
          // read timeouts are added here, or they would be undici's 300 s defaults.
          factory: (origin, options) => new Pool(origin, { ...common, ...options }),
        });
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  // undici ignores credentials in the URL: they are taken out and sent as Basic auth, as requests did when the
  // original was given no user/pass. user and pass, when both are set, win over them.
  const split = splitBaseUrl(settings.base_url);
  const base = split.url;
  // As the original: Basic auth only when both user and password are non-empty.
  if (settings.user !== undefined && settings.pass !== undefined) {
    headers['authorization'] = basicAuthorization(settings.user, settings.pass);
  } else if (split.user !== undefined && (split.user !== '' || split.pass !== '')) {
    headers['authorization'] = basicAuthorization(split.user, split.pass ?? '');
  }

  return {
    async post(equipmentId: string, body: string, signal: AbortSignal): Promise<PostOutcome> {
      const url = `${base}/resources/equipments/${encodeURIComponent(equipmentId)}/measurements`;
      try {
        const res = await request(url, { method: 'POST', headers, body, dispatcher, signal });
        const text = await res.body.text();
        if (res.statusCode >= 200 && res.statusCode < 300) return { kind: 'ok' };
        if (res.statusCode >= 300 && res.statusCode < 400) {
          // undici does not follow redirects here, and should not: a POST redirected (301/302) may be replayed
          // as a GET, and a proxy's login page is no recording API. Keep the batch; the pusher says what to fix.
          const header = res.headers['location'];
          const location = (Array.isArray(header) ? header[0] : header) ?? '(no Location header)';
          return {
            kind: 'retry',
            status: res.statusCode,
            location,
            message: `redirected to ${location}: set RECORDER_API_SERVER.base_url to the final URL`,
            fix: 'set RECORDER_API_SERVER.base_url to the final URL',
          };
        }
        const message = apiMessage(text);
        // 408: the server gave up waiting for the request (slow link, busy proxy); the batch itself is fine.
        if (res.statusCode === 408 || res.statusCode === 429 || res.statusCode >= 500) {
          const header = res.headers['retry-after'];
          const retryAfterMs = parseRetryAfterMs(Array.isArray(header) ? header[0] : header);
          return {
            kind: 'retry',
            status: res.statusCode,
            message,
            ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
          };
        }
        if (CONTENT_REFUSAL_STATUSES.has(res.statusCode)) return { kind: 'rejected', status: res.statusCode, message };
        if (res.statusCode === 404 && NOT_RECORDING.test(message)) return { kind: 'rejected', status: 404, message, notRecording: true };
        // Route, credentials, size or framing: every batch would fail alike. Keep them until the setting is fixed.
        return { kind: 'retry', status: res.statusCode, message, fix: configFixFor(res.statusCode) };
      } catch (err) {
        return { kind: 'retry', message: errorText(err) };
      }
    },
    close: () => dispatcher.close(),
  };
}

/** The API's own explanation: `message` (+ `errors`) of a flask-restx style body, else the raw text, cut short. */
function apiMessage(text: string): string {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null) {
      const obj = parsed as Record<string, unknown>;
      const msg = typeof obj['message'] === 'string' ? obj['message'] : '';
      const errors = obj['errors'] === undefined ? '' : ` ${JSON.stringify(obj['errors'])}`;
      if (msg !== '' || errors !== '') return `${msg}${errors}`.trim().slice(0, 500);
    }
  } catch {
    // not JSON: fall through to the raw text
  }
  return text.slice(0, 500);
}
