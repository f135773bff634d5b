import { request as httpRequest, Agent, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import type { Logger, LogFields } from '@energyrecorder/core';
import { createRedfishService, type RedfishService } from '../../src/redfish-service.js';
import type { Meter } from '../../src/meter.js';
import { SimulatedMeter } from '../../src/simulated-meter.js';

type Body = Record<string, unknown> & { [k: string]: unknown };

async function getJson(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Body }> {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(5000) });
  const text = await res.text();
  return { status: res.status, body: text === '' ? {} : (JSON.parse(text) as Body) };
}

function fakeClock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1_700_000_000_000;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

describe('createRedfishService', () => {
  describe('with one meter per chassis', () => {
    const clock = fakeClock();
    const a = new SimulatedMeter({ profile: 'constant:200', clock: clock.now, serialNumber: 'SIM-A' });
    const b = new SimulatedMeter({ profile: 'steps:100@10s,300@10s', clock: clock.now });
    let svc: RedfishService;
    beforeAll(async () => {
      svc = createRedfishService({
        meters: [{ id: 'a', name: 'Rack A', meter: a }, { id: 'b', meter: b }],
        clock: clock.now,
        backgroundPolling: false,
      });
      await svc.listen();
    });
    afterAll(async () => svc.close());

    it('serves the service root and the chassis collection when asked with or without a trailing slash', async () => {
      const root = await getJson(`${svc.url}/redfish/v1/`);
      expect(root.status).toBe(200);
      expect(root.body).toMatchObject({ '@odata.id': '/redfish/v1/', Chassis: { '@odata.id': '/redfish/v1/Chassis' } });
      for (const path of ['/redfish/v1/Chassis', '/redfish/v1/Chassis/']) {
        const coll = await getJson(`${svc.url}${path}`);
        expect(coll.body['Members']).toEqual([{ '@odata.id': '/redfish/v1/Chassis/a' }, { '@odata.id': '/redfish/v1/Chassis/b' }]);
        expect(coll.body['Members@odata.count']).toBe(2);
      }
    });

    it('serves a chassis with Id, type, status and links when the chassis exists', async () => {
      const { status, body } = await getJson(`${svc.url}/redfish/v1/Chassis/a/`);
      expect(status).toBe(200);
      expect(body).toMatchObject({
        '@odata.id': '/redfish/v1/Chassis/a',
        '@odata.type': '#Chassis.v1_21_0.Chassis',
        Id: 'a',
        Name: 'Rack A',
        PowerState: 'On',
        SerialNumber: 'SIM-A',
        Status: { State: 'Enabled', Health: 'OK' },
        Power: { '@odata.id': '/redfish/v1/Chassis/a/Power' },
        EnvironmentMetrics: { '@odata.id': '/redfish/v1/Chassis/a/EnvironmentMetrics' },
        Sensors: { '@odata.id': '/redfish/v1/Chassis/a/Sensors' },
      });
    });

    it('serves PowerControl[0] with the exact simulated power when the Power resource is read', async () => {
      const { body } = await getJson(`${svc.url}/redfish/v1/Chassis/a/Power`);
      const pc = (body['PowerControl'] as Body[])[0];
      expect(pc).toMatchObject({
        '@odata.id': '/redfish/v1/Chassis/a/Power#/PowerControl/0',
        MemberId: '0',
        PhysicalContext: 'Chassis',
        PowerConsumedWatts: 200,
        PowerMetrics: { IntervalInMin: 1, MinConsumedWatts: 200, MaxConsumedWatts: 200, AverageConsumedWatts: 200 },
      });
    });

    it('lists the sensors and serves each member when the Sensors collection is read', async () => {
      const { body } = await getJson(`${svc.url}/redfish/v1/Chassis/a/Sensors`);
      const ids = (body['Members'] as Body[]).map((m) => m['@odata.id']);
      expect(ids).toEqual(['Power', 'Energy', 'Voltage', 'Current'].map((s) => `/redfish/v1/Chassis/a/Sensors/${s}`));
      const p = await getJson(`${svc.url}/redfish/v1/Chassis/a/Sensors/Power`);
      expect(p.body).toMatchObject({ ReadingType: 'Power', ReadingUnits: 'W', Reading: 200 });
      const e = await getJson(`${svc.url}/redfish/v1/Chassis/a/Sensors/Energy`);
      expect(e.body).toMatchObject({ ReadingType: 'EnergykWh', ReadingUnits: 'kW.h' });
    });

    it('agrees with the analytic energy within 0.5% when the meters are constant and stepped', async () => {
      await getJson(`${svc.url}/redfish/v1/Chassis/b`);
      clock.advance(95_000);
      const ea = await getJson(`${svc.url}/redfish/v1/Chassis/a/EnvironmentMetrics`);
      const eb = await getJson(`${svc.url}/redfish/v1/Chassis/b/EnvironmentMetrics`);
      const elapsedA = (clock.now() - (a.startedAtMs ?? 0)) / 1000;
      const elapsedB = (clock.now() - (b.startedAtMs ?? 0)) / 1000;
      const analyticA = (200 * elapsedA) / 3.6e6;
      const analyticB = b.energyJoulesAt(elapsedB) / 3.6e6;
      const readA = (ea.body['EnergykWh'] as Body)['Reading'] as number;
      const readB = (eb.body['EnergykWh'] as Body)['Reading'] as number;
      expect(Math.abs(readA - analyticA) / analyticA).toBeLessThan(0.005);
      expect(Math.abs(readB - analyticB) / analyticB).toBeLessThan(0.005);
      expect((eb.body['PowerWatts'] as Body)['Reading']).toBe(b.powerAt(elapsedB));
      expect((eb.body['PowerWatts'] as Body)['DataSourceUri']).toBe('/redfish/v1/Chassis/b/Sensors/Power');
    });

    it('declares in $metadata every schema namespace that a crawl of the whole service meets', async () => {
      const res = await fetch(`${svc.url}/redfish/v1/$metadata`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/xml/);
      const xml = await res.text();
      // Well-formed enough for a CSDL reader: every element closes, in order.
      const stack: string[] = [];
      for (const m of xml.matchAll(/<(\/?)([\w:]+)[^>]*?(\/?)>/g)) {
        if (m[2] === 'xml') continue;
        if (m[1] === '/') expect(stack.pop()).toBe(m[2]);
        else if (m[3] !== '/') stack.push(m[2] as string);
      }
      expect(stack).toEqual([]);
      const declared = new Set([...xml.matchAll(/<edmx:Include Namespace="([^"]+)"/g)].map((m) => m[1]));
      const seen = new Set<string>();
      const types = new Set<string>();
      const queue = ['/redfish/v1/'];
      while (queue.length > 0) {
        const path = queue.shift() as string;
        if (seen.has(path)) continue;
        seen.add(path);
        const { status, body } = await getJson(`${svc.url}${path}`);
        expect(status).toBe(200);
        JSON.stringify(body, (k, v: unknown) => {
          if (k === '@odata.id' && typeof v === 'string' && !v.includes('#')) queue.push(v);
          if (k === '@odata.type' && typeof v === 'string') types.add(v.replace(/^#/, ''));
          return v;
        });
      }
      expect(seen.size).toBeGreaterThan(8);
      for (const t of types) {
        const ns = t.split('.').slice(0, -1).join('.');
        expect({ type: t, declared: declared.has(ns) }).toEqual({ type: t, declared: true });
      }
      const odata = await getJson(`${svc.url}/redfish/v1/odata`);
      expect(odata.body['@odata.context']).toBe('/redfish/v1/$metadata');
      expect((odata.body['value'] as Array<{ url: string }>).map((v) => v.url)).toContain('/redfish/v1/Chassis');
    });

    it('answers 404 with a Redfish error when the chassis does not exist', async () => {
      const { status, body } = await getJson(`${svc.url}/redfish/v1/Chassis/nope`);
      expect(status).toBe(404);
      expect(body).toHaveProperty('error.code');
    });

    it('reports the chassis offline with a null reading when its meter disappears', async () => {
      a.setOffline(true);
      clock.advance(2000);
      const { body } = await getJson(`${svc.url}/redfish/v1/Chassis/a/Power`);
      const pc = (body['PowerControl'] as Body[])[0];
      expect(pc?.['PowerConsumedWatts']).toBeNull();
      const ch = await getJson(`${svc.url}/redfish/v1/Chassis/a`);
      expect(ch.body['Status']).toEqual({ State: 'UnavailableOffline', Health: 'Critical' });
      a.setOffline(false);
      clock.advance(60_000);
      const back = await getJson(`${svc.url}/redfish/v1/Chassis/a`);
      expect(back.body['Status']).toEqual({ State: 'Enabled', Health: 'OK' });
    });
  });

  describe('with a summed chassis as the original', () => {
    const clock = fakeClock();
    let svc: RedfishService;
    beforeAll(async () => {
      svc = createRedfishService({
        meters: [
          { meter: new SimulatedMeter({ profile: 'constant:120.4', clock: clock.now }) },
          { meter: new SimulatedMeter({ profile: 'constant:80.2', clock: clock.now }) },
        ],
        sumChassis: true,
        clock: clock.now,
        backgroundPolling: false,
      });
      await svc.listen();
    });
    afterAll(async () => svc.close());

    it('sums the meters on chassis 1 and answers any chassis id when read through the original paths', async () => {
      const coll = await getJson(`${svc.url}/redfish/v1/Chassis/`);
      expect(coll.body['Members']).toEqual([{ '@odata.id': '/redfish/v1/Chassis/1' }]);
      const p = await getJson(`${svc.url}/redfish/v1/Chassis/whatever/Power/`);
      expect((p.body['PowerControl'] as Body[])[0]?.['PowerConsumedWatts']).toBeCloseTo(200.6, 9);
    });
  });

  describe('with authentication', () => {
    let svc: RedfishService;
    beforeAll(async () => {
      svc = createRedfishService({
        meters: [{ meter: new SimulatedMeter({ profile: 'constant:10' }) }],
        users: [
          { name: 'admin', password: 's3cret-pass' },
          { name: 'viewer', password: 'viewer-pass' },
        ],
        backgroundPolling: false,
      });
      await svc.listen();
    });
    afterAll(async () => svc.close());

    const login = async (service: RedfishService, name: string, password: string): Promise<{ status: number; token: string; location: string; body: Body }> => {
      const res = await fetch(`${service.url}/redfish/v1/SessionService/Sessions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ UserName: name, Password: password }),
      });
      const text = await res.text();
      return {
        status: res.status,
        token: res.headers.get('x-auth-token') ?? '',
        location: res.headers.get('location') ?? '',
        body: text === '' ? {} : (JSON.parse(text) as Body),
      };
    };

    it('answers 401 without credentials and 200 with Basic auth when auth is on', async () => {
      expect((await getJson(`${svc.url}/redfish/v1/`)).status).toBe(200);
      const denied = await getJson(`${svc.url}/redfish/v1/Chassis`);
      expect(denied.status).toBe(401);
      const wrong = await getJson(`${svc.url}/redfish/v1/Chassis`, {
        authorization: `Basic ${Buffer.from('admin:nope').toString('base64')}`,
      });
      expect(wrong.status).toBe(401);
      const ok = await getJson(`${svc.url}/redfish/v1/Chassis`, {
        authorization: `Basic ${Buffer.from('admin:s3cret-pass').toString('base64')}`,
      });
      expect(ok.status).toBe(200);
      expect((await fetch(`${svc.url}/redfish/v1/$metadata`)).status).toBe(200);
      expect((await getJson(`${svc.url}/redfish/v1/odata`)).status).toBe(200);
    });

    it('opens a session with a token and Location, and closes it on DELETE', async () => {
      const res = await fetch(`${svc.url}/redfish/v1/SessionService/Sessions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ UserName: 'admin', Password: 's3cret-pass' }),
      });
      expect(res.status).toBe(201);
      const token = res.headers.get('x-auth-token') ?? '';
      const location = res.headers.get('location') ?? '';
      expect(token).toMatch(/^[0-9a-f]{64}$/);
      expect(location).toMatch(/^\/redfish\/v1\/SessionService\/Sessions\/.+/);
      await res.text();
      expect((await getJson(`${svc.url}/redfish/v1/Chassis/1/Power`, { 'x-auth-token': token })).status).toBe(200);
      const del = await fetch(`${svc.url}${location}`, { method: 'DELETE', headers: { 'x-auth-token': token } });
      expect(del.status).toBe(204);
      expect((await getJson(`${svc.url}/redfish/v1/Chassis`, { 'x-auth-token': token })).status).toBe(401);
    });

    it('hides a session from another user and refuses to delete it when the caller does not own it', async () => {
      const admin = await login(svc, 'admin', 's3cret-pass');
      expect(admin.status).toBe(201);
      const viewer = { authorization: `Basic ${Buffer.from('viewer:viewer-pass').toString('base64')}` };
      expect((await getJson(`${svc.url}${admin.location}`, viewer)).status).toBe(404);
      const del = await fetch(`${svc.url}${admin.location}`, { method: 'DELETE', headers: viewer });
      expect(del.status).toBe(404);
      await del.text();
      const list = await getJson(`${svc.url}/redfish/v1/SessionService/Sessions`, viewer);
      expect(list.body['Members']).toEqual([]);
      expect((await getJson(`${svc.url}/redfish/v1/Chassis`, { 'x-auth-token': admin.token })).status).toBe(200);
      const own = await getJson(`${svc.url}${admin.location}`, { 'x-auth-token': admin.token });
      expect(own).toMatchObject({ status: 200, body: { UserName: 'admin' } });
      const ownList = await getJson(`${svc.url}/redfish/v1/SessionService/Sessions`, { 'x-auth-token': admin.token });
      expect(ownList.body['Members']).toEqual([{ '@odata.id': admin.location }]);
      const close = await fetch(`${svc.url}${admin.location}`, { method: 'DELETE', headers: { 'x-auth-token': admin.token } });
      expect(close.status).toBe(204);
    });

    it('answers 503 SessionLimitExceeded when maxSessions are live, each its account\'s only one, and opens one again after one expires', async () => {
      const clock = fakeClock();
      const limited = createRedfishService({
        meters: [{ meter: new SimulatedMeter({ profile: 'constant:10' }) }],
        users: [
          { name: 'admin', password: 's3cret-pass' },
          { name: 'viewer', password: 'viewer-pass' },
          { name: 'guest', password: 'guest-pass' },
        ],
        maxSessions: 2,
        sessionTimeoutS: 60,
        clock: clock.now,
        backgroundPolling: false,
      });
      await limited.listen();
      try {
        expect((await login(limited, 'admin', 's3cret-pass')).status).toBe(201);
        clock.advance(10_000);
        expect((await login(limited, 'viewer', 'viewer-pass')).status).toBe(201);
        const refused = await login(limited, 'guest', 'guest-pass');
        expect(refused.status).toBe(503);
        expect(refused.token).toBe('');
        expect(refused.body).toMatchObject({ error: { code: 'Base.1.16.SessionLimitExceeded', message: expect.stringMatching(/2 sessions/) } });
        clock.advance(55_000);
        expect((await login(limited, 'guest', 'guest-pass')).status).toBe(201);
      } finally {
        await limited.close();
      }
    });

    it('closes the least recently used session of the same user, not another account\'s, when a user logs in again and again at maxSessions', async () => {
      const clock = fakeClock();
      const limited = createRedfishService({
        meters: [{ meter: new SimulatedMeter({ profile: 'constant:10' }) }],
        users: [
          { name: 'admin', password: 's3cret-pass' },
          { name: 'viewer', password: 'viewer-pass' },
          { name: 'guest', password: 'guest-pass' },
        ],
        maxSessions: 3,
        clock: clock.now,
        backgroundPolling: false,
      });
      await limited.listen();
      const chassis = async (token: string): Promise<number> =>
        (await getJson(`${limited.url}/redfish/v1/Chassis`, { 'x-auth-token': token })).status;
      const sessionsOf = async (token: string): Promise<unknown> =>
        (await getJson(`${limited.url}/redfish/v1/SessionService/Sessions`, { 'x-auth-token': token })).body['Members'];
      try {
        // The collector's session, then one account that logs in again and again without logging out.
        const collector = await login(limited, 'viewer', 'viewer-pass');
        expect(collector.status).toBe(201);
        const admin: Array<{ status: number; token: string; location: string }> = [];
        for (let i = 0; i < 6; i++) {
          clock.advance(1000);
          admin.push(await login(limited, 'admin', 's3cret-pass'));
          clock.advance(1000);
          // The first admin session is in use: it is kept, the abandoned ones are closed.
          expect(await chassis(admin[0]?.token ?? '')).toBe(200);
        }
        expect(admin.map((a) => a.status)).toEqual([201, 201, 201, 201, 201, 201]);
        expect(await chassis(collector.token)).toBe(200);
        expect(await sessionsOf(admin[0]?.token ?? '')).toEqual([{ '@odata.id': admin[0]?.location }, { '@odata.id': admin[5]?.location }]);
        expect(await chassis(admin[4]?.token ?? '')).toBe(401);
        // An account without a session takes the place of the least recently used session of the account that
        // holds the most, here admin's; the collector keeps its only session.
        clock.advance(1000);
        expect((await login(limited, 'guest', 'guest-pass')).status).toBe(201);
        expect(await chassis(collector.token)).toBe(200);
        expect(await chassis(admin[5]?.token ?? '')).toBe(401);
        expect(await chassis(admin[0]?.token ?? '')).toBe(200);
      } finally {
        await limited.close();
      }
    });

    it('answers 413 to an oversized login body and keeps the connection usable', async () => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      const call = (method: string, path: string, body?: string): Promise<{ status: number; reused: boolean; text: string; res: IncomingMessage }> =>
        new Promise((resolve, reject) => {
          const req = httpRequest(`${svc.url}${path}`, { method, agent, headers: body === undefined ? {} : { 'content-type': 'application/json' } }, (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (c: string) => (text += c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, reused: req.reusedSocket, text, res }));
          });
          req.on('error', reject);
          req.end(body);
        });
      try {
        expect((await call('GET', '/redfish/v1/')).status).toBe(200);
        const big = await call('POST', '/redfish/v1/SessionService/Sessions', JSON.stringify({ UserName: 'admin', Password: 's3cret-pass', pad: 'a'.repeat(200_000) }));
        expect(big.status).toBe(413);
        expect(big.reused).toBe(true);
        expect(big.text).toMatch(/larger than 65536 bytes/);
        const next = await call('GET', '/redfish/v1/');
        expect(next.status).toBe(200);
        expect(next.reused).toBe(true);
      } finally {
        agent.destroy();
      }
    });

    it('refuses a session when the password is wrong', async () => {
      const res = await fetch(`${svc.url}/redfish/v1/SessionService/Sessions`, {
        method: 'POST',
        body: JSON.stringify({ UserName: 'admin', Password: 'wrong' }),
      });
      expect(res.status).toBe(401);
      await res.text();
    });
  });

  describe('with summed meters in anti-phase', () => {
    it('serves min/avg/max of the summed power, not the sums of each meter\'s min and max', async () => {
      const clock = fakeClock();
      const svc = createRedfishService({
        sumChassis: true,
        clock: clock.now,
        backgroundPolling: false,
        pollIntervalMs: 100,
        meters: [
          { id: 'a', meter: new SimulatedMeter({ profile: 'steps:100@1s,300@1s', clock: clock.now }) },
          { id: 'b', meter: new SimulatedMeter({ profile: 'steps:300@1s,100@1s', clock: clock.now }) },
        ],
      });
      await svc.listen();
      try {
        let last: Body = {};
        for (let i = 0; i < 20; i++) {
          last = (await getJson(`${svc.url}/redfish/v1/Chassis/1/Power`)).body;
          expect((last['PowerControl'] as Body[])[0]?.['PowerConsumedWatts']).toBe(400);
          clock.advance(500);
        }
        expect((last['PowerControl'] as Body[])[0]?.['PowerMetrics']).toEqual({
          IntervalInMin: 1,
          MinConsumedWatts: 400,
          MaxConsumedWatts: 400,
          AverageConsumedWatts: 400,
        });
      } finally {
        await svc.close();
      }
    });
  });

  describe('logging', () => {
    it('logs a client that drops its connection mid-request at debug, not as a failed request', async () => {
      const entries: Array<{ level: string; fields: LogFields; message: string | undefined }> = [];
      const at =
        (level: string) =>
        (fields: LogFields, message?: string): void =>
          void entries.push({ level, fields, message });
      const logger: Logger = { trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => logger };
      const svc = createRedfishService({
        meters: [{ meter: new SimulatedMeter({ profile: 'constant:10' }) }],
        users: [{ name: 'admin', password: 's3cret-pass' }],
        logger,
        backgroundPolling: false,
      });
      await svc.listen();
      try {
        // A login (no credentials needed) whose body never arrives in full.
        const socket = connect(Number(new URL(svc.url).port), '127.0.0.1');
        socket.on('error', () => undefined);
        await new Promise<void>((resolve) => socket.once('connect', resolve));
        socket.write('POST /redfish/v1/SessionService/Sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"UserName":');
        await new Promise((r) => setTimeout(r, 100));
        socket.destroy();
        const deadline = Date.now() + 2000;
        while (!entries.some((e) => e.fields['err'] !== undefined) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        expect(entries.filter((e) => e.fields['err'] !== undefined).map((e) => [e.level, e.fields['err']])).toEqual([['debug', expect.stringMatching(/aborted/)]]);
        expect(entries.filter((e) => e.level === 'error' || e.level === 'warn')).toEqual([]);
      } finally {
        await svc.close();
      }
    });
  });

  describe('request deadline', () => {
    it('answers within requestTimeoutMs even when the meter deadline is longer', async () => {
      const hang: Meter = {
        driver: 'hang',
        target: 'hang',
        open: async () => ({ manufacturer: 'x', model: 'y' }),
        read: () => new Promise(() => undefined),
        close: async () => undefined,
      };
      const svc = createRedfishService({ meters: [{ id: 'h', meter: hang }], readTimeoutMs: 3000, requestTimeoutMs: 150, backgroundPolling: false });
      await svc.listen();
      try {
        const t0 = Date.now();
        const res = await getJson(`${svc.url}/redfish/v1/Chassis/h/Power`);
        expect(res.status).toBe(200);
        expect(Date.now() - t0).toBeLessThan(1500);
      } finally {
        await svc.close();
      }
    });
  });
});
