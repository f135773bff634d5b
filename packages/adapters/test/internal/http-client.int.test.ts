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
      if (req.url === '/away') return void res.writeHead(302, { location: `${other.origin}/there` }).end();
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

  it('drops credentials when a redirect leads to another origin', async () => {
    seen.length = 0;
    const c = client();
    await expect(c.json({ path: '/away', headers: { 'x-auth-token': 'tok' } })).resolves.toEqual({ where: 'other' });
    c.close();
    expect(seen.find((s) => s.server === 'other')?.authorization).toBeUndefined();
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
