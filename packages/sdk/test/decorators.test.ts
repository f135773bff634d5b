import { EnergyRecorder, createDecorators, enableRecording, setDefaultRecorder, setStep } from '../src/index.js';
import { FakeApi } from './support/fake-api.js';

// The same file runs under jest.config.cjs (TC39 decorators) and jest.legacy.config.cjs (experimentalDecorators),
// and type-checks under tsconfig.json and tsconfig.legacy.json.
const MODE = process.env['SDK_DECORATORS'] ?? 'standard';

let api: FakeApi;
let rec: EnergyRecorder;
let counter = 0;

beforeEach(async () => {
  api = new FakeApi();
  await api.listen();
  counter += 1;
  rec = new EnergyRecorder({ environment: `deco-${MODE}-${counter}`, apiUrl: api.url });
  setDefaultRecorder(rec);
});

afterEach(async () => {
  setDefaultRecorder(undefined);
  await api.close();
});

function started(): string[] {
  return api.requests
    .filter((r) => r.method === 'POST' && !r.path.endsWith('/step'))
    .map((r) => (r.body as { scenario: string }).scenario);
}

const decoratorArgCounts: number[] = [];
function countArgs(...args: unknown[]): void {
  decoratorArgCounts.push(args.length);
}

class Probe {
  @countArgs
  method(): void {}
}

const syncFailure = new TypeError('sync failure');

class Suite {
  seen: unknown[] = [];

  @enableRecording()
  async run(a: number, b: { k: string }, ...rest: string[]): Promise<string> {
    this.seen = [a, b, ...rest];
    return `${a}-${b.k}-${rest.join(',')}`;
  }

  @enableRecording('named-scenario')
  async failing(): Promise<void> {
    throw new RangeError('test failed');
  }

  @enableRecording()
  syncMethod(x: number): number {
    return x * 2;
  }

  @enableRecording()
  @setStep('prepare')
  async stepped(): Promise<string | undefined> {
    return api.current(rec.environment)?.step;
  }

  @setStep('sync-step')
  syncStepped(): string {
    return 'ok';
  }

  @enableRecording()
  syncThrows(): number {
    throw syncFailure;
  }

  // Not `async`, yet returns a promise: the recording must end when the promise settles, not before.
  @enableRecording()
  promiseReturning(): Promise<string | undefined> {
    return new Promise((resolve) => setTimeout(() => resolve(api.current(rec.environment)?.scenario), 50));
  }

  @enableRecording()
  *generate(n: number): Generator<string, string, unknown> {
    for (let i = 0; i < n; i++) yield `${i}`;
    return 'done';
  }

  @enableRecording()
  @setStep('streaming')
  async *stream(): AsyncGenerator<string | undefined, void, unknown> {
    yield api.current(rec.environment)?.scenario;
    yield api.current(rec.environment)?.step;
  }

  @setStep('gen-step')
  *stepGenerator(): Generator<number, void, unknown> {
    yield 1;
  }

  @enableRecording()
  static async staticRun(): Promise<string> {
    return 'static';
  }
}

class OpnfvCase {
  case_name = 'vping_ssh';

  @enableRecording()
  async run(): Promise<number> {
    return 0;
  }
}

class CamelCase {
  caseName = 'camel-case';

  @enableRecording()
  async run(): Promise<number> {
    return 1;
  }
}

describe(`decorators (${MODE})`, () => {
  it('is compiled with the calling convention of its mode', () => {
    expect(new Probe()).toBeInstanceOf(Probe);
    expect(decoratorArgCounts).toEqual([MODE === 'legacy' ? 3 : 2]);
  });

  it('keeps this, every argument and the return value when the method is async', async () => {
    const suite = new Suite();
    await expect(suite.run(1, { k: 'v' }, 'x', 'y')).resolves.toBe('1-v-x,y');
    expect(suite.seen).toEqual([1, { k: 'v' }, 'x', 'y']);
    expect(started()).toEqual(['Suite.run']);
    expect(api.current(rec.environment)).toBeUndefined();
  });

  it('rethrows the same error and restores when the method throws', async () => {
    const suite = new Suite();
    await expect(suite.failing()).rejects.toThrow(RangeError);
    expect(started()).toEqual(['named-scenario']);
    expect(api.calls().at(-1)).toMatch(/^DELETE /);
  });

  it('stays synchronous and records in the background when the method is sync', async () => {
    const suite = new Suite();
    const value = suite.syncMethod(21);
    expect(value).toBe(42);
    await rec.flush();
    expect(started()).toEqual(['Suite.syncMethod']);
    expect(api.calls().at(-1)).toMatch(/^DELETE /);
  });

  it('throws the very same error synchronously and still restores when a sync method throws', async () => {
    api.setRunning(rec.environment, 'outer', 'o-step');
    let thrown: unknown;
    try {
      new Suite().syncThrows();
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBe(syncFailure);
    await rec.flush();
    expect(started()).toEqual(['Suite.syncThrows', 'outer']);
    expect(api.current(rec.environment)).toEqual({ scenario: 'outer', step: 'o-step' });
  });

  it('returns a promise settling as the method\'s and restores after it settles when a non-async method returns one', async () => {
    const suite = new Suite();
    const pending = suite.promiseReturning();
    expect(pending).toBeInstanceOf(Promise);
    // The start was queued before the method ran, so the scenario is shown while the promise is pending.
    await expect(pending).resolves.toBe('Suite.promiseReturning');
    await rec.flush();
    expect(api.calls().at(-1)).toMatch(/^DELETE /);
  });

  it('adds only an in-process check per call and sends nothing once the API was found down', async () => {
    api.pingMode = 'ko';
    const down = new EnergyRecorder({ environment: `off-${MODE}-${counter}`, apiUrl: api.url, retryAfterMs: 60_000 });
    setDefaultRecorder(down);
    const suite = new Suite();
    await suite.run(0, { k: 'first' }); // probes once and finds the API down
    expect(down.available).toBe(false);
    const calls = 2000;
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) await suite.run(i, { k: 'k' });
    const perCallUs = ((performance.now() - t0) * 1000) / calls;
    // A loopback HTTP round trip costs hundreds of µs; the bench measures ~1 µs. 50 µs leaves room for load.
    expect(perCallUs).toBeLessThan(50);
    expect(api.requests.filter((r) => r.path.endsWith('/monitoring/ping'))).toHaveLength(1);
    expect(api.calls()).toEqual([]);
  });

  it('sets the step before the method body runs when @setStep is stacked', async () => {
    await expect(new Suite().stepped()).resolves.toBe('prepare');
  });

  it('queues the step and returns at once when a @setStep method is sync', async () => {
    await rec.start('outer');
    expect(new Suite().syncStepped()).toBe('ok');
    await rec.flush();
    expect(api.current(rec.environment)).toEqual({ scenario: 'outer', step: 'sync-step' });
  });

  it('records from the first next() to the end of the iteration when the method is a generator', async () => {
    const gen = new Suite().generate(3);
    await rec.flush();
    expect(api.calls()).toEqual([]);
    expect(gen.next()).toEqual({ value: '0', done: false });
    await rec.flush();
    expect(api.current(rec.environment)).toEqual({ scenario: 'Suite.generate', step: 'running' });
    expect(gen.next()).toEqual({ value: '1', done: false });
    expect(gen.return('stopped')).toEqual({ value: 'stopped', done: true });
    await rec.flush();
    expect(started()).toEqual(['Suite.generate']);
    expect(api.calls().at(-1)).toMatch(/^DELETE /);
  });

  it('shows the scenario and step while the body runs when the method is an async generator', async () => {
    const seen: (string | undefined)[] = [];
    for await (const value of new Suite().stream()) seen.push(value);
    expect(seen).toEqual(['Suite.stream', 'streaming']);
    expect(api.current(rec.environment)).toBeUndefined();
    expect(api.calls().at(-1)).toMatch(/^DELETE /);
  });

  it('sets the step when the iteration starts when a @setStep method is a generator', async () => {
    await rec.start('outer');
    const gen = new Suite().stepGenerator();
    await rec.flush();
    expect(api.current(rec.environment)).toEqual({ scenario: 'outer', step: 'running' });
    expect([...gen]).toEqual([1]);
    await rec.flush();
    expect(api.current(rec.environment)).toEqual({ scenario: 'outer', step: 'gen-step' });
  });

  it('names the scenario ClassName.method when the method is static', async () => {
    await expect(Suite.staticRun()).resolves.toBe('static');
    expect(started()).toEqual(['Suite.staticRun']);
  });

  it('uses case_name, then caseName, as the scenario when the instance has one', async () => {
    await new OpnfvCase().run();
    await new CamelCase().run();
    expect(started()).toEqual(['vping_ssh', 'camel-case']);
  });

  it('restores the enclosing scenario and step when decorated calls nest', async () => {
    api.setRunning(rec.environment, 'jenkins-job', 'functest');
    await new OpnfvCase().run();
    expect(api.current(rec.environment)).toEqual({ scenario: 'jenkins-job', step: 'functest' });
  });

  it('uses the bound recorder when decorators come from createDecorators', async () => {
    const other = new EnergyRecorder({ environment: `bound-${MODE}-${counter}`, apiUrl: api.url });
    const bound = createDecorators(other);
    class Bound {
      @bound.enableRecording('bound-scn')
      async run(): Promise<string> {
        return 'b';
      }
    }
    await expect(new Bound().run()).resolves.toBe('b');
    expect(api.calls()[1]).toContain(`/recorders/environment/bound-${MODE}-${counter} {"step":"running","scenario":"bound-scn"}`);
  });

  it('does not throw into the test when the API is down', async () => {
    const url = api.url;
    await api.close();
    setDefaultRecorder(new EnergyRecorder({ environment: `down-${MODE}`, apiUrl: url, timeoutMs: 500 }));
    await expect(new Suite().run(1, { k: 'k' })).resolves.toBe('1-k-');
    api = new FakeApi();
    await api.listen();
  });
});
