import { readFileSync } from 'node:fs';
import { Agent, ProxyAgent, request, type Dispatcher } from 'undici';
import { ConfigError, parseRetryAfterMs, type RecorderApiServerSettings } from '@energyrecorder/core';
import { errorText } from './logging.js';

/** Connect timeout towards the API, fixed as in the original collector. */
export const API_CONNECT_TIMEOUT_MS = 10_000;

/** What became of one POST. */
export type PostOutcome =
  | { kind: 'ok' }
  /** A 4xx other than 408 and 429: the batch will never be accepted as it is. */
  | { kind: 'rejected'; status: number; message: string }
  /**
   * 5xx, 408, 429, a network error or a timeout: worth trying again later. Also a 3xx, with its `location`:
   * `base_url` needs fixing, and the batch is kept until it is.
   */
  | { kind: 'retry'; status?: number; retryAfterMs?: number; message: string; location?: string };

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
      : new ProxyAgent({ ...common, uri: settings.proxy, requestTls: { ...tls, timeout: API_CONNECT_TIMEOUT_MS } });
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  // As the original: Basic auth only when both user and password are non-empty.
  if (settings.user !== undefined && settings.pass !== undefined) {
    headers['authorization'] = `Basic ${Buffer.from(`${settings.user}:${settings.pass}`).toString('base64')}`;
  }
  const base = settings.base_url;

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
        return { kind: 'rejected', status: res.statusCode, message };
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
