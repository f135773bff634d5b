import { request as httpRequest, type Agent, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { brotliDecompressSync, gunzipSync, inflateRawSync, inflateSync } from 'node:zlib';

/** `code` of a transport error meaning the device answered, but with a body we cannot use (too large, bad encoding). */
export const BAD_RESPONSE = 'ERR_BAD_RESPONSE';

/** One request of {@link roundTrip}. */
export interface RoundTripRequest {
  url: URL;
  method: string;
  headers: Record<string, string>;
  data: string | undefined;
  agent: Agent | undefined;
  signal: AbortSignal;
  /** Limit of the body, compressed and decoded. */
  maxBodyBytes: number;
}

/** A whole answer: status, Node's lower-case headers, and the body decoded to text. */
export interface RoundTripResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

class BadResponse extends Error {
  readonly code = BAD_RESPONSE;
}

/** Sent unless the caller gave its own: some BMC web servers refuse a request without a User-Agent. */
const USER_AGENT = 'energyrecorder-adapters';
const ACCEPT_ENCODING = 'gzip, deflate, br';

/**
 * One HTTP exchange on Node's `http`/`https` with a shared agent: any status is returned, the body is read whole
 * (bounded) and decompressed, and the signal aborts it at any stage. A thin layer on purpose: the client above
 * polls thousands of devices a second, and a general-purpose HTTP library's per-request machinery (config
 * merging, header objects, interceptor promise chains, stream wrappers) was most of the CPU and of the short-lived
 * garbage that V8 promotes when a thousand requests are in flight at once.
 */
export function roundTrip(req: RoundTripRequest): Promise<RoundTripResponse> {
  return new Promise<RoundTripResponse>((resolve, reject) => {
    const { signal } = req;
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const headers = withDefaults(req.headers, req.data);
    const send = req.url.protocol === 'https:' ? httpsRequest : httpRequest;
    let done = false;
    const finish = (err: unknown, res?: RoundTripResponse): void => {
      if (done) return;
      done = true;
      signal.removeEventListener('abort', onAbort);
      if (res !== undefined) resolve(res);
      else reject(err);
    };
    const outgoing = send(req.url, { method: req.method, headers, ...(req.agent === undefined ? {} : { agent: req.agent }) });
    function onAbort(): void {
      outgoing.destroy();
      finish(signal.reason);
    }
    signal.addEventListener('abort', onAbort, { once: true });
    outgoing.once('error', (err) => finish(err));
    outgoing.once('response', (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > req.maxBodyBytes) {
          outgoing.destroy();
          finish(new BadResponse(`answer larger than ${req.maxBodyBytes} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.once('error', (err) => finish(err));
      res.once('end', () => {
        if (done) return;
        try {
          const raw = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
          const body = decode(raw, res.headers['content-encoding'], req.maxBodyBytes);
          finish(undefined, { status: res.statusCode ?? 0, headers: res.headers, text: toText(body) });
        } catch (err) {
          finish(err instanceof BadResponse ? err : new BadResponse(`cannot decode the answer: ${String(err)}`));
        }
      });
      // An answer cut short ends in 'close' without 'end'.
      res.once('close', () => {
        if (!res.complete) finish(Object.assign(new Error('socket hang up: answer incomplete'), { code: 'ECONNRESET' }));
      });
    });
    outgoing.end(req.data);
  });
}

function withDefaults(given: Record<string, string>, data: string | undefined): Record<string, string> {
  const headers = { ...given };
  let agent = false;
  let encoding = false;
  for (const key of Object.keys(headers)) {
    const k = key.toLowerCase();
    if (k === 'user-agent') agent = true;
    else if (k === 'accept-encoding') encoding = true;
  }
  if (!agent) headers['user-agent'] = USER_AGENT;
  if (!encoding) headers['accept-encoding'] = ACCEPT_ENCODING;
  if (data !== undefined) headers['content-length'] = String(Buffer.byteLength(data, 'utf8'));
  return headers;
}

function decode(body: Buffer, encoding: string | undefined, maxBytes: number): Buffer {
  if (body.length === 0 || encoding === undefined) return body;
  const options = { maxOutputLength: maxBytes };
  switch (encoding.trim().toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return gunzipSync(body, options);
    case 'deflate':
      // "deflate" should be zlib-wrapped (RFC 9110 §8.4.1.2), but some servers send raw deflate.
      try {
        return inflateSync(body, options);
      } catch {
        return inflateRawSync(body, options);
      }
    case 'br':
      return brotliDecompressSync(body, options);
    default:
      return body;
  }
}

/** UTF-8 text without a byte-order mark, which some BMC firmware puts before its JSON. */
function toText(body: Buffer): string {
  const text = body.toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
