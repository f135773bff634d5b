import { EnergyRecorder } from '../src/index.js';
import { createMochaHooks, type MochaHookContext } from '../src/mocha.js';
import { FakeApi } from './support/fake-api.js';

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
