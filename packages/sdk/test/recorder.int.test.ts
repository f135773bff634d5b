import { EnergyRecorder } from '../src/index.js';
import { postPower, startRealApi, type RealApi } from './support/real-api.js';

let api: RealApi;

beforeAll(async () => {
  api = await startRealApi();
});

afterAll(async () => {
  await api.close();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('EnergyRecorder against the api-server', () => {
  it('answers the ping and reads back the running scenario when a recording runs', async () => {
    const rec = new EnergyRecorder({ environment: 'int-ping', apiUrl: api.apiUrl });
    await expect(rec.ping()).resolves.toBe(true);
    await rec.recording('ping-scn', async () => {
      await expect(rec.getCurrentScenario()).resolves.toEqual({ environment: 'int-ping', scenario: 'ping-scn', step: 'running' });
    });
    await expect(rec.getCurrentScenario()).resolves.toBeNull();
  });

  it('stores one session with its steps, and restores the outer scenario when recordings nest', async () => {
    const rec = new EnergyRecorder({ environment: 'int-nest', apiUrl: api.apiUrl });
    await rec.submitScenario('ci-job', 'tests');
    await rec.recording('outer', async () => {
      await rec.step('build');
      await rec.recording('inner', async () => {
        await rec.step('unit');
      });
      await expect(rec.getCurrentScenario()).resolves.toMatchObject({ scenario: 'outer', step: 'build' });
    });
    await expect(rec.getCurrentScenario()).resolves.toMatchObject({ scenario: 'ci-job', step: 'tests' });
    const sessions = await rec.sessions();
    const inner = sessions?.sessions.find((s) => s.scenario === 'inner');
    expect(inner?.steps.map((s) => s.step)).toEqual(['running', 'unit']);
    expect(inner?.running).toBe(false);
    // Each restore confirms the nesting: one session per scenario, newest-started first, each naming its parent.
    expect(sessions?.sessions.map((s) => s.scenario)).toEqual(['inner', 'outer', 'ci-job']);
    const [, outer, ciJob] = sessions?.sessions ?? [];
    expect(outer?.steps.map((s) => s.step)).toEqual(['running', 'build']);
    expect(inner?.parent).toEqual({ scenario: 'outer', startNs: outer?.startNs });
    expect(outer?.parent).toEqual({ scenario: 'ci-job', startNs: ciJob?.startNs });
    expect(ciJob).toMatchObject({ running: true, steps: [{ step: 'tests', endNs: null }] });
    expect(ciJob?.parent).toBeUndefined();
  });

  it('attributes collector readings to the step that ran and reports energy per step', async () => {
    const env = 'int-energy';
    const rec = new EnergyRecorder({ environment: env, apiUrl: api.apiUrl });
    await rec.recording('measured', async () => {
      await rec.step('load');
      const t0 = Date.now() * 1e6;
      await sleep(350);
      const samples = [0, 1, 2, 3].map((i) => ({ timeNs: t0 + i * 100e6, watts: 200 }));
      await postPower(api.apiUrl, env, 'srv-1', samples);
    });
    const report = await rec.report({ waitMs: 0 });
    expect(report?.scenario).toBe('measured');
    const load = report?.steps.find((s) => s.step === 'load');
    expect(load?.equipments.map((e) => e.equipment)).toEqual(['srv-1']);
    expect(load?.energyJoules).toBeGreaterThan(0);
    expect(load?.equipments[0]?.maxWatts).toBe(200);
    const csv = await rec.reportCsv({ scenario: 'measured', waitMs: 0 });
    expect(csv?.split(/\r?\n/)[0]).toBe('scope,step,equipment,energy_j,energy_wh,avg_w,peak_w,min_w,duration_s,coverage_pct,samples,longest_gap_s');
    expect(csv).toContain('step,load,srv-1,');
  });

  it('waits for the last samples before rendering the CSV report when asked to (waitMs)', async () => {
    const env = 'int-csv-wait';
    const rec = new EnergyRecorder({ environment: env, apiUrl: api.apiUrl });
    let t0 = 0;
    await rec.recording('late-samples', async () => {
      t0 = Date.now() * 1e6;
      await sleep(300);
    });
    // The collector's batch lands 400 ms after the scenario stopped.
    const late = sleep(400).then(() =>
      postPower(api.apiUrl, env, 'srv-late', [0, 1, 2, 3, 4].map((i) => ({ timeNs: t0 - 100e6 + i * 100e6, watts: 150 }))),
    );
    const csv = await rec.reportCsv({ waitMs: 5000, pollIntervalMs: 100 });
    await late;
    expect(csv).toContain('session,,srv-late,');
    expect(await rec.reportCsv({ waitMs: 0 })).toContain('session,,srv-late,');
  });

  it('keeps restores in order when concurrent recordings overlap on one environment', async () => {
    const rec = new EnergyRecorder({ environment: 'int-concurrent', apiUrl: api.apiUrl });
    const runs = ['a', 'b', 'c', 'd'].map((name, i) =>
      rec.recording(name, async () => {
        await sleep(30 * (4 - i));
        return name;
      }),
    );
    await expect(Promise.all(runs)).resolves.toEqual(['a', 'b', 'c', 'd']);
    await expect(rec.getCurrentScenario()).resolves.toBeNull();
    const sessions = await rec.sessions();
    expect(sessions?.sessions.every((s) => !s.running)).toBe(true);
  });
});
