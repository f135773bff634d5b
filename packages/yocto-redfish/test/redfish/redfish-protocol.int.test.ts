import { connect } from 'node:net';
import { createRedfishService, type RedfishService } from '../../src/redfish-service.js';
import { SimulatedMeter } from '../../src/simulated-meter.js';

// DSP0266 protocol rules that the DMTF Redfish Protocol Validator checks, against the running service.

type Body = Record<string, unknown>;

const BASIC = { authorization: `Basic ${Buffer.from('admin:s3cret-pass').toString('base64')}` };

async function call(
  url: string,
  method = 'GET',
  headers: Record<string, string> = {},
  body?: string,
): Promise<{ status: number; headers: Headers; text: string; json: Body }> {
  const res = await fetch(url, { method, headers, ...(body === undefined ? {} : { body }), signal: AbortSignal.timeout(5000) });
  const text = await res.text();
  let json: Body = {};
  if (text !== '') {
    try {
      json = JSON.parse(text) as Body;
    } catch {
      json = {};
    }
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** Sends raw bytes on one connection, the next chunk once the previous answer is complete; resolves with all it read. */
function rawExchange(port: number, chunks: readonly string[], answered: (read: string, n: number) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let read = '';
    let next = 0;
    const sendNext = (): void => {
      const chunk = chunks[next];
      if (chunk !== undefined) socket.write(chunk);
      next++;
    };
    socket.setEncoding('utf8');
    socket.on('connect', sendNext);
    socket.on('data', (d: string) => {
      read += d;
      if (next < chunks.length && answered(read, next)) sendNext();
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(read));
    socket.setTimeout(5000, () => socket.destroy(new Error(`no close; read so far: ${read}`)));
  });
}

describe('createRedfishService (DSP0266 protocol)', () => {
  let svc: RedfishService;
  let open: RedfishService;
  beforeAll(async () => {
    svc = createRedfishService({
      meters: [{ id: 'a', meter: new SimulatedMeter({ profile: 'constant:200' }) }],
      users: [{ name: 'admin', password: 's3cret-pass' }],
      backgroundPolling: false,
    });
    open = createRedfishService({ meters: [{ meter: new SimulatedMeter({ profile: 'constant:10' }) }], backgroundPolling: false });
    await svc.listen();
    await open.listen();
  });
  afterAll(async () => {
    await svc.close();
    await open.close();
  });

  const login = async (path = '/redfish/v1/SessionService/Sessions'): Promise<{ token: string; location: string }> => {
    const res = await call(`${svc.url}${path}`, 'POST', { 'content-type': 'application/json' }, JSON.stringify({ UserName: 'admin', Password: 's3cret-pass' }));
    expect(res.status).toBe(201);
    return { token: res.headers.get('x-auth-token') ?? '', location: res.headers.get('location') ?? '' };
  };

  it('answers every GET and HEAD with Allow, Cache-Control and a Link to the DMTF JSON Schema of its @odata.type', async () => {
    const seen = new Set<string>();
    const queue = ['/redfish/v1/'];
    while (queue.length > 0) {
      const path = queue.shift() as string;
      if (seen.has(path)) continue;
      seen.add(path);
      for (const method of ['GET', 'HEAD']) {
        const res = await call(`${svc.url}${path}`, method, BASIC);
        expect({ path, method, status: res.status }).toEqual({ path, method, status: 200 });
        expect({ path, method, allow: res.headers.get('allow')?.split(/,\s*/).includes(method) }).toEqual({ path, method, allow: true });
        expect({ path, method, cache: res.headers.get('cache-control') }).toEqual({ path, method, cache: 'no-store' });
        if (method === 'HEAD') {
          expect(res.text).toBe('');
          continue;
        }
        // A versioned type names the versioned schema (`Chassis.v1_21_0.json`), a collection the unversioned one.
        const type = String(res.json['@odata.type']).slice(1).split('.');
        const schema = type.length === 3 ? `${type[0]}.${type[1]}` : type[0];
        const link = `<http://redfish.dmtf.org/schemas/v1/${schema}.json>; rel=describedby`;
        expect({ path, link: res.headers.get('link') }).toEqual({ path, link });
        JSON.stringify(res.json, (k, v: unknown) => {
          if (k === '@odata.id' && typeof v === 'string' && !v.includes('#')) queue.push(v);
          return v;
        });
      }
    }
    expect(seen.size).toBeGreaterThan(8);
    const head = await call(`${svc.url}/redfish/v1/`, 'HEAD');
    expect(head.headers.get('link')).toBe('<http://redfish.dmtf.org/schemas/v1/ServiceRoot.v1_15_0.json>; rel=describedby');
    const metadata = await call(`${svc.url}/redfish/v1/$metadata`);
    expect([metadata.headers.get('allow'), metadata.headers.get('cache-control')]).toEqual(['GET, HEAD', 'no-store']);
  });

  it('lists in Allow the methods each resource accepts, on a read and on a 405', async () => {
    const sessions = `${svc.url}/redfish/v1/SessionService/Sessions`;
    expect((await call(sessions, 'GET', BASIC)).headers.get('allow')).toBe('GET, HEAD, POST');
    const patchCollection = await call(sessions, 'PATCH', { ...BASIC, 'content-type': 'application/json' }, '{"Name":"x"}');
    expect([patchCollection.status, patchCollection.headers.get('allow')]).toEqual([405, 'GET, HEAD, POST']);
    expect(patchCollection.json).toMatchObject({ error: { code: 'Base.1.16.OperationNotAllowed' } });
    const { token, location } = await login();
    const auth = { 'x-auth-token': token };
    expect((await call(`${svc.url}${location}`, 'GET', auth)).headers.get('allow')).toBe('GET, HEAD, DELETE');
    const patchSession = await call(`${svc.url}${location}`, 'PATCH', { ...auth, 'content-type': 'application/json' }, '{"UserName":"x"}');
    expect([patchSession.status, patchSession.headers.get('allow')]).toEqual([405, 'GET, HEAD, DELETE']);
    expect((await call(`${svc.url}${location}`, 'DELETE', auth)).status).toBe(204);
    const deleteRoot = await call(`${svc.url}/redfish/v1/`, 'DELETE', BASIC);
    expect([deleteRoot.status, deleteRoot.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
    // Without accounts there is no session to open: the collection is read-only, and says so.
    const openSessions = `${open.url}/redfish/v1/SessionService/Sessions`;
    expect((await call(openSessions)).headers.get('allow')).toBe('GET, HEAD');
    const refused = await call(openSessions, 'POST', { 'content-type': 'application/json' }, '{"UserName":"a","Password":"b"}');
    expect([refused.status, refused.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
    expect(refused.json).toMatchObject({ error: { code: 'Base.1.16.OperationNotAllowed' } });
  });

  it('refuses an OData-Version other than 4.0 with 412 and an extended error, and serves 4.0', async () => {
    expect((await call(`${svc.url}/redfish/v1/`, 'GET', { 'OData-Version': '4.0' })).status).toBe(200);
    const refused = await call(`${svc.url}/redfish/v1/`, 'GET', { 'OData-Version': '4.1' });
    expect(refused.status).toBe(412);
    expect(refused.json).toMatchObject({ error: { code: 'Base.1.16.HeaderInvalid', message: expect.stringMatching(/OData-Version 4\.1/) } });
    // Credentials first: an unauthenticated request for a protected resource is a 401 whatever its OData-Version.
    expect((await call(`${svc.url}/redfish/v1/Chassis`, 'GET', { 'OData-Version': '4.1' })).status).toBe(401);
  });

  it('answers 501 to every $ query parameter, which it does not support, and ignores the other query parameters', async () => {
    const plain = await call(`${svc.url}/redfish/v1/Chassis`, 'GET', BASIC);
    expect(plain.status).toBe(200);
    for (const query of ['$expand=*', '$expand=.($levels=1)', '$select=Name', "$filter=Name%20eq%20'x'", '$top=1', '$skip=1', '$rpvunknown', '%24expand=*']) {
      const res = await call(`${svc.url}/redfish/v1/Chassis?${query}`, 'GET', BASIC);
      expect({ query, status: res.status }).toEqual({ query, status: 501 });
      expect(res.json).toMatchObject({ error: { code: 'Base.1.16.QueryParameterUnsupported', message: expect.stringMatching(/\$/) } });
    }
    for (const query of ['only', 'excerpt', 'rpvunknown', 'only&excerpt']) {
      const res = await call(`${svc.url}/redfish/v1/Chassis?${query}`, 'GET', BASIC);
      expect({ query, status: res.status, body: res.json }).toEqual({ query, status: 200, body: plain.json });
    }
    expect((await call(`${svc.url}/redfish/v1/?rpvunknown`)).status).toBe(200);
  });

  it('opens a session on a POST to the Members of the Sessions collection as on the collection itself', async () => {
    const { token, location } = await login('/redfish/v1/SessionService/Sessions/Members');
    expect(location).toMatch(/^\/redfish\/v1\/SessionService\/Sessions\/[^/]+$/);
    expect(location).not.toMatch(/Members$/);
    expect((await call(`${svc.url}/redfish/v1/Chassis`, 'GET', { 'x-auth-token': token })).status).toBe(200);
    expect((await call(`${svc.url}${location}`, 'DELETE', { 'x-auth-token': token })).status).toBe(204);
    // Only the POST is an alias: there is no resource to read at Members.
    expect((await call(`${svc.url}/redfish/v1/SessionService/Sessions/Members`, 'GET', BASIC)).status).toBe(404);
  });

  it('challenges a refused login with WWW-Authenticate, as every 401', async () => {
    const refused = await call(
      `${svc.url}/redfish/v1/SessionService/Sessions`,
      'POST',
      { 'content-type': 'application/json' },
      JSON.stringify({ UserName: 'admin', Password: 'wrong-pass' }),
    );
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toMatch(/^Basic /);
    expect(refused.headers.get('location')).toBeNull();
    const noCredentials = await call(`${svc.url}/redfish/v1/Chassis`);
    expect([noCredentials.status, noCredentials.headers.get('www-authenticate')]).toEqual([401, 'Basic realm="yocto-redfish"']);
  });

  it('answers 501 with a Redfish error to a method it does not know, also on a kept-alive connection', async () => {
    const port = Number(new URL(svc.url).port);
    const fake = 'FAKEMETHODFORTEST /redfish/v1/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
    const alone = await rawExchange(port, [fake], () => false);
    expect(alone).toMatch(/^HTTP\/1\.1 501 Not Implemented\r\n/);
    expect(alone).toMatch(/\r\nOData-Version: 4\.0\r\n/);
    expect(JSON.parse(alone.slice(alone.indexOf('\r\n\r\n') + 4))).toMatchObject({ error: { code: expect.stringMatching(/^Base\.1\.16\./) } });
    // After a first answer on the same connection (a client's connection pool), not only on a fresh one.
    const afterGet = await rawExchange(port, ['GET /redfish/v1/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', fake], (read) => read.includes('"RedfishVersion"'));
    expect([...afterGet.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1])).toEqual(['200', '501']);
  });
});
