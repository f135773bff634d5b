import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { noopLogger, type LogFields, type Logger } from '@energyrecorder/core';
import { peerAvailable, startInfluxd, waitFor, type InfluxdPeer } from '@energyrecorder/testkit';
import { createApiServer, type ApiEvent, type ApiServer } from '../src/index.js';
import { scanMeasurementPost } from '../src/internal/packed-batch.js';
import { nsFromNow, raw, sendJson } from './helpers.js';
import { metric, queueDirs, queueDrained, readingKey, storedReadings, storedRows } from './influx-queue-support.js';

const have = peerAvailable('influxd', ['influxd']);

async function influxQuery(peer: InfluxdPeer, q: string, auth = 'admin:pw', db = 'NRG'): Promise<unknown> {
  const res = await fetch(`${peer.url}/query?${new URLSearchParams({ q, db }).toString()}`, {
    headers: { authorization: `Basic ${Buffer.from(auth).toString('base64')}` },
  });
  return res.json();
}

/** Runs an InfluxQL statement as the test peer's admin (POST, as schema statements need); throws on an error. */
async function influxAdmin(peer: InfluxdPeer, q: string): Promise<void> {
  const res = await fetch(`${peer.url}/query`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from('admin:pw').toString('base64')}` },
    body: new URLSearchParams({ q }),
  });
  const text = await res.text();
  if (res.status !== 200 || text.includes('"error"')) throw new Error(`${q}: ${res.status} ${text}`);
}

/** The retention policies of a database as `name duration default` strings. */
async function retentionPolicies(peer: InfluxdPeer, db: string): Promise<string[]> {
  const r = (await influxQuery(peer, `SHOW RETENTION POLICIES ON "${db}"`)) as { results: Array<{ series?: Array<{ values: unknown[][] }> }> };
  return (r.results[0]?.series?.[0]?.values ?? []).map((v) => `${String(v[0])} ${String(v[1])}${v[4] === true ? ' DEFAULT' : ''}`).sort();
}

/** A logger keeping every warning's message and fields. */
function warningLogger(): { logger: Logger; warnings: Array<{ message: string; fields: LogFields }> } {
  const warnings: Array<{ message: string; fields: LogFields }> = [];
  const logger: Logger = { ...noopLogger, warn: (fields, message) => void warnings.push({ message: message ?? '', fields }), child: () => logger };
  return { logger, warnings };
}

const dirs = queueDirs('api-influx-queue');

/**
 * Settings of an API on the test peer, `influx` added to `INFLUX`. Each API gets its own write queue directory
 * (the queue is on, as by default); `queue: false` for the answers that wait for influxd.
 */
function settings(peer: InfluxdPeer, influx: Record<string, unknown> = {}) {
  return { INFLUX: { host: peer.url, db: 'NRG', user: 'admin', pass: 'pw', timeout_ms: 2000, queue_dir: dirs.next(), ...influx }, BIND: '127.0.0.1:0' };
}

(have ? describe : describe.skip)('InfluxDB store', () => {
  let peer: InfluxdPeer;
  let a: ApiServer;
  let b: ApiServer;
  let urlA: string;
  let urlB: string;

  beforeAll(async () => {
    peer = await startInfluxd({ auth: { user: 'admin', pass: 'pw' } });
    a = createApiServer({ settings: settings(peer), port: 0 });
    b = createApiServer({ settings: settings(peer), port: 0 });
    urlA = await a.listen();
    urlB = await b.listen();
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await peer?.stop();
    dirs.removeAll();
  });

  it('creates the database and both retention policies at start', async () => {
    const r = JSON.stringify(await influxQuery(peer, 'SHOW RETENTION POLICIES ON "NRG"'));
    expect(r).toContain('power_data_rp');
    expect(r).toContain('running_scenarios_rp');
  });

  it('tags readings posted to one process with the scenario started through the other', async () => {
    await sendJson(urlA, 'POST', '/resources/recorders/environment/shared', { scenario: 'S1', step: 'warm' });
    const r = await sendJson(urlB, 'POST', '/resources/equipments/rack1-srv/measurements', {
      environment: 'shared',
      topology: { dc: 'myDC', rack: 'rack-B' },
      time: nsFromNow(),
      measurements: [{ sensor: 'power', unit: 'W', value: 321.5 }],
    });
    expect(r.status).toBe(200);
    await queueDrained(b);
    const got = JSON.stringify(await influxQuery(peer, `SELECT * FROM "SensorMeasurement" WHERE "environment" = 'shared'`));
    for (const col of ['equipement', 'environment', 'scenario', 'step', 'dc', 'rack', 'sensor', 'unit', 'value']) expect(got).toContain(`"${col}"`);
    expect(got).toContain('"S1"');
    expect(got).toContain('"warm"');
    expect(got).toContain('321.5');
    const onB = await raw(urlB, 'GET', '/resources/recorders/environment/shared');
    expect(onB.json).toEqual({ environment: 'shared', scenario: 'S1', step: 'warm' });
    const scen = JSON.stringify(await influxQuery(peer, 'SELECT * FROM "running_scenarios_rp"."RunningScenarios"'));
    expect(scen).toContain('"started"');
  });

  it('stores names that would break InfluxQL or line protocol without injection', async () => {
    const env = `x' OR 1=1 --, "q" \\end`;
    const path = `/resources/recorders/environment/${encodeURIComponent(env)}`;
    const started = await sendJson(urlA, 'POST', path, { scenario: 'a=b,c d', step: 's\\t' });
    // The original's JSON layout (Python's json.dumps), the names exact.
    expect(started.text).toBe(`{"environment": ${JSON.stringify(env)}, "step": "s\\\\t", "scenario": "a=b,c d"}\n`);
    const g = await raw(urlB, 'GET', path);
    expect(g.json).toEqual({ environment: env, scenario: 'a=b,c d', step: 's\\t' });
    expect((await raw(urlB, 'GET', `/resources/recorders/environment/x'`)).status).toBe(404);
    const trailing = await sendJson(urlA, 'POST', `/resources/recorders/environment/${encodeURIComponent('p\\')}`, { scenario: 'a', step: 'b' });
    expect(trailing.status).toBe(400);
    // A backslash before a space cannot be written to line protocol as itself: refused, not stored mangled.
    const beforeSpace = await sendJson(urlA, 'POST', `/resources/recorders/environment/${encodeURIComponent('p\\ q')}`, { scenario: 'a', step: 'b' });
    expect(beforeSpace.status).toBe(400);
    const t = nsFromNow();
    await sendJson(urlA, 'POST', '/resources/equipments/e%2C1/measurements', {
      environment: env,
      measurements: [{ sensor: 'power', unit: 'W', value: 5, time: t }],
    });
    const s = await a.store.queryPower({ environment: env, sensor: 'power', unit: 'W', fromNs: t - 1e9, toNs: t + 1e9 });
    expect(s).toEqual([{ equipment: 'e,1', timestampNs: t, powerWatts: 5 }]);
  });

  it('stores non-ASCII names byte-exact when the write body is encoded as UTF-8 rather than Latin-1', async () => {
    // 'é' and 'µ' fit Latin-1, where a Latin-1 copy would give different bytes than UTF-8; '电' and '⚡' do not.
    const env = 'salle-é-电';
    const t = nsFromNow();
    const r = await sendJson(urlA, 'POST', `/resources/equipments/${encodeURIComponent('srv-µ⚡')}/measurements`, {
      environment: env,
      measurements: [
        { sensor: 'power', unit: 'W', value: 7, time: t },
        { sensor: 'power', unit: 'W', value: 8, time: t + 1000 },
      ],
    });
    expect(r.status).toBe(200);
    const s = await a.store.queryPower({ environment: env, sensor: 'power', unit: 'W', fromNs: t - 1e9, toNs: t + 1e9 });
    expect(s).toEqual([
      { equipment: 'srv-µ⚡', timestampNs: t, powerWatts: 7 },
      { equipment: 'srv-µ⚡', timestampNs: t + 1000, powerWatts: 8 },
    ]);
  });

  it('stores the same points whether a body takes the byte fast path or the general path', async () => {
    const events: ApiEvent[] = [];
    const api = createApiServer({ settings: settings(peer), port: 0, onEvent: (e) => events.push(e) });
    const url = await api.listen();
    try {
      const t = Math.floor(nsFromNow() / 1e6) * 1e6;
      // Numbers as clients spell them, names line protocol must escape, readings sharing a series and a time
      // (stored 1 ns apart), one without a time (takes the batch's).
      const readings =
        `{"sensor":"power","unit":"W","value":1.50,"time":${t}},{"sensor":"power","unit":"W","value":2,"time":${t}},` +
        `{"sensor":"PSU 1,in=x","unit":"k W","value":-0.000123,"time":${t + 1000}},{"sensor":"power","unit":"W","value":880224647233262.005},` +
        `{"sensor":"volt","unit":"V","value":0.1000000000000000055511151231257827,"time":${t + 2000}}`;
      const fast = `{"environment":"twin-paths","time":${t + 5000},"measurements":[${readings}]}`;
      const general = `{"environment":"twin-paths","time":${t + 5000},"topology":{},"measurements":[${readings}]}`;
      expect(scanMeasurementPost(Buffer.from(fast))).toBeDefined();
      expect(scanMeasurementPost(Buffer.from(general))).toBeUndefined();
      const headers = { 'content-type': 'application/json' };
      const scannedBatches = async () =>
        Number(/^energyrecorder_ingest_scanned_batches_total (\d+)$/m.exec((await raw(url, 'GET', '/metrics')).text)?.[1] ?? NaN);
      expect((await raw(url, 'POST', '/resources/equipments/fast/measurements', { headers, body: fast })).status).toBe(200);
      expect((await raw(url, 'POST', '/resources/equipments/general/measurements', { headers, body: general })).status).toBe(200);
      // The first took the byte path, the second did not.
      expect(await scannedBatches()).toBe(1);
      await queueDrained(api);
      const rows = async (eq: string) => {
        const r = (await influxQuery(peer, `SELECT "environment","scenario","step","sensor","unit","value" FROM "SensorMeasurement" WHERE "equipement" = '${eq}'`)) as {
          results: Array<{ series?: Array<{ values: unknown[][] }> }>;
        };
        return r.results[0]?.series?.[0]?.values ?? [];
      };
      const stored = await rows('fast');
      expect(stored).toHaveLength(5);
      expect(stored).toEqual(await rows('general'));
      // Values as JSON.parse reads them, times as the general path gives them.
      const values = (stored as Array<[string, ...unknown[]]>).map((r) => [r[4], r[5], r[6]]);
      expect(values).toEqual([
        ['power', 'W', 1.5],
        ['power', 'W', 2],
        ['PSU 1,in=x', 'k W', -0.000123],
        ['volt', 'V', 0.1],
        ['power', 'W', 880224647233262],
      ]);
      // The live event of the fast path: all readings on demand, and one series without building the others.
      const fastEvent = events.find((e) => e.type === 'measurements' && e.equipment === 'fast');
      const generalEvent = events.find((e) => e.type === 'measurements' && e.equipment === 'general');
      if (fastEvent?.type !== 'measurements' || generalEvent?.type !== 'measurements') throw new Error('no measurement events');
      expect(fastEvent.readingsOf?.('power', 'W')).toEqual(generalEvent.readings.filter((r) => r.sensor === 'power' && r.unit === 'W'));
      expect(fastEvent.readings).toEqual(generalEvent.readings);
      expect(fastEvent.readings.map((r) => r.value)).toEqual([1.5, 2, -0.000123, 880224647233262, 0.1]);
    } finally {
      await api.close();
    }
  });

  it('stores every reading of many concurrent batches exactly (merged writes share reused buffers)', async () => {
    const t = Math.floor(nsFromNow() / 1e6) * 1e6;
    const expected = new Map<string, number>();
    let k = 0;
    const posts = Array.from({ length: 60 }, (_, b) => {
      const n = 1 + ((b * 37) % 250);
      const measurements = Array.from({ length: n }, () => {
        k++;
        const value = (k * 7919) % 100_003;
        expected.set(String(BigInt(t + k * 1000)), value);
        return { sensor: `s${k % 5}`, unit: 'W', value, time: t + k * 1000 };
      });
      return sendJson(urlA, 'POST', `/resources/equipments/concurrent/measurements`, { environment: 'conc', measurements });
    });
    expect((await Promise.all(posts)).map((r) => r.status)).toEqual(posts.map(() => 200));
    await queueDrained(a);
    const r = (await influxQuery(peer, `SELECT "value" FROM "SensorMeasurement" WHERE "equipement" = 'concurrent'`)) as {
      results: Array<{ series?: Array<{ values: Array<[string, number]> }> }>;
    };
    const rows = r.results[0]?.series?.[0]?.values ?? [];
    expect(rows).toHaveLength(expected.size);
    const stored = new Map(rows.map(([time, value]) => [String(BigInt(Date.parse(time)) * 1_000_000n + BigInt(/\.(\d+)Z$/.exec(time)?.[1]?.padEnd(9, '0').slice(3) ?? '0')), value]));
    expect(stored).toEqual(expected);
  });

  it('answers 503 without the write queue when influxd stops answering (SIGSTOP) within timeout_ms, and stores again once it resumes', async () => {
    const api = createApiServer({ settings: settings(peer, { timeout_ms: 800, queue: false }), port: 0 });
    const url = await api.listen();
    const pid = Number(readFileSync(join(peer.dataDir, 'influxd.pid'), 'utf8').trim());
    const post = (value: number) =>
      sendJson(url, 'POST', '/resources/equipments/frozen/measurements', { environment: 'frozen', measurements: [{ sensor: 'power', unit: 'W', value, time: nsFromNow() }] });
    try {
      expect((await post(1)).status).toBe(200);
      process.kill(pid, 'SIGSTOP');
      const t0 = Date.now();
      const r = await post(2);
      expect(r.status).toBe(503);
      expect(r.headers['retry-after']).toBeDefined();
      expect(Date.now() - t0).toBeLessThan(5000);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    try {
      await waitFor(async () => (await post(3)).status === 200, 'a write after SIGCONT', 10_000);
    } finally {
      await api.close();
    }
  });

  it('writes the PowerMeasurement point next to the reading when the legacy consumption endpoint is used', async () => {
    await sendJson(urlA, 'POST', '/resources/recorders/environment/legacy-i', { scenario: 'L', step: 'one' });
    // nsFromNow has ms resolution: step past the start event's millisecond first.
    await new Promise((res) => setTimeout(res, 5));
    const t = nsFromNow();
    const r = await sendJson(urlB, 'POST', '/resources/servers/srv%201/consumption', { power: 250, environment: 'legacy-i', time: t });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ environment: 'legacy-i', scenario: 'L', step: 'one', power: 250 });
    await queueDrained(b);
    const pm = (await influxQuery(peer, `SELECT "power", "hardware", "scenario", "step" FROM "PowerMeasurement" WHERE "environment" = 'legacy-i'`)) as {
      results: Array<{ series?: Array<{ columns: string[]; values: unknown[][] }> }>;
    };
    const series = pm.results[0]?.series?.[0];
    expect(series?.columns).toEqual(['time', 'power', 'hardware', 'scenario', 'step']);
    expect(series?.values).toHaveLength(1);
    expect(series?.values[0]?.slice(1)).toEqual([250, 'srv 1', 'L', 'one']);
    const sm = await a.store.queryPower({ environment: 'legacy-i', sensor: 'power', unit: 'W', fromNs: t - 1e9, toNs: t + 1e9 });
    expect(sm).toEqual([{ equipment: 'srv 1', timestampNs: t, powerWatts: 250 }]);
  });

  it('reports a session from InfluxDB data when asked', async () => {
    const env = 'rep-influx';
    await sendJson(urlA, 'POST', `/resources/recorders/environment/${env}`, { scenario: 'R', step: 'one' });
    const list = await raw(urlB, 'GET', `/resources/recorders/environment/${env}/sessions`);
    const startNs = (list.json as { sessions: Array<{ startNs: number }> }).sessions[0]?.startNs as number;
    const measurements = Array.from({ length: 21 }, (_, i) => ({ sensor: 'power', unit: 'W', value: 50, time: startNs - 10e9 + i * 1e9 }));
    await sendJson(urlB, 'POST', '/resources/equipments/srv/measurements', { environment: env, measurements });
    await sendJson(urlA, 'DELETE', `/resources/recorders/environment/${env}`);
    const rep = await raw(urlB, 'GET', `/resources/recorders/environment/${env}/report?start=${startNs}`);
    expect(rep.status).toBe(200);
    const body = rep.json as { scenario: string; equipments: Array<{ avgWatts: number }> };
    expect(body.scenario).toBe('R');
    expect(body.equipments[0]?.avgWatts).toBeCloseTo(50, 6);
  });

  it('answers 503 with Retry-After without the write queue while influxd is down and stores again once it is back', async () => {
    const api = createApiServer({ settings: settings(peer, { queue: false }), port: 0 });
    const url = await api.listen();
    try {
      const env = 'outage';
      const acked: number[] = [];
      const post = async (i: number) => {
        const r = await sendJson(url, 'POST', '/resources/equipments/srv/measurements', {
          environment: env,
          // + i µs: readings posted within one ms must stay distinct points.
          measurements: [{ sensor: 'power', unit: 'W', value: i, time: nsFromNow() + i * 1000 }],
        });
        if (r.status === 200) acked.push(i);
        return r;
      };
      for (let i = 0; i < 5; i++) await post(i);
      await peer.kill();
      const down = await post(100);
      expect(down.status).toBe(503);
      expect(down.headers['retry-after']).toBeDefined();
      expect((down.json as { message: string }).message).toMatch(/unavailable/i);
      const ping = await raw(url, 'GET', '/resources/monitoring/ping');
      expect(ping.status).toBe(500);
      await peer.restart();
      // Clients come back after Retry-After; the API must notice the database is back by itself.
      await waitFor(async () => (await raw(url, 'GET', '/resources/monitoring/ping')).status === 200, 'API sees influxd again', 20_000, 200);
      for (let i = 5; i < 10; i++) await post(i);
      const stored = await api.store.queryPower({ environment: env, sensor: 'power', unit: 'W', fromNs: nsFromNow(-60), toNs: nsFromNow(60) });
      expect(stored.map((s) => s.powerWatts).sort((x, y) => x - y)).toEqual(acked.sort((x, y) => x - y));
      expect(acked).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    } finally {
      await api.close();
    }
  });

  it('tags older readings on one process with scenario changes made through the other (session timeline)', async () => {
    const env = 'timeline';
    const post = (t: number, value: number) =>
      sendJson(urlB, 'POST', '/resources/equipments/tl-srv/measurements', {
        environment: env,
        time: t,
        measurements: [{ sensor: 'power', unit: 'W', value }],
      });
    const at = async (t: number) => {
      const r = await raw(urlB, 'GET', `/resources/recorders/environment/${env}?time=${t}`);
      return r.status === 200 ? (r.json as { scenario: string; step: string }) : r.status;
    };
    await sendJson(urlA, 'POST', `/resources/recorders/environment/${env}`, { scenario: 'TL', step: 'one' });
    const afterStart = nsFromNow();
    await new Promise((r) => setTimeout(r, 700));
    // Older than the 500 ms margin: B answers from a timeline it reads now.
    expect((await post(afterStart, 1)).status).toBe(200);
    expect(await at(afterStart)).toEqual({ environment: env, scenario: 'TL', step: 'one' });
    await sendJson(urlA, 'POST', `/resources/recorders/environment/${env}/step`, { step: 'two' });
    const afterStep = nsFromNow();
    await new Promise((r) => setTimeout(r, 700));
    // B's timeline predates the step: a reading after it must make B read again, one before it must not change.
    expect(await at(afterStep)).toEqual({ environment: env, scenario: 'TL', step: 'two' });
    expect(await at(afterStart)).toEqual({ environment: env, scenario: 'TL', step: 'one' });
    expect((await post(afterStep, 2)).status).toBe(200);
    await sendJson(urlA, 'DELETE', `/resources/recorders/environment/${env}`);
    const afterStop = nsFromNow();
    await new Promise((r) => setTimeout(r, 700));
    expect(await at(afterStop)).toBe(404);
    await queueDrained(b);
    const got = JSON.stringify(await influxQuery(peer, `SELECT "value", "step" FROM "SensorMeasurement" WHERE "environment" = '${env}'`));
    expect(got).toMatch(/"one",1\]|1,"one"\]/);
    expect(got).toMatch(/"two",2\]|2,"two"\]/);
  });

  /**
   * An epoch-ns double at or after `fromNs` whose shortest decimal (what JSON.stringify prints) is below its exact
   * value (`below`) or above it: sent that way, a bound at the value missed a point stored at it.
   */
  const awkwardNs = (fromNs: number, below: boolean): number => {
    for (let t = Math.round(fromNs); ; t += 256) {
      const d = BigInt(String(t)) - BigInt(t);
      if (below ? d < 0n : d > 0n) return t;
    }
  };

  it('includes a point stored at exactly the bound of a lookup, a listing or a power query (exact int64 parameters)', async () => {
    const store = a.store;
    const upper = awkwardNs(nsFromNow(-60), true);
    const lower = awkwardNs(nsFromNow(-30), false);
    await store.appendEvent({ environment: 'exact-upper', scenario: 'S', step: 'at-t', started: true, timeNs: upper });
    expect(await store.lastEvent('exact-upper', upper)).toMatchObject({ step: 'at-t', timeNs: upper });
    await store.appendEvent({ environment: 'exact-lower', scenario: 'S', step: 'at-t', started: true, timeNs: lower });
    expect((await store.listEvents('exact-lower', lower)).map((e) => e.timeNs)).toEqual([lower]);
    const reading = (timeNs: number) => ({ equipment: 'exact-eq', environment: 'exact', scenario: 'n/s', step: 'n/s', readings: [{ sensor: 'power', unit: 'W', value: 1, timeNs }] });
    await store.writeBatch(reading(upper));
    await store.writeBatch(reading(lower));
    const q = (fromNs: number, toNs: number) => store.queryPower({ environment: 'exact', sensor: 'power', unit: 'W', fromNs, toNs });
    expect((await q(upper, upper)).map((x) => x.timestampNs)).toEqual([upper]);
    expect((await q(lower, lower)).map((x) => x.timestampNs)).toEqual([lower]);
  });

  it('tags a batch collected at exactly the time of a scenario change with it, young (store lookup) or old (timeline)', async () => {
    const env = 'exact-api';
    // As another process would: a start, then a step change at a time JSON.stringify misprints (below).
    const stepNs = awkwardNs(nsFromNow(), true);
    await a.store.appendEvent({ environment: env, scenario: 'X', step: 'before', started: true, timeNs: stepNs - 5e9 });
    await a.store.appendEvent({ environment: env, scenario: 'X', step: 'at-t', started: true, timeNs: stepNs });
    const exact = BigInt(stepNs).toString();
    const tagAt = async (): Promise<unknown> =>
      (await raw(urlB, 'POST', '/resources/servers/exact-srv/consumption', {
        headers: { 'content-type': 'application/json' },
        body: `{"environment":"${env}","power":1,"time":${exact}}`,
      })).json;
    // Younger than the margin: the store is asked.
    expect((await raw(urlB, 'GET', `/resources/recorders/environment/${env}?time=${exact}`)).json).toMatchObject({ step: 'at-t' });
    expect(await tagAt()).toMatchObject({ scenario: 'X', step: 'at-t' });
    await a.store.appendEvent({ environment: env, scenario: 'X', step: 'at-t', started: false, timeNs: stepNs + 1e9 });
    const stopAt = BigInt(stepNs + 1e9).toString();
    expect((await raw(urlB, 'GET', `/resources/recorders/environment/${env}?time=${stopAt}`)).status).toBe(404);
    // Older than the margin: the timeline answers, the same way.
    await new Promise((r) => setTimeout(r, 1700));
    expect(await tagAt()).toMatchObject({ scenario: 'X', step: 'at-t' });
    expect((await raw(urlB, 'GET', `/resources/recorders/environment/${env}?time=${stopAt}`)).status).toBe(404);
  });

  it("answers 400 with influxd's reason without the write queue when it refuses a write (field type conflict), on both ingest paths", async () => {
    const api = createApiServer({ settings: settings(peer, { db: 'CONFLICT', queue: false }), port: 0 });
    const url = await api.listen();
    try {
      expect((await raw(url, 'GET', '/resources/monitoring/ping')).status).toBe(200);
      // Another tool wrote `value` as a string into this database first: influxd refuses our floats.
      const t = nsFromNow(-30);
      const seeded = await fetch(`${peer.url}/write?db=CONFLICT&precision=n`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from('admin:pw').toString('base64')}` },
        body: `SensorMeasurement,environment=conflict,equipement=other value="text" ${t}`,
      });
      expect(seeded.status).toBe(204);
      const fast = { environment: 'conflict', time: t, measurements: [{ sensor: 'power', unit: 'W', value: 1.5, time: t }] };
      const general = { ...fast, topology: { rack: 'r1' } };
      expect(scanMeasurementPost(Buffer.from(JSON.stringify(fast)))).toBeDefined();
      for (const body of [fast, general]) {
        const r = await sendJson(url, 'POST', '/resources/equipments/conflict-srv/measurements', body);
        expect(r.status).toBe(400);
        expect((r.json as { message: string }).message).toMatch(/^The store refused these readings: .*field type conflict/);
      }
    } finally {
      await api.close();
    }
  });

  it('recreates a dropped database by itself: 503 with Retry-After without the write queue meanwhile, then stores again', async () => {
    const api = createApiServer({ settings: settings(peer, { queue: false }), port: 0 });
    const url = await api.listen();
    try {
      const env = 'dropped';
      const post = (v: number) =>
        sendJson(url, 'POST', '/resources/equipments/srv/measurements', { environment: env, measurements: [{ sensor: 'power', unit: 'W', value: v, time: nsFromNow() }] });
      expect((await post(1)).status).toBe(200);
      await influxQuery(peer, 'DROP DATABASE "NRG"');
      const refused = await post(2);
      expect(refused.status).toBe(503);
      expect(refused.headers['retry-after']).toBeDefined();
      // The client's retry lands once the API has created the database and its policies again; no restart.
      await waitFor(async () => (await post(3)).status === 200, 'a write accepted after the database was recreated', 20_000, 200);
      const rps = JSON.stringify(await influxQuery(peer, 'SHOW RETENTION POLICIES ON "NRG"'));
      expect(rps).toContain('power_data_rp');
      expect(rps).toContain('running_scenarios_rp');
      expect((await sendJson(url, 'POST', `/resources/recorders/environment/${env}`, { scenario: 'after', step: 'drop' })).status).toBe(200);
      const stored = await api.store.queryPower({ environment: env, sensor: 'power', unit: 'W', fromNs: nsFromNow(-60), toNs: nsFromNow(60) });
      expect(stored.map((x) => x.powerWatts)).toContain(3);
    } finally {
      await api.close();
    }
  });

  it('refuses readings older than the measurements RP with a 400 naming the field instead of a 500', async () => {
    const api = createApiServer({ settings: settings(peer, { db: 'RET1', power_data_retention: '1h' }), port: 0 });
    const url = await api.listen();
    try {
      const r = await sendJson(url, 'POST', '/resources/equipments/old-srv/measurements', {
        environment: 'ret',
        measurements: [
          { sensor: 'power', unit: 'W', value: 1, time: nsFromNow(-60) },
          { sensor: 'power', unit: 'W', value: 2, time: nsFromNow(-7200) },
        ],
      });
      expect(r.status).toBe(400);
      expect(Object.keys((r.json as { errors: Record<string, string> }).errors)).toEqual(['measurements.1.time']);
    } finally {
      await api.close();
    }
  });

  it('answers 400 without the write queue and keeps the in-range readings when the RP was shortened behind its back (partial write)', async () => {
    const api = createApiServer({ settings: settings(peer, { db: 'RET2', queue: false }), port: 0 });
    const url = await api.listen();
    try {
      expect((await raw(url, 'GET', '/resources/monitoring/ping')).status).toBe(200);
      await fetch(`${peer.url}/query?${new URLSearchParams({ q: 'ALTER RETENTION POLICY "power_data_rp" ON "RET2" DURATION 1h SHARD DURATION 1h' }).toString()}`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from('admin:pw').toString('base64')}` },
      });
      const r = await sendJson(url, 'POST', '/resources/equipments/old-srv/measurements', {
        environment: 'ret2',
        measurements: [
          { sensor: 'power', unit: 'W', value: 11, time: nsFromNow(-60) },
          { sensor: 'power', unit: 'W', value: 12, time: nsFromNow(-7200) },
        ],
      });
      expect(r.status).toBe(400);
      expect(JSON.stringify(r.json)).toMatch(/older than the retention policy keeps/);
      const got = await fetch(`${peer.url}/query?${new URLSearchParams({ q: `SELECT "value" FROM "SensorMeasurement" WHERE "environment" = 'ret2'`, db: 'RET2' }).toString()}`, {
        headers: { authorization: `Basic ${Buffer.from('admin:pw').toString('base64')}` },
      });
      const text = await got.text();
      expect(text).toContain(',11]');
      expect(text).not.toContain(',12]');
      // After a ping the API knows the new duration and refuses such readings itself, naming them.
      expect((await raw(url, 'GET', '/resources/monitoring/ping')).status).toBe(200);
      const again = await sendJson(url, 'POST', '/resources/equipments/old-srv/measurements', {
        environment: 'ret2',
        measurements: [{ sensor: 'power', unit: 'W', value: 13, time: nsFromNow(-7200) }],
      });
      expect(Object.keys((again.json as { errors: Record<string, string> }).errors)).toEqual(['measurements.0.time']);
    } finally {
      await api.close();
    }
  });
  it("keeps an existing database's default RP (autogen): measurements go there and only running_scenarios_rp is added", async () => {
    await influxAdmin(peer, 'CREATE DATABASE "LEGACY"');
    const api = createApiServer({ settings: settings(peer, { db: 'LEGACY' }), port: 0 });
    const url = await api.listen();
    try {
      expect((await raw(url, 'GET', '/resources/monitoring/ping')).status).toBe(200);
      // power_data_rp would receive nothing: measurements go to the default RP, as the original wrote them.
      expect(await retentionPolicies(peer, 'LEGACY')).toEqual(['autogen 0s DEFAULT', 'running_scenarios_rp 8736h0m0s']);
      // Thirty days old: autogen keeps it (power_data_rp's three weeks would not), and it lands in autogen.
      const old = nsFromNow(-30 * 86_400);
      const r = await sendJson(url, 'POST', '/resources/equipments/legacy-srv/measurements', {
        environment: 'legacy-rp',
        measurements: [{ sensor: 'power', unit: 'W', value: 17, time: old }],
      });
      expect(r.status).toBe(200);
      await queueDrained(api);
      const res = await fetch(`${peer.url}/query?${new URLSearchParams({ db: 'LEGACY', q: `SELECT "value" FROM "autogen"."SensorMeasurement" WHERE "environment" = 'legacy-rp'` }).toString()}`, {
        headers: { authorization: `Basic ${Buffer.from('admin:pw').toString('base64')}` },
      });
      expect(await res.text()).toContain(',17]');
    } finally {
      await api.close();
    }
  });

  it('creates power_data_rp as DEFAULT on an existing database only when it has no default RP left', async () => {
    await influxAdmin(peer, 'CREATE DATABASE "NODEFAULT"');
    await influxAdmin(peer, 'DROP RETENTION POLICY "autogen" ON "NODEFAULT"');
    const api = createApiServer({ settings: settings(peer, { db: 'NODEFAULT' }), port: 0 });
    const url = await api.listen();
    try {
      expect((await raw(url, 'GET', '/resources/monitoring/ping')).status).toBe(200);
      expect(await retentionPolicies(peer, 'NODEFAULT')).toEqual(['power_data_rp 504h0m0s DEFAULT', 'running_scenarios_rp 8736h0m0s']);
      const r = await sendJson(url, 'POST', '/resources/equipments/nd-srv/measurements', {
        environment: 'nodefault',
        measurements: [{ sensor: 'power', unit: 'W', value: 3, time: nsFromNow() }],
      });
      expect(r.status).toBe(200);
    } finally {
      await api.close();
    }
  });

  it("refuses readings older than the default RP keeps, not power_data_rp's duration, when power_data_rp is not the default", async () => {
    await influxAdmin(peer, 'CREATE DATABASE "SHORTDEF" WITH DURATION 1h REPLICATION 1 NAME "short"');
    await influxAdmin(peer, 'CREATE RETENTION POLICY "power_data_rp" ON "SHORTDEF" DURATION 3w REPLICATION 1');
    const api = createApiServer({ settings: settings(peer, { db: 'SHORTDEF' }), port: 0 });
    const url = await api.listen();
    try {
      const r = await sendJson(url, 'POST', '/resources/equipments/short-srv/measurements', {
        environment: 'shortdef',
        measurements: [
          { sensor: 'power', unit: 'W', value: 1, time: nsFromNow(-60) },
          { sensor: 'power', unit: 'W', value: 2, time: nsFromNow(-7200) },
        ],
      });
      expect(r.status).toBe(400);
      // Named by the API's own check (influxd's partial-write answer would name no reading).
      expect(Object.keys((r.json as { errors: Record<string, string> }).errors)).toEqual(['measurements.1.time']);
      expect(await retentionPolicies(peer, 'SHORTDEF')).toEqual(['power_data_rp 504h0m0s', 'running_scenarios_rp 8736h0m0s', 'short 1h0m0s DEFAULT']);
    } finally {
      await api.close();
    }
  });

  it('serves a non-admin InfluxDB user (GRANT ALL on the database): missing RP is a warning, starts answer 503 naming it', async () => {
    await influxAdmin(peer, 'CREATE DATABASE "GRANTED"');
    await influxAdmin(peer, `CREATE USER "rec" WITH PASSWORD 'rec-pw'`);
    await influxAdmin(peer, 'GRANT ALL ON "GRANTED" TO "rec"');
    const { logger, warnings } = warningLogger();
    const api = createApiServer({ settings: settings(peer, { db: 'GRANTED', user: 'rec', pass: 'rec-pw' }), port: 0, logger });
    const url = await api.listen();
    try {
      expect((await raw(url, 'GET', '/resources/monitoring/ping')).status).toBe(200);
      const statement = 'CREATE RETENTION POLICY "running_scenarios_rp" ON "GRANTED" DURATION 52w REPLICATION 1';
      expect(warnings.find((w) => w.message.includes('running_scenarios_rp'))?.fields['run']).toBe(statement);
      // Measurements are written to the database's default RP, which the user may write to.
      const post = await sendJson(url, 'POST', '/resources/equipments/granted-srv/measurements', {
        environment: 'granted',
        measurements: [{ sensor: 'power', unit: 'W', value: 9, time: nsFromNow() }],
      });
      expect(post.status).toBe(200);
      const stored = await api.store.queryPower({ environment: 'granted', sensor: 'power', unit: 'W', fromNs: nsFromNow(-60), toNs: nsFromNow(60) });
      expect(stored.map((x) => x.powerWatts)).toEqual([9]);
      expect((await raw(url, 'GET', '/resources/recorders/environment/granted')).status).toBe(404);
      const start = await sendJson(url, 'POST', '/resources/recorders/environment/granted', { scenario: 'S', step: 'one' });
      expect(start.status).toBe(503);
      expect(start.headers['retry-after']).toBeDefined();
      expect((start.json as { message: string }).message).toContain(`no retention policy "running_scenarios_rp"`);
      expect((start.json as { message: string }).message).toContain(statement);
      expect(await retentionPolicies(peer, 'GRANTED')).toEqual(['autogen 0s DEFAULT']);
      // Once an admin ran it, starts work without a restart.
      await influxAdmin(peer, statement);
      expect((await sendJson(url, 'POST', '/resources/recorders/environment/granted', { scenario: 'S', step: 'one' })).status).toBe(200);
      expect((await raw(url, 'GET', '/resources/recorders/environment/granted')).json).toEqual({ environment: 'granted', scenario: 'S', step: 'one' });
    } finally {
      await api.close();
    }
  });

  it('answers 503 naming the statements to run when the database is missing and the user may not create it', async () => {
    await influxAdmin(peer, `CREATE USER "nobody" WITH PASSWORD 'n-pw'`);
    const api = createApiServer({ settings: settings(peer, { db: 'ABSENT', user: 'nobody', pass: 'n-pw' }), port: 0 });
    const url = await api.listen();
    try {
      const r = await sendJson(url, 'POST', '/resources/equipments/absent-srv/measurements', {
        environment: 'absent',
        measurements: [{ sensor: 'power', unit: 'W', value: 1, time: nsFromNow() }],
      });
      expect(r.status).toBe(503);
      expect((r.json as { message: string }).message).toContain('"ABSENT" does not exist and InfluxDB user "nobody" may not create it');
      expect((r.json as { message: string }).message).toContain('CREATE DATABASE "ABSENT" WITH DURATION 3w REPLICATION 1 NAME "power_data_rp"; CREATE RETENTION POLICY "running_scenarios_rp" ON "ABSENT" DURATION 52w REPLICATION 1');
    } finally {
      await api.close();
    }
  });
});

(have ? describe : describe.skip)('InfluxDB store: the durable write queue', () => {
  let peer: InfluxdPeer;

  beforeAll(async () => {
    peer = await startInfluxd({ auth: { user: 'admin', pass: 'pw' } });
  });
  afterAll(async () => {
    await peer?.stop();
    dirs.removeAll();
  });

  /** `/metrics` gauges of the write queue. */
  const queueMetrics = async (url: string) => ({
    batches: await metric(url, 'energyrecorder_influx_queue_batches'),
    bytes: await metric(url, 'energyrecorder_influx_queue_bytes'),
    oldestSeconds: await metric(url, 'energyrecorder_influx_queue_oldest_seconds'),
    rejected: await metric(url, 'energyrecorder_influx_queue_rejected_total'),
  });

  it('acknowledges readings while influxd is down, answers 503 to a scenario start meanwhile, and stores each acknowledged reading once after it restarts', async () => {
    // A batch is tagged with the session in force at its time, which the API asks influxd for; while influxd is
    // down it answers with what it last read of the environment (the test below), here before the kill.
    const api = createApiServer({ settings: settings(peer, { timeout_ms: 800 }), port: 0 });
    const url = await api.listen();
    const env = 'q-outage';
    const batchNs = nsFromNow();
    const acked = new Map<string, number>();
    const statuses: number[] = [];
    let n = 0;
    let streaming = true;
    let influxdDown = false;
    // Readings i µs apart, 2 sensors each; below 1,000 posts none falls on a whole second (which the API moves).
    const post = async (): Promise<void> => {
      const i = n++;
      const measurements = ['power', 'fan'].map((sensor, s) => ({ sensor, unit: 'W', value: i * 10 + s, time: batchNs + i * 1000 }));
      const r = await sendJson(url, 'POST', '/resources/equipments/q-srv/measurements', { environment: env, time: batchNs, measurements });
      statuses.push(r.status);
      if (r.status === 200) for (const m of measurements) acked.set(readingKey(m.sensor, m.time), m.value);
    };
    const stream = (async () => {
      while (streaming && n < 900) {
        await post();
        await new Promise((r) => setTimeout(r, 15));
      }
    })();
    const posted = (count: number) => waitFor(() => statuses.length >= count, `${count} posts`, 30_000, 5);
    try {
      await posted(10);
      await peer.kill();
      influxdDown = true;
      const atKill = statuses.length;
      await posted(atKill + 20);
      const down = await queueMetrics(url);
      expect(down.batches).toBeGreaterThan(0);
      expect(down.bytes).toBeGreaterThan(0);
      expect(down.oldestSeconds).toBeGreaterThan(0);
      // Scenario events are still written to influxd before the answer. (Another environment: a start drops
      // the environment's timeline.)
      const start = await sendJson(url, 'POST', '/resources/recorders/environment/q-outage-start', { scenario: 'S', step: 'one' });
      expect(start.status).toBe(503);
      expect(start.headers['retry-after']).toBeDefined();
      await peer.restart();
      influxdDown = false;
      await posted(statuses.length + 10);
      streaming = false;
      await stream;
      expect(statuses.filter((s) => s !== 200)).toEqual([]);
      await waitFor(async () => (await queueMetrics(url)).batches === 0, 'the queue to be sent to influxd', 30_000, 100);
      expect(await queueMetrics(url)).toEqual({ batches: 0, bytes: 0, oldestSeconds: 0, rejected: 0 });
      const stored = await storedReadings(peer, 'NRG', env, 'admin:pw');
      expect(stored.size).toBe(acked.size);
      expect(stored).toEqual(acked);
    } finally {
      streaming = false;
      await stream;
      await api.close();
      if (influxdDown) await peer.restart();
    }
  });

  it('tags readings with the session it last read of their environment while influxd is down, and answers 503 for one it never looked up', async () => {
    const { logger, warnings } = warningLogger();
    const api = createApiServer({ settings: settings(peer, { timeout_ms: 800 }), port: 0, logger });
    const url = await api.listen();
    const env = 'q-known';
    let influxdDown = false;
    const post = (environment: string, value: number, time?: number) =>
      sendJson(url, 'POST', '/resources/equipments/known-srv/measurements', {
        environment,
        ...(time === undefined ? {} : { time }),
        measurements: [{ sensor: 'power', unit: 'W', value }],
      });
    try {
      expect((await sendJson(url, 'POST', `/resources/recorders/environment/${env}`, { scenario: 'K', step: 'one' })).status).toBe(200);
      expect((await sendJson(url, 'POST', `/resources/recorders/environment/${env}/step`, { step: 'two' })).status).toBe(200);
      // This batch makes the API read the session of the environment.
      expect((await post(env, 1, nsFromNow())).status).toBe(200);
      await peer.kill();
      influxdDown = true;
      // Stamped now, and without a time (the API's clock): tagged with what the API read before the kill.
      expect((await post(env, 2, nsFromNow())).status).toBe(200);
      expect((await post(env, 3)).status).toBe(200);
      // An environment this API never looked up: it cannot know what runs there.
      for (const time of [nsFromNow(), undefined]) {
        const never = await post('q-never', 4, time);
        expect(never.status).toBe(503);
        expect(never.headers['retry-after']).toBeDefined();
      }
      const fallbacks = warnings.filter((w) => /session state this process last read/.test(w.message));
      expect(fallbacks).toHaveLength(1);
      expect(fallbacks[0]?.fields).toMatchObject({ env });
      expect((await queueMetrics(url)).batches).toBeGreaterThanOrEqual(2);
      await peer.restart();
      influxdDown = false;
      await queueDrained(api, 30_000);
      const rows = await storedRows(peer, 'NRG', env, 'admin:pw');
      expect(rows.map((r) => ({ value: r.value, scenario: r.scenario, step: r.step })).sort((x, y) => x.value - y.value)).toEqual(
        [1, 2, 3].map((value) => ({ value, scenario: 'K', step: 'two' })),
      );
      expect(await storedRows(peer, 'NRG', 'q-never', 'admin:pw')).toEqual([]);
    } finally {
      await api.close();
      if (influxdDown) await peer.restart();
    }
  });

  it('acknowledges a batch influxd refuses for good (field type conflict), keeps its lines with the reason in rejected.lp, and stores the other batches', async () => {
    const queueDir = dirs.next();
    const api = createApiServer({ settings: settings(peer, { db: 'QCONFLICT', queue_dir: queueDir }), port: 0 });
    const url = await api.listen();
    try {
      expect((await raw(url, 'GET', '/resources/monitoring/ping')).status).toBe(200);
      // Another tool wrote `value` as a string two days ago: influxd refuses floats in that day's shard only.
      const oldNs = nsFromNow(-2 * 86_400);
      const seeded = await fetch(`${peer.url}/write?db=QCONFLICT&precision=n`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from('admin:pw').toString('base64')}` },
        body: `SensorMeasurement,environment=q-conflict,equipement=other value="text" ${oldNs}`,
      });
      expect(seeded.status).toBe(204);
      const t = nsFromNow();
      const good = (i: number) => ({ environment: 'q-fine', time: t, measurements: [{ sensor: 'power', unit: 'W', value: i, time: t + i * 1000 }] });
      const bad = { environment: 'q-conflict', time: oldNs, measurements: [{ sensor: 'power', unit: 'W', value: 1.5, time: oldNs + 1000 }] };
      // Posted together, so the queue may send them in one write, which influxd refuses as a whole.
      const answers = await Promise.all([good(1), bad, good(2), good(3)].map((body) => sendJson(url, 'POST', '/resources/equipments/conflict-srv/measurements', body)));
      expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200]);
      await waitFor(async () => (await queueMetrics(url)).batches === 0, 'the queue to be sent to influxd', 20_000, 50);
      expect((await queueMetrics(url)).rejected).toBe(1);
      const rejected = readFileSync(join(queueDir, 'rejected.lp'), 'utf8').split('\n');
      expect(rejected).toHaveLength(3);
      expect(rejected[0]).toMatch(/^# \S+ InfluxDB refused these lines for good: .*field type conflict/);
      expect(rejected[1]).toMatch(/^SensorMeasurement,environment=q-conflict,equipement=conflict-srv,.*sensor=power.* value=1\.5 \d+$/);
      expect(rejected[2]).toBe('');
      expect(await storedReadings(peer, 'QCONFLICT', 'q-fine', 'admin:pw')).toEqual(new Map([1, 2, 3].map((i) => [readingKey('power', t + i * 1000), i])));
      // The refused reading is not stored; the string written by the other tool is (a field typed differently in
      // two shards is read one type at a time).
      const values = async (type: string): Promise<unknown[]> => {
        const r = (await influxQuery(peer, `SELECT "value"::${type} FROM "SensorMeasurement" WHERE "environment" = 'q-conflict'`, 'admin:pw', 'QCONFLICT')) as {
          results: Array<{ series?: Array<{ values: unknown[][] }> }>;
        };
        return r.results[0]?.series?.[0]?.values.map((v) => v[1]) ?? [];
      };
      expect(await values('string')).toEqual(['text']);
      expect(await values('float')).toEqual([]);
    } finally {
      await api.close();
    }
  });

  it('includes readings acknowledged just before a report in it (read your writes), even while the queue waits to send them again', async () => {
    await influxAdmin(peer, 'CREATE DATABASE "RYW" WITH DURATION 3w REPLICATION 1 NAME "power_data_rp"');
    await influxAdmin(peer, 'CREATE RETENTION POLICY "running_scenarios_rp" ON "RYW" DURATION 52w REPLICATION 1');
    await influxAdmin(peer, `CREATE USER "ryw" WITH PASSWORD 'ryw-pw'`);
    await influxAdmin(peer, 'GRANT ALL ON "RYW" TO "ryw"');
    const api = createApiServer({ settings: settings(peer, { db: 'RYW', user: 'ryw', pass: 'ryw-pw', timeout_ms: 5000 }), port: 0 });
    const url = await api.listen();
    try {
      const env = 'q-ryw';
      expect((await sendJson(url, 'POST', `/resources/recorders/environment/${env}`, { scenario: 'R', step: 'one' })).status).toBe(200);
      const list = await raw(url, 'GET', `/resources/recorders/environment/${env}/sessions`);
      const startNs = (list.json as { sessions: Array<{ startNs: number }> }).sessions[0]?.startNs as number;
      // influxd refuses the API's writes (403) while its reads still work: the queue keeps the batch and retries,
      // waiting longer after each failure.
      await influxAdmin(peer, 'GRANT READ ON "RYW" TO "ryw"');
      const now = nsFromNow();
      const measurements = Array.from({ length: 5 }, (_, i) => ({ sensor: 'power', unit: 'W', value: 40 + i * 5, time: now - (4 - i) * 1e6 }));
      expect(measurements[0]?.time).toBeGreaterThan(startNs);
      expect((await sendJson(url, 'POST', '/resources/equipments/ryw-srv/measurements', { environment: env, measurements })).status).toBe(200);
      await new Promise((r) => setTimeout(r, 1500));
      expect((await queueMetrics(url)).batches).toBe(1);
      // Writes allowed again; the queue's next try is hundreds of ms away, and the report is asked for now.
      await influxAdmin(peer, 'GRANT ALL ON "RYW" TO "ryw"');
      const rep = await raw(url, 'GET', `/resources/recorders/environment/${env}/report?start=${startNs}`);
      expect(rep.status).toBe(200);
      const body = rep.json as { equipments: Array<{ equipment: string; avgWatts: number }> };
      expect(body.equipments.map((e) => e.equipment)).toEqual(['ryw-srv']);
      expect((await queueMetrics(url)).batches).toBe(0);
    } finally {
      await api.close();
    }
  });

  it('refuses to start a second store on the queue directory of a running one, naming INFLUX.queue_dir, and leaves the first one working', async () => {
    const queueDir = dirs.next();
    const first = createApiServer({ settings: settings(peer, { queue_dir: queueDir }), port: 0 });
    const second = createApiServer({ settings: settings(peer, { queue_dir: queueDir }), port: 0 });
    const url = await first.listen();
    try {
      await expect(second.listen()).rejects.toThrow(/INFLUX\.queue_dir/);
      await second.close();
      // The failed start did not take the directory from the first store.
      expect(readFileSync(join(queueDir, 'lock.pid'), 'utf8').trim()).toBe(String(process.pid));
      const t = nsFromNow();
      const r = await sendJson(url, 'POST', '/resources/equipments/lock-srv/measurements', { environment: 'q-lock', measurements: [{ sensor: 'power', unit: 'W', value: 4, time: t }] });
      expect(r.status).toBe(200);
      expect(await first.store.queryPower({ environment: 'q-lock', sensor: 'power', unit: 'W', fromNs: t - 1e9, toNs: t + 1e9 })).toEqual([{ equipment: 'lock-srv', timestampNs: t, powerWatts: 4 }]);
    } finally {
      await first.close();
    }
    expect(existsSync(join(queueDir, 'lock.pid'))).toBe(false);
  });
});
