import { connect, type Socket } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { createLiveHub, type LiveHub, type LiveMeasurementInput } from '../../src/dashboard/live-hub.js';
import { dashboardPlugin, type DashboardPluginOptions } from '../../src/dashboard/plugin.js';
import { raw } from '../helpers.js';
import { openSse, type SseClient } from './support.js';

async function waitUntil(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

function batch(environment: string, size: number): LiveMeasurementInput[] {
  const now = Date.now() * 1e6;
  return Array.from({ length: size }, (_, i) => ({
    equipment: 'eq', environment, scenario: 's', step: 'x', sensor: 'power', unit: 'W', value: 100.123456 + i, timeNs: now - 1e9 + i * 1e3,
  }));
}

/** A raw client that asks for a stream and then reads nothing. */
async function stalledClient(url: string, environment: string): Promise<Socket> {
  const client = connect(Number(new URL(url).port), '127.0.0.1');
  await new Promise((r) => client.once('connect', r));
  client.write(`GET /resources/live?environment=${environment} HTTP/1.1\r\nHost: x\r\n\r\n`);
  client.pause();
  return client;
}

describe('live stream fan-out and limits', () => {
  let app: FastifyInstance;
  let hub: LiveHub;
  let url: string;
  const clients: Array<SseClient | Socket> = [];
  const serverSockets: Socket[] = [];

  async function start(options: Partial<DashboardPluginOptions> = {}): Promise<void> {
    hub = createLiveHub();
    app = Fastify();
    await app.register(dashboardPlugin, { hub, heartbeatMs: 60_000, ...options });
    url = await app.listen({ port: 0, host: '127.0.0.1' });
    app.server.on('connection', (s: Socket) => serverSockets.push(s));
  }
  const sse = async (path: string): Promise<SseClient> => {
    const c = await openSse(url, path);
    clients.push(c);
    return c;
  };

  afterEach(async () => {
    for (const c of clients.splice(0)) if ('destroy' in c) c.destroy();
    else c.close();
    serverSockets.length = 0;
    await app.close();
    jest.restoreAllMocks();
  });

  /** JSON.stringify calls made while `fn` runs. */
  function stringifyCalls(fn: () => void): number {
    const spy = jest.spyOn(JSON, 'stringify');
    try {
      fn();
      return spy.mock.calls.length;
    } finally {
      spy.mockRestore();
    }
  }

  it('serialises a stored batch and a session change once, whatever the number of streams watching them', async () => {
    await start();
    const first = await sse('/resources/live?environment=E');
    await first.next((e) => e.event === 'backlog');
    const global = await sse('/resources/live');
    await global.next((e) => e.event === 'environments');
    const points = batch('E', 50);
    hub.publishMeasurements(points);
    const withOne = stringifyCalls(() => hub.publishMeasurements(points));
    const sessionWithOne = stringifyCalls(() => hub.publishSession({ environment: 'E', scenario: 's', step: 'a', started: true, timeNs: 1 }));

    const more = await Promise.all(Array.from({ length: 40 }, () => sse('/resources/live?environment=E')));
    await Promise.all(more.map((c) => c.next((e) => e.event === 'backlog')));
    const globals = await Promise.all(Array.from({ length: 10 }, () => sse('/resources/live')));
    await Promise.all(globals.map((c) => c.next((e) => e.event === 'environments')));
    expect(stringifyCalls(() => hub.publishMeasurements(points))).toBe(withOne);
    expect(stringifyCalls(() => hub.publishSession({ environment: 'E', scenario: 's', step: 'b', started: true, timeNs: 2 }))).toBe(sessionWithOne);

    // Every stream still gets every event, byte for byte the same.
    const last = more.at(-1) as SseClient;
    const power = await last.next((e) => e.event === 'power');
    expect((await first.next((e) => e.event === 'power' && e.data === power.data)).data).toBe(power.data);
    const step = await (globals[0] as SseClient).next((e) => e.event === 'session' && e.data.includes('"b"'));
    expect((await last.next((e) => e.event === 'session' && e.data.includes('"b"'))).data).toBe(step.data);
  });

  it('answers 503 with a message beyond maxStreams, and takes a new stream once one closed', async () => {
    await start({ maxStreams: 3 });
    const open = [await sse('/resources/live?environment=E'), await sse('/resources/live'), await sse('/resources/live?environment=F')];
    const refused = await raw(url, 'GET', '/resources/live?environment=E');
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBeDefined();
    expect(refused.json).toEqual({ message: expect.stringContaining('at most 3') });
    (open[1] as SseClient).close();
    let again: SseClient | undefined;
    for (let i = 0; i < 100; i++) {
      again = await sse('/resources/live');
      if (again.status === 200) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(again?.status).toBe(200);
  });

  it('drops the streams holding the most unread bytes once all of them together pass maxTotalBufferedBytes', async () => {
    // Each stream may hold 1 GiB, far more than the loop below publishes (400 frames of about 50 kB), but all of
    // them together 512 KiB: only the total bound can drop anyone.
    await start({ maxBufferedBytes: 1024 * 1024 * 1024, maxTotalBufferedBytes: 512 * 1024 });
    const reader = await sse('/resources/live?environment=E');
    await reader.next((e) => e.event === 'backlog');
    const stalled = await Promise.all([1, 2, 3].map(() => stalledClient(url, 'E')));
    clients.push(...stalled);
    await waitUntil(() => serverSockets.length === 4);
    const points = batch('E', 2000);
    const sent = { n: 0 };
    const stalledServerSockets = (): Socket[] => serverSockets.slice(1);
    for (; sent.n < 400 && stalledServerSockets().some((s) => !s.destroyed); sent.n++) {
      hub.publishMeasurements(points);
      await new Promise((r) => setImmediate(r));
    }
    expect(stalledServerSockets().every((s) => s.destroyed)).toBe(true);
    // The client that reads keeps its stream and gets every batch.
    await waitUntil(() => reader.events.filter((e) => e.event === 'power').length === sent.n, 10_000);
    expect((serverSockets[0] as Socket).destroyed).toBe(false);
  });
});
