import { nowNs } from '@energyrecorder/core';
import { peerAvailable, startInfluxd, type InfluxdPeer } from '@energyrecorder/testkit';
import { createApiServer, createInfluxStore, type MeasurementBatch, type ScenarioEvent, type Store } from '../src/index.js';
import { deferred, sendJson } from './helpers.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition never met');
    await sleep(1);
  }
}

/** The step of the latest event at or before `atNs`, as the store's lookup answers. */
function stepAt(events: readonly ScenarioEvent[], atNs: number): string | undefined {
  let found: ScenarioEvent | undefined;
  for (const e of events) if (e.timeNs <= atNs && (found === undefined || e.timeNs >= found.timeNs)) found = e;
  return found?.step;
}

/** A store holding everything in memory whose event writes finish only when the test says so. */
function gatedStore() {
  const events: ScenarioEvent[] = [];
  const batches: MeasurementBatch[] = [];
  const pending: Array<{ event: ScenarioEvent; release: () => void }> = [];
  let hold = false;
  const latest = (env: string, atNs: number | undefined): ScenarioEvent | undefined =>
    events.filter((e) => e.environment === env && (atNs === undefined || e.timeNs <= atNs)).sort((a, b) => a.timeNs - b.timeNs).at(-1);
  const store: Store = {
    kind: 'memory',
    async init() {},
    async ping() {},
    async appendEvent(e) {
      if (hold) {
        const gate = deferred();
        pending.push({ event: e, release: gate.resolve });
        await gate.promise;
      }
      events.push(e);
    },
    async lastEvent(env, atNs) {
      return latest(env, atNs);
    },
    async listEvents(env, sinceNs) {
      return events.filter((e) => e.environment === env && e.timeNs >= (sinceNs ?? 0)).sort((a, b) => a.timeNs - b.timeNs);
    },
    async writeMeasurements() {},
    async writeBatch(batch) {
      batches.push({ ...batch, readings: batch.readings });
    },
    async queryPower() {
      return [];
    },
    async close() {},
  };
  return { store, batches, pending, setHold: (on: boolean) => void (hold = on) };
}

describe('a step change while its event write is in flight', () => {
  // Default margin: young readings ask the store. A 1 ns margin: every reading goes through a timeline.
  it.each([
    ['the store', undefined],
    ['a timeline', { marginNs: 1 }],
  ])('tags a batch stamped after the step with the new step when its lookup goes to %s', async (_path, sessionTimeline) => {
    const { store, batches, pending, setHold } = gatedStore();
    const api = createApiServer({ port: 0, store, dashboard: false, ...(sessionTimeline === undefined ? {} : { sessionTimeline }) });
    const url = await api.listen();
    const post = (equipment: string, environment: string, timeNs: number) =>
      sendJson(url, 'POST', `/resources/equipments/${equipment}/measurements`, {
        environment,
        time: timeNs,
        measurements: [{ sensor: 'power', unit: 'W', value: 1 }],
      });
    const env = '/resources/recorders/environment/race';
    try {
      expect((await sendJson(url, 'POST', env, { scenario: 'R', step: 'one' })).status).toBe(200);
      expect((await sendJson(url, 'POST', '/resources/recorders/environment/calm', { scenario: 'C', step: 'c' })).status).toBe(200);
      setHold(true);
      const step = sendJson(url, 'POST', `${env}/step`, { step: 'two' });
      await until(() => pending.length === 1);
      const eventNs = (pending[0] as { event: ScenarioEvent }).event.timeNs;

      const young = post('young', 'race', eventNs + 1000);
      // A batch of before the step, and one of another environment, are not held back by the write.
      expect((await post('old', 'race', eventNs - 1e6)).status).toBe(200);
      expect((await post('calm', 'calm', eventNs + 1000)).status).toBe(200);
      await sleep(20);

      (pending[0] as { release: () => void }).release();
      expect((await step).status).toBe(200);
      expect((await young).status).toBe(200);
      const stepOf = (equipment: string): string | undefined => batches.find((b) => b.equipment === equipment)?.step;
      expect({ young: stepOf('young'), old: stepOf('old'), calm: stepOf('calm') }).toEqual({ young: 'two', old: 'one', calm: 'c' });
    } finally {
      await api.close();
    }
  });
});

const have = peerAvailable('influxd', ['influxd']);

(have ? describe : describe.skip)('step changes racing fresh batches (InfluxDB)', () => {
  let peer: InfluxdPeer;

  beforeAll(async () => {
    peer = await startInfluxd({});
  });
  afterAll(async () => {
    await peer?.stop();
  });

  it('tags no batch stamped after a step with the previous step, and a re-sent batch overwrites itself', async () => {
    const influx = createInfluxStore({ host: peer.url, db: 'RACE', powerDataRetention: '3w', runningScenariosRetention: '52w', timeoutMs: 5000 });
    // An idle test influxd writes an event in 1-3 ms; the audit saw step calls of up to 50 ms under load. Each event
    // write here reaches influxd 10 ms late, so batches keep arriving while one is in flight on every step.
    const store: Store = {
      ...influx,
      kind: influx.kind,
      async appendEvent(e, signal) {
        await sleep(10);
        await influx.appendEvent(e, signal);
      },
    };
    const api = createApiServer({ store, port: 0, dashboard: false });
    const url = await api.listen();
    const env = 'race';
    const sent: Array<{ equipment: string; value: number; timeNs: number; body: unknown }> = [];
    let seq = 0;
    let stop = false;
    const post = async (equipment: string, body: unknown): Promise<void> => {
      const r = await sendJson(url, 'POST', `/resources/equipments/${equipment}/measurements`, body);
      if (r.status !== 200) throw new Error(`measurements: ${r.status} ${r.text}`);
    };
    const worker = async (w: number): Promise<void> => {
      while (!stop) {
        // The collect time of a fresh poll: the same clock the API stamps events with.
        const timeNs = nowNs();
        const value = ++seq;
        const body = { environment: env, time: timeNs, measurements: [{ sensor: 'power', unit: 'W', value }] };
        await post(`eq${w}`, body);
        sent.push({ equipment: `eq${w}`, value, timeNs, body });
      }
    };
    try {
      expect((await sendJson(url, 'POST', `/resources/recorders/environment/${env}`, { scenario: 'R', step: 's0' })).status).toBe(200);
      const workers = [0, 1, 2, 3].map(worker);
      for (let i = 1; i <= 60; i++) {
        await sleep(15);
        const r = await sendJson(url, 'POST', `/resources/recorders/environment/${env}/step`, { step: `s${i}` });
        expect(r.status).toBe(200);
      }
      stop = true;
      await Promise.all(workers);

      const events = await api.store.listEvents(env);
      expect(events).toHaveLength(61);
      const stored = async (): Promise<Map<string, string[]>> => {
        const q = `SELECT "value", "step", "equipement" FROM "SensorMeasurement" WHERE "environment" = '${env}'`;
        const res = await fetch(`${peer.url}/query?${new URLSearchParams({ q, db: 'RACE' }).toString()}`);
        const body = (await res.json()) as { results: Array<{ series?: Array<{ values: Array<[string, number, string, string]> }> }> };
        const steps = new Map<string, string[]>();
        for (const [, value, step, equipment] of body.results[0]?.series?.[0]?.values ?? []) {
          const key = `${equipment}:${value}`;
          steps.set(key, [...(steps.get(key) ?? []), step]);
        }
        return steps;
      };
      const mistagged = (steps: Map<string, string[]>): string[] =>
        sent.flatMap((b) => {
          const want = stepAt(events, b.timeNs);
          const got = steps.get(`${b.equipment}:${b.value}`) ?? [];
          return got.length === 1 && got[0] === want ? [] : [`${b.equipment}:${b.value} want ${String(want)} got ${got.join('+')}`];
        });
      expect(sent.length).toBeGreaterThan(200);
      expect(mistagged(await stored())).toEqual([]);

      // A collector's replay of every batch: each lands on its own point again.
      for (const b of sent) await post(b.equipment, b.body);
      expect(mistagged(await stored())).toEqual([]);
    } finally {
      await api.close();
    }
  });
});
