import { makeTempDir, peerAvailable, removeDir, startInfluxd, type InfluxdPeer } from '@energyrecorder/testkit';
import { createApiServer, type ApiServer } from '../src/index.js';
import { nsFromNow, raw, sendJson } from './helpers.js';
import { queueDrained } from './influx-queue-support.js';

// Points as the original stored them (seed-behaviour §1.3, §1.4), on both stores: names with backslashes, which it
// wrote as they are, and whole-second batches of its collectors (`int(now_s) * 1e9`, §2), which its random ns
// jitter kept apart.

const have = peerAvailable('influxd', ['influxd']);

interface Series {
  columns: string[];
  values: unknown[][];
}

async function influxQuery(peer: InfluxdPeer, q: string): Promise<Series[]> {
  const res = await fetch(`${peer.url}/query?${new URLSearchParams({ q, db: 'NRG', epoch: 'ns' }).toString()}`);
  const body = (await res.json()) as { results: Array<{ series?: Series[]; error?: string }> };
  const first = body.results[0];
  if (first?.error !== undefined) throw new Error(first.error);
  return first?.series ?? [];
}

/** The rows of a query as objects keyed by column. */
async function rows(peer: InfluxdPeer, q: string): Promise<Array<Record<string, unknown>>> {
  return (await influxQuery(peer, q)).flatMap((s) => s.values.map((v) => Object.fromEntries(s.columns.map((c, i) => [c, v[i]]))));
}

/** An InfluxQL string literal. */
const lit = (s: string): string => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** A whole second, as the original collectors stamp their readings. */
const wholeSecondNow = (): number => Math.floor(nsFromNow() / 1e9) * 1e9;

/** Two polls in one second, and a re-send of the first; the power readings of `environment` in that second. */
async function twoPollsInOneSecond(api: ApiServer, url: string, environment: string, shape: 'power' | 'sensors' | 'topology') {
  const second = wholeSecondNow();
  const body = (power: number): unknown => {
    // A power collector sends no reading time (the batch's is used); a sensor collector stamps each reading.
    if (shape === 'power') return { environment, time: second, measurements: [{ sensor: 'power', unit: 'W', value: power }] };
    const measurements = [
      { sensor: 'power', unit: 'W', value: power, time: second },
      { sensor: 'temp', unit: 'C', value: 30.5, time: second },
    ];
    return shape === 'sensors' ? { environment, time: second, measurements } : { environment, time: second, topology: { rack: 'r1' }, measurements };
  };
  for (const power of [100, 110.5, 100]) {
    const r = await sendJson(url, 'POST', '/resources/equipments/srv-1/measurements', body(power));
    expect(r.status).toBe(200);
  }
  const samples = await api.store.queryPower({ environment, sensor: 'power', unit: 'W', fromNs: second - 1e9, toNs: second + 1e9 });
  return { second, samples };
}

function expectKeptApart(second: number, samples: ReadonlyArray<{ timestampNs: number; powerWatts: number }>): void {
  // Both polls are stored, the re-sent one once; each within 1 ms after the second.
  expect(samples.map((s) => s.powerWatts).sort((a, b) => a - b)).toEqual([100, 110.5]);
  for (const s of samples) {
    expect(s.timestampNs).toBeGreaterThanOrEqual(second);
    expect(s.timestampNs).toBeLessThan(second + 1e6);
  }
}

describe('whole-second batches (embedded store)', () => {
  let api: ApiServer;
  let url: string;

  beforeAll(async () => {
    api = createApiServer({ port: 0 });
    url = await api.listen();
  });
  afterAll(async () => {
    await api.close();
  });

  it.each(['power', 'sensors', 'topology'] as const)(
    'keeps two polls of one second apart and a re-sent one once when the collector sends the %s shape',
    async (shape) => {
      const { second, samples } = await twoPollsInOneSecond(api, url, `ws-embedded-${shape}`, shape);
      expectKeptApart(second, samples);
    },
  );
});

(have ? describe : describe.skip)('what the original stored (InfluxDB store)', () => {
  let peer: InfluxdPeer;
  let api: ApiServer;
  let url: string;
  let queueDir: string | undefined;

  beforeAll(async () => {
    peer = await startInfluxd();
    queueDir = makeTempDir('api-compat-queue');
    api = createApiServer({ settings: { INFLUX: { host: peer.url, db: 'NRG', timeout_ms: 5000, queue_dir: queueDir }, BIND: '127.0.0.1:0' }, port: 0 });
    url = await api.listen();
  });
  afterAll(async () => {
    await api?.close();
    await peer?.stop();
    if (queueDir !== undefined) removeDir(queueDir);
  });

  it.each(['power', 'sensors', 'topology'] as const)(
    'keeps two polls of one second apart and a re-sent one once when the collector sends the %s shape',
    async (shape) => {
      const { second, samples } = await twoPollsInOneSecond(api, url, `ws-influx-${shape}`, shape);
      expectKeptApart(second, samples);
    },
  );

  it('stores the same point for a whole-second reading whether its batch takes the byte fast path or not', async () => {
    const second = wholeSecondNow();
    const reading = { sensor: 'power', unit: 'W', value: 230.25, time: second };
    await sendJson(url, 'POST', '/resources/equipments/twin/measurements', { environment: 'ws-twin', measurements: [reading] });
    await sendJson(url, 'POST', '/resources/equipments/twin/measurements', { environment: 'ws-twin', topology: null, measurements: [reading] });
    // `topology: {}` sends the batch down the general path; same series, so the same point when the times agree.
    await sendJson(url, 'POST', '/resources/equipments/twin/measurements', { environment: 'ws-twin', topology: {}, measurements: [reading] });
    await queueDrained(api);
    const got = await rows(peer, `SELECT "value" FROM "SensorMeasurement" WHERE "environment" = 'ws-twin'`);
    expect(got).toHaveLength(1);
    expect(Number(got[0]?.['time']) - second).toBeLessThan(1e6);
  });

  it('stores backslashes in scenario, step, equipment, sensor and topology values as the original did', async () => {
    const env = 'bs-pod';
    const started = await sendJson(url, 'POST', `/resources/recorders/environment/${env}`, { scenario: 'DOM\\scen', step: 'st\\ep' });
    expect(started.status).toBe(200);
    const get = await raw(url, 'GET', `/resources/recorders/environment/${env}`);
    expect(get.json).toEqual({ environment: env, scenario: 'DOM\\scen', step: 'st\\ep' });
    const t = nsFromNow();
    const post = await sendJson(url, 'POST', `/resources/equipments/${encodeURIComponent('srv\\1')}/measurements`, {
      environment: env,
      time: t,
      topology: { rack: 'B\\2' },
      measurements: [{ sensor: 'power\\in', unit: 'W', value: 42, time: t }],
    });
    expect(post.status).toBe(200);
    await queueDrained(api);

    // InfluxDB holds one backslash where the name has one, as the original's writes (spaces escaped only) left it.
    const stored = await rows(peer, `SELECT * FROM "SensorMeasurement" WHERE "environment" = ${lit(env)}`);
    expect(stored).toEqual([
      { time: t, value: 42, equipement: 'srv\\1', environment: env, scenario: 'DOM\\scen', step: 'st\\ep', rack: 'B\\2', sensor: 'power\\in', unit: 'W' },
    ]);
    const events = await rows(peer, `SELECT * FROM "running_scenarios_rp"."RunningScenarios" WHERE "environment" = ${lit(env)}`);
    expect(events.map((e) => [e['scenario'], e['step']])).toEqual([['DOM\\scen', 'st\\ep']]);

    // The original's own line for that reading lands in the same series and on the same point: no split.
    const original = `SensorMeasurement,equipement=srv\\1,environment=${env},scenario=DOM\\scen,step=st\\ep,rack=B\\2,sensor=power\\in,unit=W value=42 ${BigInt(t)}`;
    const w = await fetch(`${peer.url}/write?db=NRG`, { method: 'POST', body: original });
    expect(w.status).toBe(204);
    expect(await influxQuery(peer, `SHOW SERIES FROM "SensorMeasurement" WHERE "environment" = ${lit(env)}`)).toEqual([
      { columns: ['key'], values: [['SensorMeasurement,environment=bs-pod,equipement=srv\\1,rack=B\\2,scenario=DOM\\scen,sensor=power\\in,step=st\\ep,unit=W']] },
    ]);
    expect(await rows(peer, `SELECT count("value") FROM "SensorMeasurement" WHERE "environment" = ${lit(env)}`)).toEqual([{ time: 0, count: 1 }]);

    // Read back through the store: the equipment of a power sample.
    const samples = await api.store.queryPower({ environment: env, sensor: 'power\\in', unit: 'W', fromNs: t - 1e9, toNs: t + 1e9 });
    expect(samples).toEqual([{ equipment: 'srv\\1', timestampNs: t, powerWatts: 42 }]);
  });

  it('finds the session of an environment named with a backslash', async () => {
    const env = 'bs\\env';
    const path = `/resources/recorders/environment/${encodeURIComponent(env)}`;
    expect((await sendJson(url, 'POST', path, { scenario: 'A\\B', step: 'running' })).status).toBe(200);
    const t = nsFromNow();
    const r = await sendJson(url, 'POST', '/resources/equipments/srv/measurements', {
      environment: env,
      time: t,
      measurements: [{ sensor: 'power', unit: 'W', value: 7, time: t }],
    });
    expect(r.status).toBe(200);
    expect((await raw(url, 'GET', path)).json).toEqual({ environment: env, scenario: 'A\\B', step: 'running' });
    await queueDrained(api);
    const stored = await rows(peer, `SELECT * FROM "SensorMeasurement" WHERE "environment" = ${lit(env)}`);
    expect(stored.map((s) => s['scenario'])).toEqual(['A\\B']);
  });
});
