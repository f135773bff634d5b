import { brotliDecompressSync, gunzipSync, inflateRawSync, inflateSync } from 'node:zlib';
import { request, type Dispatcher } from 'undici';

/** `code` of a transport error meaning the device answered, but with a body we cannot use (too large, bad encoding). */
export const BAD_RESPONSE = 'ERR_BAD_RESPONSE';

/** One request of {@link roundTrip}. */
export interface RoundTripRequest {
  url: URL;
  method: string;
  headers: Record<string, string>;
  data: string | undefined;
  /** The shared agent of the device's TLS profile; undici's global one when undefined. */
  dispatcher: Dispatcher | undefined;
  signal: AbortSignal;
  /** Limit of the body, compressed and decoded. */
  maxBodyBytes: number;
}

/** A whole answer: status, lower-case headers (repeated ones as arrays), and the body decoded to text. */
export interface RoundTripResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

class BadResponse extends Error {
  readonly code = BAD_RESPONSE;
}

/** Sent unless the caller gave its own: some BMC web servers refuse a request without a User-Agent. */
const USER_AGENT = 'energyrecorder-adapters';
const ACCEPT_ENCODING = 'gzip, deflate, br';

type Method = Dispatcher.HttpMethod;

/**
 * One HTTP exchange through undici with a shared agent: any status is returned, the body is read whole (bounded)
 * and decompressed, and the signal aborts it at any stage. A thin layer on purpose: the client above polls
 * thousands of devices a second, and both axios (config merging, header objects, interceptor promise chains) and
 * Node's `http.request` (a `ClientRequest` and a readable `IncomingMessage` per exchange) made two to three times
 * the short-lived garbage of undici, which V8 promotes when a thousand requests are in flight at once.
 */
export async function roundTrip(req: RoundTripRequest): Promise<RoundTripResponse> {
  const res = await request(req.url, {
    method: req.method as Method,
    headers: withDefaults(req.headers),
    ...(req.data === undefined ? {} : { body: req.data }),
    ...(req.dispatcher === undefined ? {} : { dispatcher: req.dispatcher }),
    signal: req.signal,
  });
  const raw = await readBody(res.body, req.maxBodyBytes);
  const encoding = res.headers['content-encoding'];
  let body: Buffer;
  try {
    body = decode(raw, Array.isArray(encoding) ? encoding.join(',') : encoding, req.maxBodyBytes);
  } catch (err) {
    throw new BadResponse(`cannot decode the answer: ${String(err)}`);
  }
  return { status: res.statusCode, headers: res.headers, text: toText(body) };
}

function readBody(body: Dispatcher.ResponseData['body'], maxBytes: number): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    body.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        body.destroy();
        reject(new BadResponse(`answer larger than ${maxBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    body.once('error', reject);
    body.once('end', () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size)));
  });
}

function withDefaults(given: Record<string, string>): Record<string, string> {
  let agent = false;
  let encoding = false;
  for (const key of Object.keys(given)) {
    const k = key.toLowerCase();
    if (k === 'user-agent') agent = true;
    else if (k === 'accept-encoding') encoding = true;
  }
  if (agent && encoding) return given;
  const headers = { ...given };
  if (!agent) headers['user-agent'] = USER_AGENT;
  if (!encoding) headers['accept-encoding'] = ACCEPT_ENCODING;
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
