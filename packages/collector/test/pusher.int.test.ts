import { makeTempDir, removeDir, waitFor } from '@energyrecorder/testkit';
import { recorderApiServerSchema, type MeasurementBatch } from '@energyrecorder/core';
import { Pusher } from '../src/internal/pusher.js';
import { Spool } from '../src/internal/spool.js';
import { createApiTransport } from '../src/internal/transport.js';
import { FakeApi } from './helpers/fake-api.js';
import { captureLogger } from './helpers/capture-logger.js';

const T0 = 1_763_000_000_000_000_000;

function batch(device: string, i: number, readings = 1): MeasurementBatch {
  return {
    equipmentId: device,
    environment: 'POD 1',
    topology: { dc: 'myDC', rack: 'rack-B' },
    collectTimeNs: T0 + i * 1e9,
    readings: Array.from({ length: readings }, (_, k) => ({
      sensor: `s${k}`,
      unit: 'W',
      value: i,
      timestampNs: T0 + i * 1e9 + 123_000_000,
    })),
  };
}

describe('Pusher against an HTTP server on loopback', () => {
  let api: FakeApi;
  let dir: string;
  let spool: Spool;

  beforeEach(async () => {
    api = new FakeApi();
    await api.listen();
    dir = makeTempDir('pusher');
    spool = await Spool.open(dir, { maxBytes: 64 << 20 });
  });
  afterEach(async () => {
    await spool.close();
    await api.close();
    removeDir(dir);
  });

  function pusher(extra: Partial<ConstructorParameters<typeof Pusher>[0]> = {}, user?: string): Pusher {
    const settings = recorderApiServerSchema.parse({
      base_url: `${api.url}/`,
      ...(user === undefined ? {} : { user, pass: 'p@ss' }),
      timeout: 5,
    });
    return new Pusher({ spool, transport: createApiTransport(settings), flushIntervalMs: 50, ...extra });
  }

  it('posts the original body format with Basic auth and an encoded equipment id when flushed', async () => {
    const p = pusher({}, 'user');
    p.enqueue(batch('rack 1/srv#2', 1));
    await p.flush();
    expect(api.posts).toHaveLength(1);
    const post = api.posts[0];
    expect(post?.path).toBe('/resources/equipments/rack%201%2Fsrv%232/measurements');
    expect(post?.authorization).toBe(`Basic ${Buffer.from('user:p@ss').toString('base64')}`);
    expect(post?.body).toEqual({
      environment: 'POD 1',
      time: T0 + 1e9,
      topology: { dc: 'myDC', rack: 'rack-B' },
      measurements: [{ sensor: 's0', unit: 'W', value: 1, time: T0 + 1e9 + 123_000_000 }],
    });
    expect(spool.depth().records).toBe(0);
    await p.stop(1000);
  });

  it('splits a batch into POSTs of at most 10 000 readings when it is larger', async () => {
    const p = pusher();
    p.enqueue(batch('big', 1, 25_000));
    await p.flush();
    expect(api.posts.map((x) => x.body.measurements.length)).toEqual([10_000, 10_000, 5000]);
    await p.stop(1000);
  });

  it('keeps batches in the spool and replays them in order when the API answers 503 then recovers', async () => {
    const delivered: string[] = [];
    const p = pusher({ onDelivered: (r) => delivered.push(`${r.equipmentId}:${r.measurements[0]?.value}`) });
    api.answer = () => ({ status: 503, body: { message: 'influx down' } });
    for (let i = 0; i < 5; i++) p.enqueue(batch(i % 2 === 0 ? 'a' : 'b', i));
    await p.flush();
    expect(api.posts).toHaveLength(0);
    expect(p.status()).toMatchObject({ spoolBatches: 5, apiReachable: false, lastError: '503: influx down' });
    api.answer = () => ({ status: 200, body: { status: 'OK' } });
    for (let i = 5; i < 8; i++) p.enqueue(batch(i % 2 === 0 ? 'a' : 'b', i));
    await p.stop(5000);
    const seen = api.measurements();
    expect(seen.filter((m) => m.device === 'a').map((m) => m.value)).toEqual([0, 2, 4, 6]);
    expect(seen.filter((m) => m.device === 'b').map((m) => m.value)).toEqual([1, 3, 5, 7]);
    expect(delivered).toHaveLength(8);
    expect(spool.depth().records).toBe(0);
  });

  it('waits for Retry-After when the API answers 429', async () => {
    const p = pusher();
    let calls = 0;
    api.answer = () => (++calls === 1 ? { status: 429, headers: { 'retry-after': '3600' }, body: {} } : { status: 200, body: { status: 'OK' } });
    p.enqueue(batch('a', 1));
    await p.flush();
    await p.flush(); // within the hour: no new attempt
    expect(calls).toBe(1);
    expect(p.status().spoolBatches).toBe(1);
    await p.stop(2000); // shutdown tries once more regardless
    expect(calls).toBe(2);
    expect(api.posts).toHaveLength(1);
  });

  it('drops a batch and logs the API message when the API answers 400, and keeps sending the others', async () => {
    const lines: { level: string; msg: string; fields: Record<string, unknown> }[] = [];
    const p = pusher({ logger: captureLogger(lines) });
    api.answer = (post) =>
      post.body.measurements[0]?.value === 2
        ? { status: 400, body: { errors: { 'measurements.0.value': 'not a number' }, message: 'Input payload validation failed' } }
        : { status: 200, body: { status: 'OK' } };
    for (let i = 1; i <= 3; i++) p.enqueue(batch('a', i));
    await p.flush();
    expect(api.measurements().map((m) => m.value)).toEqual([1, 3]);
    expect(p.status()).toMatchObject({ rejectedBatches: 1, spoolBatches: 0 });
    const err = lines.find((l) => l.level === 'error');
    expect(err?.fields['code']).toBe('ER_PUSH_REJECTED');
    expect(err?.msg).toContain('Input payload validation failed');
    await p.stop(1000);
  });

  it('cuts a hanging POST and keeps the batch in the spool when stopped with a deadline', async () => {
    const settings = recorderApiServerSchema.parse({ base_url: api.url, timeout: 600 });
    const p = new Pusher({ spool, transport: createApiTransport(settings), flushIntervalMs: 50 });
    api.hang = true;
    p.start();
    p.enqueue(batch('a', 1));
    await waitFor(() => api.received >= 1, 'the POST to reach the API');
    // The read timeout is 10 minutes: only the stop deadline can end this round.
    await p.stop(300);
    expect(spool.depth().records).toBe(1);
    expect(p.status().deliveredBatches).toBe(0);
  });

  it('spools batches when nothing listens and delivers them when the API comes back on the same port', async () => {
    const port = api.port;
    await api.close();
    const p = pusher({ maxRetryDelayMs: 100 });
    p.start();
    for (let i = 0; i < 10; i++) p.enqueue(batch('a', i));
    await new Promise((r) => setTimeout(r, 300));
    expect(p.status().spoolBatches).toBe(10);
    expect(p.status().lastError).toMatch(/network/);
    await api.listen(port);
    const deadline = Date.now() + 10_000;
    while (api.posts.length < 10 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(api.measurements().map((m) => m.value)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await p.stop(1000);
  });

  it('keeps the batch and logs an error naming the Location when the API answers with a redirect', async () => {
    const lines: { level: string; msg: string; fields: Record<string, unknown> }[] = [];
    const p = pusher({ logger: captureLogger(lines), maxRetryDelayMs: 50 });
    api.answer = () => ({ status: 301, headers: { location: 'https://recorder.example/v2/resources' } });
    p.enqueue(batch('a', 1));
    await p.flush();
    expect(p.status()).toMatchObject({ rejectedBatches: 0, spoolBatches: 1, apiReachable: false });
    const err = lines.find((l) => l.level === 'error');
    expect(err?.fields['location']).toBe('https://recorder.example/v2/resources');
    expect(err?.msg).toContain('base_url');
    // Fixed (here: the server stops redirecting): the kept batch goes out.
    api.answer = () => ({ status: 200, body: { status: 'OK' } });
    await p.stop(2000);
    expect(api.measurements().map((m) => m.value)).toEqual([1]);
  });
});
