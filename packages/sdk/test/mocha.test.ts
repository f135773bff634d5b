import { EnergyRecorder } from '../src/index.js';
import { createMochaHooks, type MochaHookContext } from '../src/mocha.js';
import { FakeApi } from './support/fake-api.js';
import { nameProblem } from '@energyrecorder/core/names';

let api: FakeApi;

beforeEach(async () => {
  api = new FakeApi();
  await api.listen();
});

afterEach(async () => {
  await api.close();
});

function context(file: string, title: string): MochaHookContext {
  return { currentTest: { file: `${process.cwd()}/${file}`, title, fullTitle: () => `suite ${title}` } };
}

describe('createMochaHooks', () => {
  it('records each file as a scenario and each test as a step when hooks run as mocha calls them', async () => {
    const recorder = new EnergyRecorder({ environment: 'mocha-pod', apiUrl: api.url });
    const hooks = createMochaHooks({ recorder });
    await hooks.beforeEach.call(context('test/a.spec.js', 'one'));
    expect(api.current('mocha-pod')).toEqual({ scenario: 'test/a.spec.js', step: 'suite one' });
    await hooks.beforeEach.call(context('test/a.spec.js', 'two'));
    await hooks.beforeEach.call(context('test/b.spec.js', 'three'));
    expect(api.current('mocha-pod')).toEqual({ scenario: 'test/b.spec.js', step: 'suite three' });
    await hooks.afterAll.call({});
    expect(api.current('mocha-pod')).toBeUndefined();
    const sessions = await recorder.sessions();
    expect(sessions?.sessions.map((s) => [s.scenario, s.steps.map((st) => st.step)])).toEqual([
      ['test/b.spec.js', ['running', 'suite three']],
      ['test/a.spec.js', ['running', 'suite one', 'suite two']],
    ]);
  });
});

describe('createMochaHooks when the API is down at the first test of a file', () => {
  it('sends no step of that file when the API comes back during it, leaving an outer job step alone', async () => {
    const recorder = new EnergyRecorder({ environment: 'mocha-down-pod', apiUrl: api.url, retryAfterMs: 30 });
    const hooks = createMochaHooks({ recorder });
    api.pingMode = 'ko';
    await hooks.beforeEach.call(context('test/slow.spec.js', 'first'));
    api.pingMode = 'ok';
    api.setRunning('mocha-down-pod', 'nightly', 'deploy');
    await new Promise((r) => setTimeout(r, 60));
    await hooks.beforeEach.call(context('test/slow.spec.js', 'second'));
    await hooks.afterAll.call({});
    expect(api.current('mocha-down-pod')).toEqual({ scenario: 'nightly', step: 'deploy' });
  });
});

describe('createMochaHooks names', () => {
  it('turns control characters of a title into spaces and cuts a title longer than the API takes', async () => {
    const recorder = new EnergyRecorder({ environment: 'mocha-names-pod', apiUrl: api.url });
    const hooks = createMochaHooks({ recorder });
    const steps: string[] = [];
    await hooks.beforeEach.call(context('test/n.spec.js', 'parses {\n  "a": 1\n}'));
    steps.push(api.current('mocha-names-pod')?.step ?? '');
    await hooks.beforeEach.call(context('test/n.spec.js', 'x'.repeat(1100)));
    steps.push(api.current('mocha-names-pod')?.step ?? '');
    await hooks.beforeEach.call(context('test/n.spec.js', `${'x'.repeat(1100)}y`));
    steps.push(api.current('mocha-names-pod')?.step ?? '');
    await hooks.afterAll.call({});
    expect(steps[0]).toBe('suite parses {   "a": 1 }');
    expect(steps[1]).toHaveLength(1024);
    expect(steps[1]).toMatch(/^suite x+…[0-9a-f]{12}$/);
    expect(steps[2]).toHaveLength(1024);
    expect(steps[2]).not.toBe(steps[1]);
  });

  it('turns the backslashes InfluxDB cannot store (before a space, comma or =, or at the end) into spaces', async () => {
    const recorder = new EnergyRecorder({ environment: 'mocha-bs-pod', apiUrl: api.url });
    const hooks = createMochaHooks({ recorder });
    await hooks.beforeEach.call(context('test/n.spec.js', 'C:\\dir\\ a\\\\ b c\\=d e\\,f g\\h \\'));
    const step = api.current('mocha-bs-pod')?.step ?? '';
    await hooks.afterAll.call({});
    expect(step).toBe('suite C:\\dir  a   b c =d e ,f g\\h  ');
    expect(nameProblem(step)).toBeUndefined();
  });
});
