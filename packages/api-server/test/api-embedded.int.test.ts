import { noopLogger, type Logger } from '@energyrecorder/core';
import { createApiServer, createSqliteStore, type ApiServer, type Store } from '../src/index.js';
import { nsFromNow, raw, sendJson } from './helpers.js';

// The original clients' exact calls (seed-behaviour §2.2, §4.3, §4.7), replayed as raw HTTP against the API with
// its embedded store.
describe('recording API (embedded store)', () => {
  let api: ApiServer;
  let url: string;
  const sdkHeaders = { 'content-type': 'application/json' };

  beforeAll(async () => {
    api = createApiServer({ port: 0 });
    url = await api.listen();
  });
  afterAll(async () => {
    await api.close();
  });

  it('answers the Python SDK probe and session calls as the original when a scenario runs', async () => {
    const ping = await raw(url, 'GET', '/resources/monitoring/ping', { headers: sdkHeaders });
    expect(ping.status).toBe(200);
    expect(ping.json).toEqual({ status: 'OK' });

    const none = await raw(url, 'GET', '/resources/recorders/environment/MOCK_POD');
    expect(none.status).toBe(404);
    expect(none.json).toEqual({ message: `Can't find any recording session for recorder "MOCK_POD"` });

    const start = await raw(url, 'POST', '/resources/recorders/environment/MOCK_POD', {
      headers: sdkHeaders,
      body: JSON.stringify({ step: 'running', scenario: 'vping_ssh' }),
    });
    expect(start.status).toBe(200);
    expect(start.json).toEqual({ environment: 'MOCK_POD', scenario: 'vping_ssh', step: 'running' });

    const step = await raw(url, 'POST', '/resources/recorders/environment/MOCK_POD/step', {
      headers: sdkHeaders,
      body: JSON.stringify({ step: 'step1' }),
    });
    expect(step.json).toEqual({ environment: 'MOCK_POD', scenario: 'vping_ssh', step: 'step1' });

    const get = await raw(url, 'GET', '/resources/recorders/environment/MOCK_POD');
    expect(get.json).toEqual({ environment: 'MOCK_POD', scenario: 'vping_ssh', step: 'step1' });

    // requests sends content-type json and Content-Length: 0 on this DELETE.
    const stop = await raw(url, 'DELETE', '/resources/recorders/environment/MOCK_POD', {
      headers: { ...sdkHeaders, 'content-length': '0' },
    });
    expect(stop.status).toBe(200);
    expect(stop.json).toEqual({ environment: 'MOCK_POD', scenario: 'vping_ssh', step: 'step1' });

    const again = await raw(url, 'DELETE', '/resources/recorders/environment/MOCK_POD', { headers: sdkHeaders });
    expect(again.status).toBe(404);
    const stepNone = await sendJson(url, 'POST', '/resources/recorders/environment/MOCK_POD/step', { step: 'x' });
    expect(stepNone.status).toBe(404);
  });

  it('uses Werkzeug reason phrases the shell SDK greps for when answering', async () => {
    const ok = await raw(url, 'GET', '/resources/monitoring/ping');
    expect(`${ok.status} ${ok.statusMessage}`).toBe('200 OK');
    const nf = await raw(url, 'GET', '/resources/recorders/environment/shell-pod');
    expect(`${nf.status} ${nf.statusMessage}`).toBe('404 NOT FOUND');
  });

  it('tags a collector batch with the scenario running at its collect time when posted later', async () => {
    const env = 'corr-pod';
    await sendJson(url, 'POST', `/resources/recorders/environment/${env}`, { scenario: 'A', step: 'running' });
    // nsFromNow has ms resolution: step past the start event's millisecond first.
    await new Promise((r) => setTimeout(r, 5));
    const during = nsFromNow();
    await new Promise((r) => setTimeout(r, 5));
    await sendJson(url, 'DELETE', `/resources/recorders/environment/${env}`);
    const atDuring = await raw(url, 'GET', `/resources/recorders/environment/${env}?time=${during}`);
    expect(atDuring.json).toEqual({ environment: env, scenario: 'A', step: 'running' });
    // The collector's own call: JSON body {environment, time, measurements}, equipment id in the path.
    const post = await sendJson(url, 'POST', '/resources/equipments/server%231/measurements', {
      environment: env,
      time: during,
      measurements: [{ sensor: 'power', unit: 'W', value: 120 }],
    });
    expect(post.status).toBe(200);
    expect(post.json).toEqual({ status: 'OK' });
    const samples = await api.store.queryPower({ environment: env, sensor: 'power', unit: 'W', fromNs: during - 1e9, toNs: during + 1e9 });
    expect(samples.map((s) => s.equipment)).toEqual(['server#1']);
  });

  it('stores n/s readings when nothing runs and ALWAYS_RECORD is on', async () => {
    const r = await sendJson(url, 'POST', '/resources/equipments/eq/measurements', {
      environment: 'idle-pod',
      measurements: [{ sensor: 'power', unit: 'W', value: 1 }],
    });
    expect(r.status).toBe(200);
  });

  it.each([
    ['a missing environment', { measurements: [] }, 'environment'],
    ['a string value', { environment: 'p', measurements: [{ sensor: 's', unit: 'W', value: 'x' }] }, 'measurements.0.value'],
    ['a missing sensor', { environment: 'p', measurements: [{ unit: 'W', value: 1 }] }, 'measurements.0.sensor'],
    ['measurements not a list', { environment: 'p', measurements: {} }, 'measurements'],
    ['a newline in a name', { environment: 'p\nq', measurements: [] }, 'environment'],
    ['a time in ms', { environment: 'p', measurements: [{ sensor: 's', unit: 'W', value: 1, time: Date.now() }] }, 'measurements.0.time'],
    ['a batch time in seconds', { environment: 'p', time: Math.floor(Date.now() / 1000), measurements: [] }, 'time'],
  ])('answers 400 naming the field when given %s', async (_what, payload, field) => {
    const r = await sendJson(url, 'POST', '/resources/equipments/eq/measurements', payload);
    expect(r.status).toBe(400);
    const b = r.json as { errors: Record<string, string>; message: string };
    expect(b.message).toBe('Input payload validation failed');
    expect(Object.keys(b.errors)).toContain(field);
  });

  it('names the unit a timestamp looks like when it is not ns', async () => {
    const r = await sendJson(url, 'POST', '/resources/equipments/eq/measurements', {
      environment: 'p',
      measurements: [{ sensor: 's', unit: 'W', value: 1, time: 1_700_000_000_000 }],
    });
    expect((r.json as { errors: Record<string, string> }).errors['measurements.0.time']).toMatch(/milliseconds/);
    const q = await raw(url, 'GET', '/resources/recorders/environment/p?time=1700000000');
    expect(q.status).toBe(400);
    expect((q.json as { errors: Record<string, string> }).errors['time']).toMatch(/seconds/);
  });

  it('answers 400 for bad JSON, 413 for oversized bodies and never 500', async () => {
    const bad = await raw(url, 'POST', '/resources/recorders/environment/p', { headers: sdkHeaders, body: '{"scenario":' });
    expect(bad.status).toBe(400);
    expect(typeof (bad.json as { message: string }).message).toBe('string');
    const arr = await sendJson(url, 'POST', '/resources/recorders/environment/p', [1, 2]);
    expect(arr.status).toBe(400);
    const big = await raw(url, 'POST', '/resources/recorders/environment/p', { headers: sdkHeaders, body: Buffer.alloc(21 * 1024 * 1024, 32) });
    expect(big.status).toBe(413);
    // A `__proto__` topology key cannot be stored (no object holds it as data): refused by name, never a 500.
    const proto = await sendJson(url, 'POST', '/resources/equipments/eq/measurements', JSON.parse('{"environment":"p","topology":{"__proto__":{"x":"1"},"rack":"r"},"measurements":[]}'));
    expect(proto.status).toBe(400);
    expect(Object.keys((proto.json as { errors: Record<string, string> }).errors)).toEqual(['topology.__proto__']);
  });

  it('answers 400 naming the field with a short message when a value is deeply nested or huge', async () => {
    const deep = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
    const cases: Array<[string, string, string]> = [
      ['/resources/equipments/e/measurements', `{"environment":${deep},"measurements":[]}`, 'environment'],
      ['/resources/equipments/e/measurements', `{"environment":"p","measurements":[{"sensor":"s","unit":"W","value":${deep}}]}`, 'measurements.0.value'],
      ['/resources/equipments/e/measurements', `{"environment":"p","measurements":[${deep}]}`, 'measurements.0'],
      ['/resources/recorders/environment/p', `{"scenario":${deep},"step":"a"}`, 'scenario'],
      ['/resources/recorders/environment/p/step', `{"step":${deep}}`, 'step'],
      ['/resources/servers/s/consumption', `{"power":${deep},"environment":"p"}`, 'power'],
      ['/resources/equipments/e/measurements', `{"environment":[${'"x",'.repeat(50_000)}"x"],"measurements":[]}`, 'environment'],
    ];
    for (const [path, body, field] of cases) {
      const r = await raw(url, 'POST', path, { headers: sdkHeaders, body });
      expect({ path, field, status: r.status }).toEqual({ path, field, status: 400 });
      const message = (r.json as { errors: Record<string, string> }).errors[field];
      expect(message).toMatch(/is not of type|required/);
      expect(message?.length).toBeLessThan(200);
    }
  });

  it('accepts names with quotes, commas, spaces and slashes as they are', async () => {
    const env = `po"d, 'x'=/y`;
    const path = `/resources/recorders/environment/${encodeURIComponent(env)}`;
    const s = await sendJson(url, 'POST', path, { scenario: `s,c "1"`, step: 'a b/c' });
    expect(s.json).toEqual({ environment: env, scenario: `s,c "1"`, step: 'a b/c' });
    const g = await raw(url, 'GET', path);
    expect(g.json).toEqual({ environment: env, scenario: `s,c "1"`, step: 'a b/c' });
  });

  it('sends the original CORS headers and answers preflight when asked', async () => {
    const r = await raw(url, 'OPTIONS', '/resources/monitoring/ping');
    expect(r.status).toBe(200);
    expect(r.headers['access-control-allow-origin']).toBe('*');
    expect(r.headers['access-control-allow-headers']).toBe('Content-Type,Authorization');
    expect(r.headers['access-control-allow-methods']).toBe('GET,PUT,POST,DELETE');
  });

  it('answers 405 with Allow, as Werkzeug, when a known path is asked with another method, and 404 for unknown paths', async () => {
    const notAllowed = { message: 'The method is not allowed for the requested URL.' };
    const ping = await raw(url, 'PUT', '/resources/monitoring/ping', { headers: sdkHeaders, body: '{}' });
    expect(ping.status).toBe(405);
    expect(ping.statusMessage).toBe('METHOD NOT ALLOWED');
    expect(ping.json).toEqual(notAllowed);
    expect(ping.headers['allow']).toBe('GET, HEAD, OPTIONS');
    expect(ping.headers['access-control-allow-origin']).toBe('*');
    const recorder = await raw(url, 'PATCH', '/resources/recorders/environment/some%20env/');
    expect(recorder.status).toBe(405);
    expect(recorder.json).toEqual(notAllowed);
    expect(recorder.headers['allow']).toBe('DELETE, GET, HEAD, OPTIONS, POST');
    const measurements = await raw(url, 'GET', '/resources/equipments/eq%2Fx/measurements?x=1');
    expect(measurements.status).toBe(405);
    expect(measurements.headers['allow']).toBe('OPTIONS, POST');
    // Unknown paths, HEAD and OPTIONS answer as before.
    const unknown = await raw(url, 'PUT', '/resources/nope');
    expect(unknown.status).toBe(404);
    expect(unknown.headers['allow']).toBeUndefined();
    expect((await raw(url, 'GET', '/resources/recorders/environment/a/b/c')).status).toBe(404);
    expect((await raw(url, 'HEAD', '/resources/monitoring/ping')).status).toBe(200);
    expect((await raw(url, 'OPTIONS', '/resources/recorders/environment/e')).status).toBe(200);
  });

  it('serves the OpenAPI 2 document with the original model names and the offline UI', async () => {
    const r = await raw(url, 'GET', '/resources/swagger.json', { headers: { 'x-forwarded-host': 'api.example', 'x-forwarded-proto': 'https' } });
    const doc = r.json as { swagger: string; definitions: Record<string, unknown>; paths: Record<string, unknown>; host: string; schemes: string[] };
    expect(doc.swagger).toBe('2.0');
    for (const m of ['powerPost', 'measurement', 'topology', 'measurementPost', 'stepPost', 'recorderPost', 'APIStatus', 'runningScenario', 'powerMeasurement']) {
      expect(Object.keys(doc.definitions)).toContain(m);
    }
    expect(Object.keys(doc.paths)).toContain('/resources/equipments/{equipement}/measurements');
    expect(doc.host).toBe('api.example');
    expect(doc.schemes).toEqual(['https']);
    const ui = await raw(url, 'GET', '/resources/doc/');
    expect(ui.status).toBe(200);
    expect(ui.text).toContain('Swagger UI');
    const js = await raw(url, 'GET', '/resources/doc/static/swagger-ui-bundle.js');
    expect(js.status).toBe(200);
  });

  it('accepts the legacy power post and answers a powerMeasurement', async () => {
    const r = await sendJson(url, 'POST', '/resources/servers/srv9/consumption', { power: 250, environment: 'legacy' });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ environment: 'legacy', scenario: 'n/s', step: 'n/s', power: 250 });
  });

  it('rewrites a re-sent batch instead of duplicating it and keeps same-time readings apart', async () => {
    const env = 'idem';
    const t = nsFromNow(-10);
    const batch = {
      environment: env,
      time: t,
      measurements: [
        { sensor: 'power', unit: 'W', value: 10, time: t },
        { sensor: 'power', unit: 'W', value: 11, time: t },
      ],
    };
    await sendJson(url, 'POST', '/resources/equipments/e/measurements', batch);
    await sendJson(url, 'POST', '/resources/equipments/e/measurements', batch);
    const s = await api.store.queryPower({ environment: env, sensor: 'power', unit: 'W', fromNs: t - 1e9, toNs: t + 1e9 });
    expect(s.map((x) => x.powerWatts)).toEqual([10, 11]);
  });

  it('reports energy per step and equipment, in JSON and CSV, for a finished session', async () => {
    const env = 'report-pod';
    await sendJson(url, 'POST', `/resources/recorders/environment/${env}`, { scenario: 'R', step: 'one' });
    const sessions0 = await raw(url, 'GET', `/resources/recorders/environment/${env}/sessions`);
    const startNs = (sessions0.json as { sessions: Array<{ startNs: number }> }).sessions[0]?.startNs as number;
    // 100 W for 20 s of samples around the session, 1 s apart.
    const measurements = Array.from({ length: 41 }, (_, i) => ({ sensor: 'power', unit: 'W', value: 100, time: startNs - 20e9 + i * 1e9 }));
    await sendJson(url, 'POST', '/resources/equipments/srv/measurements', { environment: env, measurements });
    await sendJson(url, 'POST', `/resources/recorders/environment/${env}/step`, { step: 'two' });
    await sendJson(url, 'DELETE', `/resources/recorders/environment/${env}`);
    const list = await raw(url, 'GET', `/resources/recorders/environment/${env}/sessions?limit=5`);
    const ses = (list.json as { sessions: Array<{ scenario: string; running: boolean; steps: Array<{ step: string; endNs: number | null }> }> }).sessions;
    expect(ses).toHaveLength(1);
    expect(ses[0]?.running).toBe(false);
    expect(ses[0]?.steps.map((s) => s.step)).toEqual(['one', 'two']);
    const rep = await raw(url, 'GET', `/resources/recorders/environment/${env}/report?scenario=R`);
    const body = rep.json as { totals: { energyJoules: number; durationS: number }; equipments: Array<{ equipment: string; avgWatts: number; coveragePct: number }> };
    expect(rep.status).toBe(200);
    expect(body.equipments[0]?.equipment).toBe('srv');
    expect(body.equipments[0]?.avgWatts).toBeCloseTo(100, 6);
    expect(body.totals.energyJoules).toBeCloseTo(100 * body.totals.durationS, 3);
    const csv = await raw(url, 'GET', `/resources/recorders/environment/${env}/report`, { headers: { accept: 'text/csv' } });
    const lines = csv.text.trim().split('\r\n');
    expect(lines[0]).toBe('scope,step,equipment,energy_j,energy_wh,avg_w,peak_w,min_w,duration_s,coverage_pct,samples,longest_gap_s');
    expect(lines.slice(1).map((l) => l.split(',').slice(0, 3).join(','))).toEqual(['step,one,srv', 'step,two,srv', 'session,,srv']);
    const none = await raw(url, 'GET', `/resources/recorders/environment/${env}/report?scenario=nope`);
    expect(none.status).toBe(404);
  });

  it('widens the report query when a slow meter has no sample within two minutes of the session edges', async () => {
    const env = 'report-slow';
    await sendJson(url, 'POST', `/resources/recorders/environment/${env}`, { scenario: 'Slow', step: 'one' });
    await sendJson(url, 'DELETE', `/resources/recorders/environment/${env}`);
    const listed = await raw(url, 'GET', `/resources/recorders/environment/${env}/sessions`);
    const ses = (listed.json as { sessions: Array<{ startNs: number; endNs: number }> }).sessions[0] as { startNs: number; endNs: number };
    // One sample every 5 min; the nearest ones are 200 s before the start and 100 s after the end.
    const measurements = [-500, -200].map((s) => ({ sensor: 'power', unit: 'W', value: 80, time: ses.startNs + s * 1e9 }));
    measurements.push(...[100, 400].map((s) => ({ sensor: 'power', unit: 'W', value: 80, time: ses.endNs + s * 1e9 })));
    await sendJson(url, 'POST', '/resources/equipments/slow-meter/measurements', { environment: env, measurements });
    const rep = await raw(url, 'GET', `/resources/recorders/environment/${env}/report?scenario=Slow`);
    const body = rep.json as { equipments: Array<{ equipment: string; coveragePct: number; avgWatts: number }> };
    expect(body.equipments).toEqual([expect.objectContaining({ equipment: 'slow-meter', coveragePct: 100, avgWatts: expect.closeTo(80, 9) })]);
  });

  it('converts kW and mW readings to watts when reporting energy', async () => {
    const env = 'report-units';
    await sendJson(url, 'POST', `/resources/recorders/environment/${env}`, { scenario: 'U', step: 'one' });
    const sessions0 = await raw(url, 'GET', `/resources/recorders/environment/${env}/sessions`);
    const startNs = (sessions0.json as { sessions: Array<{ startNs: number }> }).sessions[0]?.startNs as number;
    const series = (unit: string, value: number) =>
      Array.from({ length: 41 }, (_, i) => ({ sensor: 'Power', unit, value, time: startNs - 20e9 + i * 1e9 }));
    await sendJson(url, 'POST', '/resources/equipments/meter-kw/measurements', { environment: env, measurements: series('kW', 0.25) });
    await sendJson(url, 'POST', '/resources/equipments/meter-mw/measurements', { environment: env, measurements: series('mW', 4000) });
    await sendJson(url, 'POST', '/resources/equipments/meter-c/measurements', { environment: env, measurements: series('Celsius', 21) });
    await sendJson(url, 'DELETE', `/resources/recorders/environment/${env}`);
    const rep = await raw(url, 'GET', `/resources/recorders/environment/${env}/report?scenario=U&sensor=Power`);
    const body = rep.json as { equipments: Array<{ equipment: string; avgWatts: number }> };
    expect(body.equipments.map((e) => [e.equipment, Math.round(e.avgWatts * 1000) / 1000])).toEqual([
      ['meter-kw', 250],
      ['meter-mw', 4],
    ]);
  });

  it('reports a nested recording\'s outer scenario over its whole span, inner one included, when the SDK restored it', async () => {
    const env = 'nested-pod';
    const uri = `/resources/recorders/environment/${env}`;
    const pause = (): Promise<void> => new Promise((r) => setTimeout(r, 30));
    const post = async (path: string, body: unknown): Promise<void> => {
      const r = await raw(url, 'POST', path, { headers: sdkHeaders, body: JSON.stringify(body) });
      expect(r.status).toBe(200);
    };
    const current = async (): Promise<unknown> => {
      const r = await raw(url, 'GET', uri);
      return r.status === 404 ? null : r.json;
    };
    // The SDK's calls for `recording('outer', ...)` holding `recording('inner', ...)`, each setting steps: the
    // outermost one reads what runs first; the inner one's end reads what runs, then re-submits the outer one at
    // the step it had; the outer one's end reads what runs, then stops (nothing ran before it).
    expect(await current()).toBeNull();
    await post(uri, { step: 'running', scenario: 'outer' });
    await pause();
    await post(`${uri}/step`, { step: 'warm' });
    await pause();
    await post(uri, { step: 'running', scenario: 'inner' });
    await pause();
    await post(`${uri}/step`, { step: 'inner-1' });
    await pause();
    expect(await current()).toEqual({ environment: env, scenario: 'inner', step: 'inner-1' });
    await post(uri, { step: 'warm', scenario: 'outer' });
    await pause();
    await post(`${uri}/step`, { step: 'cool' });
    await pause();
    expect(await current()).toEqual({ environment: env, scenario: 'outer', step: 'cool' });
    const stopped = await raw(url, 'DELETE', uri, { headers: { ...sdkHeaders, 'content-length': '0' } });
    expect(stopped.json).toEqual({ environment: env, scenario: 'outer', step: 'cool' });

    type Listed = { scenario: string; startNs: number; endNs: number; running: boolean; steps: Array<{ step: string; startNs: number; endNs: number }>; parent?: unknown };
    const listed = (await raw(url, 'GET', `${uri}/sessions`)).json as { sessions: Listed[] };
    expect(listed.sessions.map((x) => x.scenario)).toEqual(['inner', 'outer']);
    const [inner, outer] = listed.sessions as [Listed, Listed];
    expect(outer.parent).toBeUndefined();
    expect(inner.parent).toEqual({ scenario: 'outer', startNs: outer.startNs });
    expect(outer.steps.map((x) => x.step)).toEqual(['running', 'warm', 'cool']);
    expect(inner.steps.map((x) => x.step)).toEqual(['running', 'inner-1']);
    expect(outer.startNs).toBeLessThan(inner.startNs);
    expect(inner.endNs).toBeLessThan(outer.endNs);

    // Power is linear between these instants (every session and step edge), 100 W outside: the trapezoids of
    // the posted samples are then exactly the energy over any window whose edges are among them.
    const knots: Array<[number, number]> = [
      [outer.startNs, 100],
      [(outer.steps[1] as Listed['steps'][number]).startNs, 150],
      [inner.startNs, 200],
      [(inner.steps[1] as Listed['steps'][number]).startNs, 250],
      [inner.endNs, 400],
      [(outer.steps[2] as Listed['steps'][number]).startNs, 300],
      [outer.endNs, 100],
    ];
    const measurements: Array<{ sensor: string; unit: string; value: number; time: number }> = [];
    const sample = (time: number, value: number): void => {
      measurements.push({ sensor: 'power', unit: 'W', value, time });
    };
    // About 1 ms apart (fewer, farther apart, if a slow machine stretched the pauses).
    const h = Math.max(1e6, Math.ceil((outer.endNs - outer.startNs) / 2000));
    for (let k = 20; k >= 1; k--) sample(outer.startNs - k * h, 100);
    knots.forEach(([t, w], i) => {
      sample(t, w);
      const next = knots[i + 1];
      if (next === undefined) return;
      // Offsets from the knot are exact at epoch-ns doubles, so each sample lies on the line.
      const n = Math.max(1, Math.ceil((next[0] - t) / h));
      for (let k = 1; k < n; k++) {
        const at = t + Math.round(((next[0] - t) * k) / n);
        sample(at, w + ((next[1] - w) * (at - t)) / (next[0] - t));
      }
    });
    for (let k = 1; k <= 20; k++) sample(outer.endNs + k * h, 100);
    const stored = await sendJson(url, 'POST', '/resources/equipments/nested-srv/measurements', { environment: env, time: inner.startNs, measurements });
    expect(stored.status).toBe(200);
    /** Energy in J between knots `from` and `to` (indices). */
    const joules = (from: number, to: number): number => {
      let sum = 0;
      for (let i = from; i < to; i++) {
        const [t0, w0] = knots[i] as [number, number];
        const [t1, w1] = knots[i + 1] as [number, number];
        sum += ((w0 + w1) / 2) * ((t1 - t0) / 1e9);
      }
      return sum;
    };

    type Report = {
      scenario: string;
      startNs: number;
      endNs: number;
      parent?: unknown;
      totals: { energyJoules: number; durationS: number };
      steps: Array<{ step: string; startNs: number; endNs: number; energyJoules: number }>;
      equipments: Array<{ coveragePct: number }>;
    };
    const outerReport = (await raw(url, 'GET', `${uri}/report?scenario=outer`)).json as Report;
    expect(outerReport).toMatchObject({ scenario: 'outer', startNs: outer.startNs, endNs: outer.endNs });
    expect(outerReport.totals.durationS).toBeCloseTo((outer.endNs - outer.startNs) / 1e9, 9);
    expect(outerReport.equipments[0]?.coveragePct).toBeCloseTo(100, 9);
    expect(outerReport.totals.energyJoules).toBeCloseTo(joules(0, 6), 6);
    expect(outerReport.steps.map((x) => [x.step, x.energyJoules])).toEqual([
      ['running', expect.closeTo(joules(0, 1), 6)],
      ['warm', expect.closeTo(joules(1, 5), 6)],
      ['cool', expect.closeTo(joules(5, 6), 6)],
    ]);
    const innerReport = (await raw(url, 'GET', `${uri}/report?scenario=inner`)).json as Report;
    expect(innerReport).toMatchObject({ scenario: 'inner', startNs: inner.startNs, endNs: inner.endNs, parent: { scenario: 'outer', startNs: outer.startNs } });
    expect(innerReport.totals.energyJoules).toBeCloseTo(joules(2, 4), 6);
    expect(innerReport.steps.map((x) => [x.step, x.energyJoules])).toEqual([
      ['running', expect.closeTo(joules(2, 3), 6)],
      ['inner-1', expect.closeTo(joules(3, 4), 6)],
    ]);
  });
});

describe('two API processes sharing one store', () => {
  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

  it('tags readings as the store does within maxAgeNs of a scenario change whose write outlasted the margin, and warns', async () => {
    const shared = createSqliteStore({ path: ':memory:' });
    // Process A's event writes become readable 800 ms after they were stamped (a busy store), past the margin.
    const slowEvents: Store = {
      ...shared,
      kind: shared.kind,
      async appendEvent(e) {
        await sleep(800);
        await shared.appendEvent(e);
      },
      async close() {},
    };
    const warnings: string[] = [];
    const capture: Logger = { ...noopLogger, warn: (_f, message) => void warnings.push(message ?? ''), child: () => capture };
    const sessionTimeline = { marginNs: 300e6, maxAgeNs: 1000e6 };
    const a = createApiServer({ port: 0, store: slowEvents, logger: capture, sessionTimeline, dashboard: false });
    const b = createApiServer({ port: 0, store: shared, sessionTimeline, dashboard: false });
    const urlA = await a.listen();
    const urlB = await b.listen();
    const env = '/resources/recorders/environment/two-procs';
    const stepAt = async (timeNs: number): Promise<unknown> =>
      (await sendJson(urlB, 'POST', '/resources/servers/srv/consumption', { environment: 'two-procs', power: 1, time: timeNs })).json;
    try {
      expect((await sendJson(urlA, 'POST', env, { scenario: 'S', step: 'one' })).status).toBe(200);
      const t = nsFromNow();
      const step = sendJson(urlA, 'POST', `${env}/step`, { step: 'two' });
      // Before the step is readable, B reads the timeline (the reading is older than the margin): step one.
      await sleep(600);
      expect(await stepAt(t + 50e6)).toMatchObject({ step: 'one' });
      expect((await step).status).toBe(200);
      // The store now has step two at t. B's timeline, read before, may lag for at most maxAgeNs.
      await sleep(1100);
      expect(await stepAt(t + 120e6)).toMatchObject({ scenario: 'S', step: 'two' });
      expect(warnings.some((w) => w.includes('longer than the session timeline margin'))).toBe(true);
    } finally {
      await a.close();
      await b.close();
      await shared.close();
    }
  });
});
