import { connect, type Socket } from 'node:net';
import Fastify from 'fastify';
import { makeTempDir, removeDir } from '@energyrecorder/testkit';
import { createLiveHub } from '../../src/dashboard/live-hub.js';
import { dashboardPlugin } from '../../src/dashboard/plugin.js';
import { createApiServer, type ApiServer } from '../../src/index.js';
import { nsFromNow, raw, sendJson } from '../helpers.js';
import { basic, buildDashboardInto, openSse, type SseClient } from './support.js';

describe('dashboard routes on the API server', () => {
  let dir: string;
  let api: ApiServer;
  let url: string;
  const streams: SseClient[] = [];

  beforeAll(async () => {
    dir = makeTempDir('dash-server');
    await buildDashboardInto(`${dir}/assets`);
    api = createApiServer({ port: 0, dashboard: { assetsDir: `${dir}/assets` } });
    url = await api.listen();
  });

  afterAll(async () => {
    for (const s of streams) s.close();
    await api.close();
    removeDir(dir);
  });

  it('serves the page with a strict content security policy when / is requested', async () => {
    const res = await raw(url, 'GET', '/');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.headers['content-security-policy']).toContain("script-src 'self'");
    expect(res.text).toContain('/dashboard/app.js');
    // Everything the page loads comes from this server: no CDN.
    expect(res.text).not.toMatch(/https?:\/\//);
    const again = await raw(url, 'GET', '/', { headers: { 'if-none-match': String(res.headers['etag']) } });
    expect(again.status).toBe(304);
  });

  it('serves the bundled script with uPlot inside when the page asks for it', async () => {
    const res = await raw(url, 'GET', '/dashboard/app.js');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/javascript/);
    expect(res.text).toContain('uplot');
    const css = await raw(url, 'GET', '/dashboard/app.css');
    expect(css.text).toContain('.uplot');
  });

  it('answers 404 when a file is unknown or the path tries to leave the folder', async () => {
    expect((await raw(url, 'GET', '/dashboard/nope.js')).status).toBe(404);
    expect((await raw(url, 'GET', '/dashboard/..%2f..%2fpackage.json')).status).toBe(404);
    expect((await raw(url, 'GET', '/dashboard/../package.json')).status).toBe(404);
  });

  it('keeps the dashboard routes out of the OpenAPI document', async () => {
    const res = await raw(url, 'GET', '/resources/swagger.json');
    expect(res.text).not.toContain('/resources/live');
  });

  it('streams the scenario and the power readings when they are stored', async () => {
    const sse = await openSse(url, '/resources/live?environment=pod%20one');
    streams.push(sse);
    expect(sse.status).toBe(200);
    expect(sse.headers['content-type']).toMatch(/^text\/event-stream/);
    await sse.next((e) => e.event === 'backlog');

    expect((await sendJson(url, 'POST', '/resources/recorders/environment/pod%20one', { scenario: 'boot', step: 'init' })).status).toBe(200);
    const t = nsFromNow();
    const posted = await sendJson(url, 'POST', '/resources/equipments/srv-1/measurements', {
      environment: 'pod one',
      time: t,
      measurements: [
        { sensor: 'power', unit: 'W', value: 231.5, time: t },
        { sensor: 'inlet', unit: 'Celsius', value: 22, time: t },
      ],
    });
    expect(posted.status).toBe(200);

    const session = JSON.parse((await sse.next((e) => e.event === 'session')).data) as Record<string, unknown>;
    expect(session).toMatchObject({ environment: 'pod one', scenario: 'boot', step: 'init', started: true });
    const power = JSON.parse((await sse.next((e) => e.event === 'power')).data) as { samples: Array<[number, number]> };
    expect(power).toMatchObject({ environment: 'pod one', equipment: 'srv-1', scenario: 'boot', step: 'init' });
    expect(power.samples.map(([, w]) => w)).toEqual([231.5]);
    expect(sse.events.filter((e) => e.event === 'power')).toHaveLength(1);
  });

  it('gives a late page the recent samples when it connects after they were stored', async () => {
    const sse = await openSse(url, '/resources/live?environment=pod%20one');
    streams.push(sse);
    const backlog = JSON.parse((await sse.next((e) => e.event === 'backlog')).data) as {
      state: { session?: { scenario: string } };
      power: Array<{ equipment: string; samples: Array<[number, number]> }>;
    };
    expect(backlog.state.session?.scenario).toBe('boot');
    expect(backlog.power).toEqual([expect.objectContaining({ equipment: 'srv-1', samples: [[expect.any(Number), 231.5]] })]);
    const envs = await raw(url, 'GET', '/resources/live/environments');
    expect(envs.json).toMatchObject({ environments: [expect.objectContaining({ environment: 'pod one', equipments: ['srv-1'] })] });
  });

  it('sends session changes of every environment when no environment is named', async () => {
    const sse = await openSse(url, '/resources/live');
    streams.push(sse);
    await sse.next((e) => e.event === 'environments');
    await sendJson(url, 'POST', '/resources/recorders/environment/pod-two', { scenario: 's2', step: 'a' });
    const ev = JSON.parse((await sse.next((e) => e.event === 'session')).data) as Record<string, unknown>;
    expect(ev).toMatchObject({ environment: 'pod-two', scenario: 's2', started: true });
  });

  it('answers 400 naming the field when the environment holds a control character', async () => {
    const res = await raw(url, 'GET', '/resources/live?environment=a%0Ab');
    expect(res.status).toBe(400);
    expect((res.json as { message: string }).message).toMatch(/^environment: must not contain control characters/);
  });

  it('streams an environment whose name is as long as the API accepts, and refuses what the API refuses', async () => {
    const name = 'e'.repeat(1024);
    const posted = await sendJson(url, 'POST', `/resources/recorders/environment/${name}`, { scenario: 'long', step: 'a' });
    expect(posted.status).toBe(200);
    const sse = await openSse(url, `/resources/live?environment=${name}`);
    streams.push(sse);
    expect(sse.status).toBe(200);
    const backlog = JSON.parse((await sse.next((e) => e.event === 'backlog')).data) as { state: { session?: { scenario: string } } };
    expect(backlog.state.session?.scenario).toBe('long');
    sse.close();
    const tooLong = 'e'.repeat(1025);
    expect((await sendJson(url, 'POST', `/resources/recorders/environment/${tooLong}`, { scenario: 'long', step: 'a' })).status).toBe(400);
    const refused = await raw(url, 'GET', `/resources/live?environment=${tooLong}`);
    expect(refused.status).toBe(400);
    expect(refused.json).toEqual({ message: 'environment: must be at most 1024 characters' });
  });

  it('announces an environment that only sends power to the stream of every environment when it first does', async () => {
    const sse = await openSse(url, '/resources/live');
    streams.push(sse);
    await sse.next((e) => e.event === 'environments');
    const t = nsFromNow();
    const posted = await sendJson(url, 'POST', '/resources/equipments/meter/measurements', {
      environment: 'power-only',
      time: t,
      measurements: [{ sensor: 'power', unit: 'W', value: 5, time: t }],
    });
    expect(posted.status).toBe(200);
    const ev = await sse.next((e) => e.event === 'environments' && e.data.includes('power-only'));
    expect(JSON.parse(ev.data)).toEqual({ environments: [{ environment: 'power-only', equipments: ['meter'], lastSampleNs: t }] });
    expect(sse.events.filter((e) => e.event === 'power')).toEqual([]);
  });

  it('streams power sent in kW as the watts the report counts', async () => {
    const env = 'kw-pod';
    const sse = await openSse(url, `/resources/live?environment=${env}`);
    streams.push(sse);
    await sse.next((e) => e.event === 'backlog');
    const post = (equipment: string, unit: string, value: number, t: number): Promise<{ status: number }> =>
      sendJson(url, 'POST', `/resources/equipments/${equipment}/measurements`, {
        environment: env,
        time: t,
        measurements: [{ sensor: 'power', unit, value, time: t }],
      });
    expect((await post('pdu-kw', 'kW', 1.5, nsFromNow(-2))).status).toBe(200);
    expect((await sendJson(url, 'POST', `/resources/recorders/environment/${env}`, { scenario: 'sc', step: 'st' })).status).toBe(200);
    expect((await post('pdu-kw', 'kW', 1.5, nsFromNow(1))).status).toBe(200);
    expect((await sendJson(url, 'DELETE', `/resources/recorders/environment/${env}`)).status).toBe(200);
    const report = (await raw(url, 'GET', `/resources/recorders/environment/${env}/report?scenario=sc`)).json as {
      equipments: Array<{ equipment: string; avgWatts: number }>;
    };
    expect(report.equipments).toEqual([expect.objectContaining({ equipment: 'pdu-kw', avgWatts: 1500 })]);
    await sse.next((e) => e.event === 'power' && e.data.includes('pdu-kw') && sse.events.filter((x) => x.event === 'power').length === 2);
    const streamed = sse.events
      .filter((e) => e.event === 'power')
      .flatMap((e) => (JSON.parse(e.data) as { samples: Array<[number, number]> }).samples.map(([, w]) => w));
    expect(streamed).toEqual([1500, 1500]);
  });
});

describe('dashboard stream with a client that does not read', () => {
  it('closes the connection when the client is dropped for letting too much pile up', async () => {
    const hub = createLiveHub();
    const app = Fastify();
    await app.register(dashboardPlugin, { hub, maxBufferedBytes: 64 * 1024, heartbeatMs: 60_000 });
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    const serverSockets: Socket[] = [];
    app.server.on('connection', (s: Socket) => serverSockets.push(s));
    const client = connect(Number(new URL(url).port), '127.0.0.1');
    try {
      await new Promise((r) => client.once('connect', r));
      client.write('GET /resources/live?environment=E HTTP/1.1\r\nHost: x\r\n\r\n');
      // The client reads nothing from here on, so what the server writes piles up in its buffers.
      client.pause();
      await waitUntil(() => hub.subscriberCount === 1);
      const now = Date.now() * 1e6;
      const batch = Array.from({ length: 2000 }, (_, i) => ({
        equipment: 'eq', environment: 'E', scenario: 's', step: 'x', sensor: 'power', unit: 'W', value: 123.456789 + i, timeNs: now - 1e9 + i * 1e3,
      }));
      for (let i = 0; i < 2000 && hub.subscriberCount > 0; i++) {
        hub.publishMeasurements(batch);
        await new Promise((r) => setImmediate(r));
      }
      expect(hub.subscriberCount).toBe(0);
      const socket = serverSockets[0] as Socket;
      // end() would have queued the end behind the unread megabytes and kept the socket open for ever.
      await waitUntil(() => socket.destroyed);
      expect(socket.writableLength).toBe(0);
    } finally {
      client.destroy();
      await app.close();
    }
  });
});

async function waitUntil(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('dashboard routes with authentication on', () => {
  let dir: string;
  let api: ApiServer;
  let url: string;

  beforeAll(async () => {
    dir = makeTempDir('dash-auth');
    api = createApiServer({
      settings: { AUTH: { users: [{ name: 'viewer', password: 'view-pass', role: 'reader' }] } },
      host: '127.0.0.1',
      port: 0,
      storePath: ':memory:',
      dashboard: { assetsDir: `${dir}/not-built` },
    });
    url = await api.listen();
  });

  afterAll(async () => {
    await api.close();
    removeDir(dir);
  });

  it('asks the browser for credentials when the page or the stream is requested without them', async () => {
    for (const path of ['/', '/dashboard/app.js', '/resources/live?environment=x', '/resources/live/environments']) {
      const res = await raw(url, 'GET', path);
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/^Basic realm=/);
    }
    expect((await raw(url, 'GET', '/', { headers: { authorization: basic('viewer', 'wrong') } })).status).toBe(401);
  });

  it('challenges in the same realm as the REST API when both refuse, so the browser asks only once', async () => {
    const page = await raw(url, 'GET', '/');
    const api = await raw(url, 'GET', '/resources/recorders/environment/x/sessions');
    expect(api.status).toBe(401);
    expect(page.headers['www-authenticate']).toBe(api.headers['www-authenticate']);
    expect(page.json).toEqual(api.json);
  });

  it('explains how to build the page when the assets are missing and the user is known', async () => {
    const res = await raw(url, 'GET', '/', { headers: { authorization: basic('viewer', 'view-pass') } });
    expect(res.status).toBe(503);
    expect(res.text).toContain('npm run build');
  });

  it('opens the stream when the credentials are right', async () => {
    const sse = await openSse(url, '/resources/live?environment=x', { authorization: basic('viewer', 'view-pass') });
    try {
      expect(sse.status).toBe(200);
      await sse.next((e) => e.event === 'backlog');
    } finally {
      sse.close();
    }
  });
});

describe('dashboard stream on shutdown', () => {
  it('ends open streams so the server can close when a client is still connected', async () => {
    const api = createApiServer({ port: 0, dashboard: false });
    const url = await api.listen();
    expect((await raw(url, 'GET', '/')).status).toBe(404);
    await api.close();

    const live = createApiServer({ port: 0 });
    const liveUrl = await live.listen();
    const sse = await openSse(liveUrl, '/resources/live?environment=x');
    await sse.next((e) => e.event === 'backlog');
    await live.close();
    await sse.ended;
    expect(sse.events[0]?.event).toBe('backlog');
  });
});
