import { request } from 'node:http';

/** A raw HTTP exchange, as the original clients do it. */
export interface RawResponse {
  status: number;
  statusMessage: string;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: unknown;
}

/** Sends one HTTP request with exactly the given headers and body. */
export function raw(
  base: string,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const u = new URL(path, base);
    const req = request(
      { host: u.hostname, port: u.port, method, path: `${u.pathname}${u.search}`, headers: options.headers ?? {}, timeout: 10_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, statusMessage: res.statusMessage ?? '', headers: res.headers, text, json });
        });
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

/** JSON POST/PUT/DELETE with `content-type: application/json`. */
export function sendJson(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  return raw(base, method, path, {
    headers: { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

/**
 * A plausible epoch-ns timestamp `offsetS` seconds from now, in whole ms but never a whole second: the API moves a
 * whole-second reading by up to 1 ms (the original collectors' stamps, see timestamps.ts), which tests comparing
 * stored times exactly must not meet one time in a thousand.
 */
export function nsFromNow(offsetS = 0): number {
  const ns = (Date.now() + offsetS * 1000) * 1e6;
  return ns % 1e9 === 0 ? ns + 1e6 : ns;
}

/** Lets a test settle a promise when it chooses. */
export function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => undefined;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * True when `p` settled before the event loop went round a few times; with `waitMs`, also after that many ms
 * between two such rounds (for work on libuv's thread pool, such as a disk sync).
 */
export async function settledSoon(p: Promise<unknown>, waitMs = 0): Promise<boolean> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  if (waitMs > 0) {
    await new Promise((r) => setTimeout(r, waitMs));
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  }
  return done;
}
