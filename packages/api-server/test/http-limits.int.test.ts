import { maxHeaderSize } from 'node:http';
import { connect, type Socket } from 'node:net';
import { createApiServer, type ApiServer } from '../src/index.js';
import { raw, sendJson } from './helpers.js';

// Findings of a security audit of the HTTP layer (tmp scripts amp.mjs, slow.mjs, hold.mjs, hostile.mjs), each
// replayed against a real server on loopback.

const MEASUREMENTS = '/resources/equipments/eq1/measurements';
const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

/** What a raw connection saw: the bytes it got and when (ms after connecting) the server closed it, if it did. */
interface Exchange {
  text: string;
  closedAfterMs: number | undefined;
}

/**
 * Connects, writes `head` (request line and headers), then one more body byte every `dripMs` as a slow client
 * does, until the server closes the connection or `waitMs` passed.
 */
function slowRequest(base: string, head: string, opts: { dripMs?: number; waitMs: number }): Promise<Exchange> {
  const u = new URL(base);
  return new Promise((resolve) => {
    const t0 = Date.now();
    const chunks: Buffer[] = [];
    let drip: NodeJS.Timeout | undefined;
    const socket: Socket = connect(Number(u.port), u.hostname, () => {
      socket.write(head);
      if (opts.dripMs !== undefined) drip = setInterval(() => socket.writable && socket.write(' '), opts.dripMs);
    });
    const finish = (closedAfterMs: number | undefined): void => {
      clearInterval(drip);
      clearTimeout(deadline);
      socket.destroy();
      resolve({ text: Buffer.concat(chunks).toString('latin1'), closedAfterMs });
    };
    const deadline = setTimeout(() => finish(undefined), opts.waitMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => undefined);
    socket.on('close', () => finish(Date.now() - t0));
  });
}

/** The JSON body of a raw HTTP/1.1 answer. */
function bodyOf(text: string): unknown {
  return JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4));
}

describe('validation answers of huge bad batches', () => {
  let api: ApiServer;
  let url: string;
  beforeAll(async () => {
    api = createApiServer({ settings: { BIND: '127.0.0.1:0', STORE: { path: ':memory:', retention: '1h' } }, dashboard: false });
    url = await api.listen();
  });
  afterAll(async () => {
    await api?.close();
  });

  it('lists the first 100 problems and counts the rest when a 2 MB body holds 1,000,000 bad readings', async () => {
    // The audit's amplification: every `0` was one entry, a 2 MB body got a 50 MB answer (20 MB: stuck for 38 min).
    const body = `{"environment":"env1","measurements":[${'0,'.repeat(999_999)}0]}`;
    const r = await raw(url, 'POST', MEASUREMENTS, { headers: { 'content-type': 'application/json' }, body });
    expect(r.status).toBe(400);
    expect(r.text.length).toBeLessThan(10_000);
    const b = r.json as { errors: Record<string, string>; message: string };
    expect(b.message).toBe('Input payload validation failed');
    expect(Object.keys(b.errors)).toHaveLength(101);
    expect(b.errors['measurements.0']).toBe("0 is not of type 'object'");
    expect(b.errors['measurements.99']).toBe("0 is not of type 'object'");
    expect(b.errors['...']).toBe('999900 more problems not listed (the first 100 are)');
  });

  it('counts every bad field past the first 100 when readings are objects with several bad fields', async () => {
    const bad = { sensor: 1, unit: 1, value: 'x', time: 'y' };
    const r = await sendJson(url, 'POST', MEASUREMENTS, { environment: 'env1', measurements: Array.from({ length: 50_000 }, () => bad) });
    expect(r.status).toBe(400);
    expect(r.text.length).toBeLessThan(20_000);
    const b = r.json as { errors: Record<string, string> };
    expect(b.errors['measurements.24.time']).toBe(`"y" is not of type 'integer'`);
    expect(b.errors['measurements.25.sensor']).toBeUndefined();
    expect(b.errors['...']).toBe(`${4 * 50_000 - 100} more problems not listed (the first 100 are)`);
  });

  it('lists at most 100 readings older than the retention when a whole batch is too old', async () => {
    const old = (Date.now() - 2 * 3600_000) * 1e6;
    const measurements = Array.from({ length: 300 }, (_, i) => ({ sensor: 'power', unit: 'W', value: i, time: old + i * 1e6 }));
    const r = await sendJson(url, 'POST', MEASUREMENTS, { environment: 'env1', measurements });
    expect(r.status).toBe(400);
    const b = r.json as { errors: Record<string, string> };
    expect(Object.keys(b.errors)).toHaveLength(101);
    expect(b.errors['measurements.0.time']).toMatch(/retention/);
    expect(b.errors['...']).toBe('200 more problems not listed (the first 100 are)');
  });
});

describe('slow and surplus connections', () => {
  let api: ApiServer;
  let url: string;
  beforeAll(async () => {
    api = createApiServer({
      settings: { BIND: '127.0.0.1:0', STORE: { path: ':memory:' }, AUTH: { users: [{ name: 'w', password: 'w-secret', role: 'writer' }] } },
      dashboard: false,
      requestTimeoutMs: 2000,
      maxConnections: 3,
    });
    url = await api.listen();
  });
  afterAll(async () => {
    await api?.close();
  });

  const head = (auth: string | undefined, length = 1_000_000, type = 'application/json') =>
    `POST ${MEASUREMENTS} HTTP/1.1\r\nHost: x\r\n${auth === undefined ? '' : `Authorization: ${auth}\r\n`}` +
    `Content-Type: ${type}\r\nContent-Length: ${length}\r\n\r\n[`;

  it('answers 408 and closes the connection when a body arrives a byte at a time past the request timeout', async () => {
    const x = await slowRequest(url, head(basic('w', 'w-secret')), { dripMs: 100, waitMs: 8000 });
    expect(x.closedAfterMs).toBeDefined();
    expect(x.closedAfterMs).toBeGreaterThanOrEqual(1900);
    expect(x.text).toMatch(/^HTTP\/1\.1 408 REQUEST TIMEOUT\r\n/);
    expect(bodyOf(x.text)).toEqual({ message: 'The request did not arrive within 2 s' });
  });

  it('closes the connection after a 401 instead of reading the rest of a slow body', async () => {
    for (const auth of [undefined, basic('w', 'wrong')]) {
      const x = await slowRequest(url, head(auth), { dripMs: 100, waitMs: 8000 });
      expect(x.text).toMatch(/^HTTP\/1\.1 401 UNAUTHORIZED\r\n/);
      expect(x.text).toMatch(/\r\nconnection: close\r\n/i);
      // Well before the 2 s request timeout: the server closed after answering.
      expect(x.closedAfterMs).toBeLessThan(1500);
    }
  });

  it('closes the connection after a 415 without reading the body', async () => {
    const x = await slowRequest(url, head(basic('w', 'w-secret'), 1_000_000, 'text/plain'), { dripMs: 100, waitMs: 8000 });
    expect(x.text).toMatch(/^HTTP\/1\.1 415 UNSUPPORTED MEDIA TYPE\r\n/);
    expect(x.closedAfterMs).toBeLessThan(1500);
  });

  it('closes the connection after a 413 without reading the announced body', async () => {
    const x = await slowRequest(url, head(basic('w', 'w-secret'), 50 * 1024 * 1024), { dripMs: 100, waitMs: 8000 });
    expect(x.text).toMatch(/^HTTP\/1\.1 413 /);
    expect(x.closedAfterMs).toBeLessThan(1500);
  });

  it('closes connections past maxConnections as they arrive and serves again once some are gone', async () => {
    const sockets = Array.from({ length: 5 }, () => connect(Number(new URL(url).port), '127.0.0.1'));
    const closed = sockets.map((s) => new Promise<boolean>((resolve) => {
      s.on('error', () => undefined);
      s.on('close', () => resolve(true));
      setTimeout(() => resolve(false), 600);
    }));
    const outcome = await Promise.all(closed);
    expect(outcome.filter((c) => c)).toHaveLength(2);
    for (const s of sockets) s.destroy();
    await new Promise((r) => setTimeout(r, 100));
    expect((await raw(url, 'GET', '/resources/monitoring/ping')).status).toBe(200);
  });
});

describe('content types of request bodies', () => {
  let api: ApiServer;
  let url: string;
  beforeAll(async () => {
    api = createApiServer({ settings: { BIND: '127.0.0.1:0', STORE: { path: ':memory:' } }, dashboard: false });
    url = await api.listen();
  });
  afterAll(async () => {
    await api?.close();
  });

  const start = '{"scenario":"csrf","step":"s"}';

  it.each([
    ['text/plain', 'text/plain'],
    ['an HTML form', 'application/x-www-form-urlencoded'],
    ['a multipart form', 'multipart/form-data; boundary=b'],
    ['an invalid type', 'json'],
  ])('answers 415 naming the type and starts nothing when a body comes as %s', async (_what, type) => {
    const r = await raw(url, 'POST', '/resources/recorders/environment/ct', { headers: { 'content-type': type }, body: start });
    expect(r.status).toBe(415);
    expect(r.json).toEqual({ message: `Unsupported media type: the body came with Content-Type ${JSON.stringify(type)}; send JSON with Content-Type: application/json` });
    expect((await raw(url, 'GET', '/resources/recorders/environment/ct')).status).toBe(404);
  });

  it('answers 415 when a body comes without a Content-Type, as a cross-site fetch of a Blob sends it', async () => {
    const r = await raw(url, 'POST', MEASUREMENTS, {
      body: JSON.stringify({ environment: 'ct', measurements: [{ sensor: 'power', unit: 'W', value: 1 }] }),
    });
    expect(r.status).toBe(415);
    expect((r.json as { message: string }).message).toMatch(/^Unsupported media type: the body came with no Content-Type;/);
  });

  it.each(['application/json', 'application/json; charset=utf-8', 'Application/JSON', 'application/vnd.energyrecorder+json'])(
    'reads the body when it comes as %s',
    async (type) => {
      const r = await raw(url, 'POST', '/resources/recorders/environment/ok', { headers: { 'content-type': type }, body: start });
      expect(r.status).toBe(200);
      expect(r.json).toEqual({ environment: 'ok', scenario: 'csrf', step: 's' });
    },
  );

  it('stops a session when DELETE comes without a body, with or without a Content-Type (Python SDK, curl)', async () => {
    for (const headers of [{ 'content-type': 'application/json' }, {} as Record<string, string>]) {
      expect((await sendJson(url, 'POST', '/resources/recorders/environment/del', { scenario: 'a', step: 'b' })).status).toBe(200);
      expect((await raw(url, 'DELETE', '/resources/recorders/environment/del', { headers })).status).toBe(200);
    }
  });
});

describe('framework-level answers', () => {
  let api: ApiServer;
  let url: string;
  beforeAll(async () => {
    api = createApiServer({ settings: { BIND: '127.0.0.1:0', STORE: { path: ':memory:' } }, dashboard: false });
    url = await api.listen();
  });
  afterAll(async () => {
    await api?.close();
  });

  it('answers 404 for a missing Swagger UI file and keeps 405 for a known path asked with another method', async () => {
    const missing = await raw(url, 'GET', '/resources/doc/static/package.json');
    expect(missing.status).toBe(404);
    expect(missing.text).toBe(
      '{"message": "The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again."}\n',
    );
    const put = await raw(url, 'PUT', '/resources/monitoring/ping');
    expect(put.status).toBe(405);
    expect(put.headers['allow']).toBe('GET, HEAD, OPTIONS');
  });

  it('answers a malformed %-escape in the path with 400 and a message, in the API format', async () => {
    const r = await sendJson(url, 'POST', '/resources/equipments/%ZZ/measurements', { environment: 'e', measurements: [] });
    expect(r.status).toBe(400);
    expect(r.statusMessage).toBe('BAD REQUEST');
    expect(r.headers['access-control-allow-origin']).toBe('*');
    expect(r.text).toBe('{"message": "The URL path is not valid (a malformed %-escape): \\"/resources/equipments/%ZZ/measurements\\""}\n');
  });

  it('answers bytes that are not HTTP with 400 and oversized headers with 431, in the API format', async () => {
    const garbage = await slowRequest(url, 'GARBAGE\r\n\r\n', { waitMs: 5000 });
    expect(garbage.text).toMatch(/^HTTP\/1\.1 400 BAD REQUEST\r\n/);
    expect(bodyOf(garbage.text)).toEqual({ message: 'The request is not valid HTTP/1.1' });
    const big = await slowRequest(url, `GET /resources/monitoring/ping HTTP/1.1\r\nHost: x\r\nX-A: ${'a'.repeat(20_000)}\r\n\r\n`, { waitMs: 5000 });
    expect(big.text).toMatch(/^HTTP\/1\.1 431 REQUEST HEADER FIELDS TOO LARGE\r\n/);
    expect(bodyOf(big.text)).toEqual({ message: `The request line and headers are larger than ${maxHeaderSize} bytes` });
  });

  it('answers a path segment over the length limit with 414 and a message, in the API format', async () => {
    const r = await sendJson(url, 'POST', `/resources/equipments/${'a'.repeat(3000)}/measurements`, { environment: 'e', measurements: [] });
    expect(r.status).toBe(414);
    expect(r.text).toBe('{"message": "A segment of the URL path is longer than 2048 characters"}\n');
  });
});

describe('topology keys JavaScript objects cannot hold', () => {
  let api: ApiServer;
  let url: string;
  beforeAll(async () => {
    api = createApiServer({ settings: { BIND: '127.0.0.1:0', STORE: { path: ':memory:' } }, dashboard: false });
    url = await api.listen();
  });
  afterAll(async () => {
    await api?.close();
  });

  const reading = '"measurements":[{"sensor":"power","unit":"W","value":1}]';

  it.each([
    ['as written', '{"__proto__":"x"}'],
    ['escaped', '{"\\u005f_proto__":"x","rack":"r"}'],
    ['with an object value', '{"__proto__":{"a":"b"}}'],
  ])('refuses topology.__proto__ %s with a 400 naming it', async (_how, topology) => {
    const r = await raw(url, 'POST', MEASUREMENTS, { headers: { 'content-type': 'application/json' }, body: `{"environment":"p",${`"topology":${topology}`},${reading}}` });
    expect(r.status).toBe(400);
    expect((r.json as { errors: Record<string, string> }).errors).toEqual({ 'topology.__proto__': 'key must not be __proto__ (it cannot be stored as a location tag)' });
    expect(({} as Record<string, unknown>)['a']).toBeUndefined();
  });

  it('stores other keys named like Object.prototype members, and ignores a top-level __proto__', async () => {
    const topology = '{"constructor":"c","toString":"t","hasOwnProperty":"h"}';
    const r = await raw(url, 'POST', MEASUREMENTS, { headers: { 'content-type': 'application/json' }, body: `{"__proto__":{"polluted":1},"environment":"p","topology":${topology},${reading}}` });
    expect(r.status).toBe(200);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});

describe('Swagger UI headers', () => {
  let api: ApiServer;
  let url: string;
  beforeAll(async () => {
    api = createApiServer({ settings: { BIND: '127.0.0.1:0', STORE: { path: ':memory:' } }, dashboard: false });
    url = await api.listen();
  });
  afterAll(async () => {
    await api?.close();
  });

  it('sends a Content-Security-Policy and framing protection with the page and every file it loads', async () => {
    const page = await raw(url, 'GET', '/resources/doc/');
    expect(page.status).toBe(200);
    const assets = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => new URL(m[1] as string, `${url}/resources/doc/`).pathname);
    expect(assets).toEqual(expect.arrayContaining(['/resources/doc/static/swagger-ui-bundle.js', '/resources/doc/static/swagger-initializer.js']));
    for (const path of ['/resources/doc/', ...assets, '/resources/doc/json']) {
      const r = await raw(url, 'GET', path);
      expect({ path, status: r.status }).toEqual({ path, status: 200 });
      expect(r.headers['content-security-policy']).toMatch(/script-src 'self';.*frame-ancestors 'none'/);
      expect(r.headers['x-frame-options']).toBe('DENY');
      expect(r.headers['x-content-type-options']).toBe('nosniff');
    }
    // Only the UI: the API's own answers are unchanged.
    expect((await raw(url, 'GET', '/resources/monitoring/ping')).headers['content-security-policy']).toBeUndefined();
  });
});
