import { AdapterError } from '@energyrecorder/core';
import { HttpClient } from '../../src/internal/http.js';
import { startFakeServer, type FakeServer } from '../fakes/http-server.js';

describe('HttpClient redirects and deadlines', () => {
  let other: FakeServer;
  let device: FakeServer;
  const seen: { server: string; method: string; url: string; authorization: string | undefined; body: string }[] = [];

  beforeAll(async () => {
    other = await startFakeServer((req, body, res) => {
      seen.push({ server: 'other', method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization, body });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"where":"other"}');
    });
    device = await startFakeServer((req, body, res) => {
      seen.push({ server: 'device', method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization, body });
      if (req.url === '/moved') return void res.writeHead(301, { location: '/here' }).end();
      if (req.url === '/see-other') return void res.writeHead(303, { location: '/here' }).end();
      if (req.url === '/keep-post') return void res.writeHead(307, { location: `${device.origin}/here` }).end();
      if (req.url === '/away') return void res.writeHead(302, { location: `${other.origin}/there` }).end();
      if (req.url === '/away-307') return void res.writeHead(307, { location: `${other.origin}/grab` }).end();
      // Same host, other scheme: https -> http on one host is another origin too (here http -> https).
      if (req.url === '/to-https') return void res.writeHead(308, { location: `https://${device.hostPort}/login` }).end();
      if (req.url === '/bad-location') return void res.writeHead(302, { location: 'http://[::1' }).end();
      if (req.url === '/loop') return void res.writeHead(307, { location: '/loop' }).end();
      if (req.url === '/hang') return; // never answers
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"where":"device"}');
    });
  });

  afterAll(async () => {
    await device.close();
    await other.close();
  });

  const client = (): HttpClient =>
    new HttpClient({
      adapterType: 'test',
      target: device.hostPort,
      origin: device.origin,
      timeoutMs: 2000,
      credentials: { user: 'u', pass: 'secret' },
    });

  it('follows a same-origin redirect with credentials when the device answers 301', async () => {
    seen.length = 0;
    const c = client();
    await expect(c.json({ path: '/moved' })).resolves.toEqual({ where: 'device' });
    c.close();
    expect(seen.map((s) => s.url)).toEqual(['/moved', '/here']);
    expect(seen[1]?.authorization).toMatch(/^Basic /);
  });

  it('turns a POST into a bodiless GET when the device answers 303', async () => {
    seen.length = 0;
    const c = client();
    await c.request({ method: 'POST', path: '/see-other', body: { a: 1 } });
    c.close();
    expect(seen.map((s) => `${s.method} ${s.url} ${s.body}`)).toEqual(['POST /see-other {"a":1}', 'GET /here ']);
  });

  it('keeps the method, body and credentials of a POST when the device answers 307 on its own origin', async () => {
    seen.length = 0;
    const c = client();
    await expect(c.json({ method: 'POST', path: '/keep-post', form: { a: '1' } })).resolves.toEqual({ where: 'device' });
    c.close();
    expect(seen.map((s) => `${s.method} ${s.url} ${s.body}`)).toEqual(['POST /keep-post a=1', 'POST /here a=1']);
    expect(seen[1]?.authorization).toMatch(/^Basic /);
  });

  it.each([
    ['a 302 to another host', '/away', () => other.origin],
    ['a 307 of a login form with a CSRF header to another host', '/away-307', () => other.origin],
    ['a 308 to the same host under another scheme', '/to-https', () => `https://${device.hostPort}`],
  ])('refuses %s, sending nothing there and naming where it led', async (_what, path, where) => {
    seen.length = 0;
    const c = client();
    const err: unknown = await c
      .request({ method: 'POST', path, form: { user: 'u', password: 'secret' }, headers: { ST2: 'csrf-token', 'x-auth-token': 'tok' } })
      .catch((e: unknown) => e);
    c.close();
    expect(err).toBeInstanceOf(AdapterError);
    expect(err).toMatchObject({ code: 'ER_ADAPTER_HTTP', retryable: false });
    expect((err as AdapterError).message).toContain(`another origin (${where()})`);
    expect((err as AdapterError).message).toMatch(/set host/);
    expect(seen.map((s) => `${s.server} ${s.url}`)).toEqual([`device ${path}`]);
  });

  it('fails with ER_ADAPTER_HTTP, not an unexpected error, when the Location is not a URL', async () => {
    const c = client();
    const err: unknown = await c.request({ path: '/bad-location' }).catch((e: unknown) => e);
    c.close();
    expect(err).toMatchObject({ code: 'ER_ADAPTER_HTTP' });
    expect((err as AdapterError).message).toMatch(/unusable Location/);
  });

  it('fails with ER_ADAPTER_HTTP when redirects never end', async () => {
    const c = client();
    const err: unknown = await c.request({ path: '/loop' }).catch((e: unknown) => e);
    c.close();
    expect(err).toBeInstanceOf(AdapterError);
    expect((err as AdapterError).code).toBe('ER_ADAPTER_HTTP');
  });

  it('fails with ER_ADAPTER_TIMEOUT when the device never answers', async () => {
    const c = client();
    const err: unknown = await c.request({ path: '/hang', timeoutMs: 200 }).catch((e: unknown) => e);
    c.close();
    expect((err as AdapterError).code).toBe('ER_ADAPTER_TIMEOUT');
  });

  it('fails with ER_ADAPTER_ABORTED when the caller aborts', async () => {
    const c = client();
    const ac = new AbortController();
    const pending = c.request({ path: '/hang', signal: ac.signal }).catch((e: unknown) => e);
    ac.abort();
    const err = await pending;
    c.close();
    expect((err as AdapterError).code).toBe('ER_ADAPTER_ABORTED');
  });
});
