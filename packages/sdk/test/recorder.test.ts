import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { Logger } from '@energyrecorder/core';
import { EnergyRecorder, SdkError, type RecorderOptions } from '../src/index.js';
import { availabilityFile, shareDown, shareUp } from '../src/internal/shared-files.js';
import { FakeApi } from './support/fake-api.js';

let api: FakeApi;
let envCounter = 0;

/** A fresh environment name per test: the per-environment queue and stack are shared process-wide. */
function env(): string {
  envCounter += 1;
  return `pod-${envCounter}`;
}

function recorder(extra: Partial<RecorderOptions> = {}): EnergyRecorder {
  return new EnergyRecorder({ environment: env(), apiUrl: api.url, timeoutMs: 2000, ...extra });
}

beforeEach(async () => {
  api = new FakeApi();
  await api.listen();
});

afterEach(async () => {
  await api.close();
});

describe('EnergyRecorder.fromEnv', () => {
  it('sends Basic auth and JSON to the environment URI when user and password are set', async () => {
    const rec = EnergyRecorder.fromEnv({
      NODE_NAME: 'MOCK_POD',
      ENERGY_RECORDER_API_URL: api.url,
      ENERGY_RECORDER_API_USER: 'user',
      ENERGY_RECORDER_API_PASSWORD: 'password',
    });
    await expect(rec.start('scn')).resolves.toBe(true);
    const post = api.requests.find((r) => r.method === 'POST');
    expect(post?.path).toBe('/resources/recorders/environment/MOCK_POD');
    expect(post?.body).toEqual({ step: 'running', scenario: 'scn' });
    expect(post?.contentType).toBe('application/json');
    expect(post?.authorization).toBe(`Basic ${Buffer.from('user:password').toString('base64')}`);
  });

  it('sends no auth when only the user is set', async () => {
    const rec = EnergyRecorder.fromEnv({ NODE_NAME: 'MOCK_POD2', ENERGY_RECORDER_API_URL: api.url, ENERGY_RECORDER_API_USER: 'user' });
    await rec.start('scn');
    expect(api.requests.every((r) => r.authorization === undefined)).toBe(true);
  });

  it('throws ER_SDK_CONFIG naming each variable when NODE_NAME is empty and the URL is bad', () => {
    let caught: unknown;
    try {
      EnergyRecorder.fromEnv({ NODE_NAME: '', ENERGY_RECORDER_API_URL: 'ftp://x', ENERGY_RECORDER_TIMEOUT_MS: 'soon' });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(SdkError);
    const e = caught as SdkError;
    expect(e.code).toBe('ER_SDK_CONFIG');
    expect(e.issues.map((i) => i.path)).toEqual(['NODE_NAME', 'ENERGY_RECORDER_API_URL', 'ENERGY_RECORDER_TIMEOUT_MS']);
    expect(e.message).toContain('NODE_NAME: required');
  });

  it('uses the OPNFV API URL when ENERGY_RECORDER_API_URL is unset', () => {
    const rec = EnergyRecorder.fromEnv({ NODE_NAME: 'p' });
    expect(rec.apiUrl).toBe('http://energy.opnfv.fr/resources');
  });
});

describe('EnergyRecorder availability', () => {
  it('turns every call into a no-op when the ping answers 500 API-KO', async () => {
    api.pingMode = 'ko';
    const rec = recorder();
    await expect(rec.ping()).resolves.toBe(false);
    await expect(rec.start('s')).resolves.toBe(false);
    await expect(rec.stop()).resolves.toBe(false);
    await expect(rec.setStep('x')).resolves.toBe(false);
    await expect(rec.getCurrentScenario()).resolves.toBeNull();
    await expect(rec.recording('s', () => 42)).resolves.toBe(42);
    expect(api.calls()).toEqual([]);
    expect(rec.available).toBe(false);
  });

  it('probes once and then stays quiet for the back-off when the ping never answers', async () => {
    api.pingMode = 'hang';
    const rec = recorder({ timeoutMs: 200, retryAfterMs: 60_000 });
    await expect(rec.recording('a', async () => 'first')).resolves.toBe('first');
    await expect(rec.recording('b', async () => 'second')).resolves.toBe('second');
    await expect(rec.start('c')).resolves.toBe(false);
    expect(api.requests.filter((r) => r.path.endsWith('/monitoring/ping'))).toHaveLength(1);
  });

  it('probes again after the back-off and records when the API came back', async () => {
    api.pingMode = 'ko';
    const rec = recorder({ retryAfterMs: 30 });
    await expect(rec.start('s')).resolves.toBe(false);
    api.pingMode = 'ok';
    await new Promise((r) => setTimeout(r, 60));
    await expect(rec.start('s')).resolves.toBe(true);
    expect(rec.available).toBe(true);
  });

  it('ends each call at timeoutMs, runs fn and goes quiet when the ping answers but the calls hang', async () => {
    api.hangCalls = true;
    const rec = recorder({ timeoutMs: 300, retryAfterMs: 60_000 });
    const started = Date.now();
    await expect(rec.recording('wedged', () => 'ran')).resolves.toBe('ran');
    // One lookup of the running scenario timed out; nothing else waited for the API.
    expect(Date.now() - started).toBeLessThan(2000);
    expect(rec.available).toBe(false);
    const before = api.requests.length;
    await expect(rec.setStep('x')).resolves.toBe(false);
    await expect(rec.stop()).resolves.toBe(false);
    expect(api.requests).toHaveLength(before);
  });

  it('keeps recording on and logs no outage when the caller aborts a report', async () => {
    const lines: { level: string; msg: string | undefined }[] = [];
    const at = (level: string) => (_fields: Record<string, unknown>, msg?: string) => void lines.push({ level, msg });
    const logger: Logger = { trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => logger };
    const rec = recorder({ retryAfterMs: 60_000, logger });
    await rec.recording('first', () => undefined);
    const controller = new AbortController();
    controller.abort();
    await expect(rec.report({ scenario: 'first', signal: controller.signal, waitMs: 0 })).resolves.toBeNull();
    expect(rec.available).toBe(true);
    expect(lines.filter((l) => l.level === 'warn' || l.level === 'error')).toEqual([]);
    const before = api.calls().length;
    await expect(rec.recording('second', () => 'ran')).resolves.toBe('ran');
    // Start: look up what runs, submit; end: check it still runs, stop.
    expect(api.calls().length - before).toBe(4);
  });

  it('answers false without throwing when the API port is closed', async () => {
    const url = api.url;
    await api.close();
    const rec = new EnergyRecorder({ environment: env(), apiUrl: url, timeoutMs: 1000 });
    await expect(rec.start('s')).resolves.toBe(false);
    await expect(rec.recording('s', () => 'value')).resolves.toBe('value');
    api = new FakeApi();
    await api.listen();
  });
});

describe('EnergyRecorder and the down note of other test files and workers', () => {
  afterEach(() => {
    shareUp(api.url);
  });

  it('records again once the back-off noted by another file or worker has passed', async () => {
    shareDown(api.url, Date.now() + 150);
    const rec = recorder();
    await expect(rec.start('during')).resolves.toBe(false);
    expect(api.requests).toEqual([]);
    await new Promise((r) => setTimeout(r, 200));
    expect(rec.available).toBeUndefined();
    await expect(rec.recording('after', () => 'ran')).resolves.toBe('ran');
    const base = `/resources/recorders/environment/${rec.environment}`;
    expect(api.calls()).toContain(`POST ${base} {"step":"running","scenario":"after"}`);
    await expect(rec.ping()).resolves.toBe(true);
  });

  it('probes for itself when the note was written before this process started', async () => {
    writeFileSync(
      availabilityFile(api.url),
      JSON.stringify({ apiUrl: api.url, downUntilMs: Date.now() + 60_000, atMs: performance.timeOrigin - 1000, pid: process.pid }),
    );
    const rec = recorder();
    await expect(rec.start('fresh-run')).resolves.toBe(true);
    expect(api.requests.filter((r) => r.path.endsWith('/monitoring/ping'))).toHaveLength(1);
  });

  it('probes for itself and deletes the note when its writer has exited', async () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const file = availabilityFile(api.url);
    writeFileSync(file, JSON.stringify({ apiUrl: api.url, downUntilMs: Date.now() + 60_000, atMs: Date.now(), pid: Number(dead.stdout) }));
    const rec = recorder();
    await expect(rec.start('writer-gone')).resolves.toBe(true);
    expect(existsSync(file)).toBe(false);
  });
});

describe('EnergyRecorder calls', () => {
  it('returns the running scenario on 200 and null on 404 and 500', async () => {
    const rec = recorder();
    await expect(rec.getCurrentScenario()).resolves.toBeNull();
    await rec.submitScenario('scn', 'st');
    await expect(rec.getCurrentScenario()).resolves.toEqual({ environment: rec.environment, scenario: 'scn', step: 'st' });
    api.failStatus = 500;
    await expect(rec.getCurrentScenario()).resolves.toBeNull();
    await expect(rec.start('x')).resolves.toBe(false);
  });

  it('posts the step to /step and deletes on stop', async () => {
    const rec = recorder();
    await rec.start('scn');
    await expect(rec.setStep('deploy')).resolves.toBe(true);
    await expect(rec.stop()).resolves.toBe(true);
    const base = `/resources/recorders/environment/${rec.environment}`;
    expect(api.calls()).toEqual([
      `POST ${base} {"step":"running","scenario":"scn"}`,
      `POST ${base}/step {"step":"deploy"}`,
      `DELETE ${base}`,
    ]);
  });

  it('percent-encodes the environment as one path segment when it holds spaces and slashes', async () => {
    const rec = new EnergyRecorder({ environment: "pod 1/a'b", apiUrl: api.url });
    await rec.start('s');
    expect(api.calls()[0]).toContain("/recorders/environment/pod%201%2Fa%27b {");
  });
});

describe('EnergyRecorder.recording', () => {
  it('starts the scenario and stops when nothing ran before', async () => {
    const rec = recorder();
    const result = await rec.recording('scn', async () => {
      expect(api.current(rec.environment)).toEqual({ scenario: 'scn', step: 'running' });
      return 'done';
    });
    expect(result).toBe('done');
    const base = `/resources/recorders/environment/${rec.environment}`;
    expect(api.calls()).toEqual([`GET ${base}`, `POST ${base} {"step":"running","scenario":"scn"}`, `GET ${base}`, `DELETE ${base}`]);
  });

  it('restores the previous scenario and step when one was running', async () => {
    const rec = recorder();
    api.setRunning(rec.environment, 'outer', 'phase-2');
    await rec.recording('inner', () => undefined);
    expect(api.current(rec.environment)).toEqual({ scenario: 'outer', step: 'phase-2' });
  });

  it('rethrows the error of fn and still restores when fn fails', async () => {
    const rec = recorder();
    const boom = new Error('boom');
    await expect(
      rec.recording('scn', async () => {
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(api.current(rec.environment)).toBeUndefined();
    expect(api.calls().at(-1)).toMatch(/^DELETE /);
  });

  it('restores the outer recording with the step it had when recordings nest', async () => {
    const rec = recorder();
    await rec.recording('outer', async () => {
      await rec.setStep('outer-step');
      await rec.recording('inner', async () => {
        await rec.setStep('inner-step');
      });
      expect(api.current(rec.environment)).toEqual({ scenario: 'outer', step: 'outer-step' });
    });
    expect(api.current(rec.environment)).toBeUndefined();
  });

  it('restores in the right order when concurrent recordings end out of order', async () => {
    const rec = recorder();
    api.setRunning(rec.environment, 'ci-job', 'tests');
    let releaseA: () => void = () => undefined;
    const gateA = new Promise<void>((r) => (releaseA = r));
    let releaseB: () => void = () => undefined;
    const gateB = new Promise<void>((r) => (releaseB = r));
    let bStarted: () => void = () => undefined;
    const bIsRunning = new Promise<void>((r) => (bStarted = r));
    const a = rec.recording('A', async () => {
      await bIsRunning;
      await rec.setStep('a-late');
      await gateA;
    });
    const b = rec.recording('B', async () => {
      bStarted();
      await gateB;
    });
    await bIsRunning;
    releaseA();
    await a;
    // A ended while B is shown: the API must still show B.
    expect(api.current(rec.environment)).toEqual({ scenario: 'B', step: 'running' });
    releaseB();
    await b;
    expect(api.current(rec.environment)).toEqual({ scenario: 'ci-job', step: 'tests' });
  });

  it('runs sync fn at once and sends the markers in order in the background', async () => {
    const rec = recorder();
    const value = rec.recordingSync('sync-scn', () => 7);
    expect(value).toBe(7);
    await rec.flush();
    const base = `/resources/recorders/environment/${rec.environment}`;
    expect(api.calls()).toEqual([`GET ${base}`, `POST ${base} {"step":"running","scenario":"sync-scn"}`, `GET ${base}`, `DELETE ${base}`]);
  });

  it('runs a lazy thenable once and ends the recording at once when fn returns one', async () => {
    const rec = recorder();
    let executions = 0;
    // Knex/Mongoose-style: every `then` runs the query again.
    const query = { then: (resolve: (rows: string) => unknown) => (executions += 1, Promise.resolve('rows').then(resolve)) };
    const result = rec.recordingSync('lazy', () => query);
    expect(result).toBe(query);
    await rec.flush();
    expect(api.calls().at(-1)).toMatch(/^DELETE /);
    await expect(result).resolves.toBe('rows');
    expect(executions).toBe(1);
  });

  it('attaches no handler to the promise it returns when fn returns a rejected promise', async () => {
    // Jest reports unhandled rejections itself, so whether one would surface is observed through `then` calls:
    // a promise given back with an SDK handler on it could never report an unhandled rejection.
    class Tracked<T> extends Promise<T> {
      handled = false;
      override then<A = T, B = never>(
        onFulfilled?: ((value: T) => A | PromiseLike<A>) | null,
        onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
      ): Promise<A | B> {
        this.handled = true;
        return super.then(onFulfilled, onRejected);
      }
    }
    const rec = recorder();
    const failure = new Error('real failure');
    const returned = rec.recordingSync('fire-and-forget', () => Tracked.reject(failure) as Tracked<never>);
    expect(returned.handled).toBe(false);
    await expect(returned).rejects.toBe(failure);
    await rec.flush();
    expect(api.calls().at(-1)).toMatch(/^DELETE /);
  });

  it('gives a step set in a generator body to its own recording when it is iterated inside another one', async () => {
    const rec = recorder();
    const shown: unknown[] = [];
    await rec.recording('outer', async () => {
      function* body(): Generator<number, void, unknown> {
        void rec.setStep('inner-step');
        yield 1;
      }
      for (const _ of rec.recordingGenerator('inner', body)) {
        await rec.flush();
        shown.push(api.current(rec.environment));
      }
    });
    expect(shown).toEqual([{ scenario: 'inner', step: 'inner-step' }]);
    expect(api.current(rec.environment)).toBeUndefined();
  });

  it('gives a handle whose end restores once when beginRecording is used', async () => {
    const rec = recorder();
    const handle = await rec.beginRecording('manual');
    expect(handle.recorded).toBe(true);
    await expect(handle.end()).resolves.toBe(true);
    await expect(handle.end()).resolves.toBe(true);
    expect(api.calls().filter((c) => c.startsWith('DELETE'))).toHaveLength(1);
  });
});

describe('EnergyRecorder when a start does not take', () => {
  it('sends no step of a recording whose start did not reach the API, when the API comes back during it', async () => {
    api.pingMode = 'ko';
    const rec = recorder({ retryAfterMs: 30 });
    await rec.recording('missed', async () => {
      // Meanwhile the API came back and an outer CI job runs on the environment.
      api.pingMode = 'ok';
      api.setRunning(rec.environment, 'nightly', 'deploy');
      await new Promise((r) => setTimeout(r, 60));
      await expect(rec.step('inner-step')).resolves.toBe(false);
    });
    expect(api.current(rec.environment)).toEqual({ scenario: 'nightly', step: 'deploy' });
    expect(api.calls().filter((c) => c.startsWith('POST') || c.startsWith('DELETE'))).toEqual([]);
  });

  it('sends neither steps nor end marker when the API refuses the start', async () => {
    const rec = recorder();
    api.setRunning(rec.environment, 'nightly', 'deploy');
    api.refuseScenario = 'refused';
    await rec.recording('refused', async () => {
      await expect(rec.step('inner-step')).resolves.toBe(false);
    });
    const handle = await rec.beginRecording('refused');
    expect(handle.recorded).toBe(false);
    await expect(handle.end()).resolves.toBe(false);
    expect(api.current(rec.environment)).toEqual({ scenario: 'nightly', step: 'deploy' });
    expect(api.calls().filter((c) => c.includes('/step') || c.startsWith('DELETE'))).toEqual([]);
  });
});

describe('EnergyRecorder when another process takes over', () => {
  it('leaves the scenario another process started alone at its end instead of restoring over it', async () => {
    const rec = recorder();
    await rec.recording('mine', async () => {
      api.setRunning(rec.environment, 'other-worker', 'running');
    });
    expect(api.current(rec.environment)).toEqual({ scenario: 'other-worker', step: 'running' });
    expect(api.calls().filter((c) => c.startsWith('DELETE'))).toEqual([]);
  });
});

describe('EnergyRecorder waitMs', () => {
  it('runs the body within waitMs when the API accepts connections and never answers', async () => {
    api.pingMode = 'hang';
    const rec = recorder({ timeoutMs: 3000, waitMs: 100 });
    const t0 = Date.now();
    let bodyStartedMs = Number.NaN;
    const value = await rec.recording('hung', async () => {
      bodyStartedMs = Date.now() - t0;
      return 'ran';
    });
    expect(value).toBe('ran');
    expect(bodyStartedMs).toBeLessThan(1000);
    expect(Date.now() - t0).toBeLessThan(1500);
    await expect(rec.step('s', () => 'stepped')).resolves.toBe('stepped');
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('sends the markers in order in the background when the API answers after waitMs', async () => {
    api.callDelayMs = 150;
    const rec = recorder({ waitMs: 20 });
    await rec.ping();
    let shownDuringBody: unknown = 'not run';
    await rec.recording('slow', () => {
      shownDuringBody = api.current(rec.environment);
    });
    // The trade-off: the body started before the start marker landed.
    expect(shownDuringBody).toBeUndefined();
    await rec.flush();
    const base = `/resources/recorders/environment/${rec.environment}`;
    expect(api.calls()).toEqual([`GET ${base}`, `POST ${base} {"step":"running","scenario":"slow"}`, `GET ${base}`, `DELETE ${base}`]);
    expect(api.current(rec.environment)).toBeUndefined();
  });

  it('delays the body by waitMs in total, not per marker, when a recording with steps meets a hanging API', async () => {
    api.pingMode = 'hang';
    const rec = recorder({ timeoutMs: 5000, waitMs: 300 });
    const t0 = Date.now();
    const value = await rec.recording('hung', async () => {
      await rec.step('one', () => undefined);
      await rec.step('two', () => undefined);
      await rec.step('three', () => undefined);
      return 'ran';
    });
    expect(value).toBe('ran');
    // Start, three steps and end would wait 5 x 300 ms with a budget per marker.
    expect(Date.now() - t0).toBeLessThan(600);
  });

  it('still waits for each marker of a recording while the API answers fast', async () => {
    const rec = recorder({ waitMs: 1000 });
    await rec.recording('quick', async () => {
      for (const name of ['a', 'b', 'c']) {
        await rec.step(name, () => undefined);
        expect(api.current(rec.environment)).toEqual({ scenario: 'quick', step: name });
      }
    });
  });

  it('waits for the end marker with its own waitMs when the start was answered, with an API taking 300 ms per call', async () => {
    api.callDelayMs = 300;
    api.pingDelayMs = 300;
    const rec = recorder({ timeoutMs: 5000, waitMs: 1000 });
    let shownDuringBody: unknown;
    await rec.recording('slow-but-answering', async () => {
      shownDuringBody = api.current(rec.environment);
    });
    // Start: ping, lookup, start (900 ms); end: lookup, stop (600 ms), more than what a shared budget leaves.
    expect(shownDuringBody).toEqual({ scenario: 'slow-but-answering', step: 'running' });
    expect(api.current(rec.environment)).toBeUndefined();
    const base = `/resources/recorders/environment/${rec.environment}`;
    expect(api.calls()).toEqual([`GET ${base}`, `POST ${base} {"step":"running","scenario":"slow-but-answering"}`, `GET ${base}`, `DELETE ${base}`]);
  });

  it('refuses ENERGY_RECORDER_WAIT_MS when it is negative or not a number', () => {
    expect(() => EnergyRecorder.fromEnv({ NODE_NAME: 'p', ENERGY_RECORDER_WAIT_MS: '-1' })).toThrow(/ENERGY_RECORDER_WAIT_MS: must be an integer >= 0/);
    expect(EnergyRecorder.fromEnv({ NODE_NAME: 'p', ENERGY_RECORDER_WAIT_MS: '0' })).toBeInstanceOf(EnergyRecorder);
  });
});

describe('EnergyRecorder.report', () => {
  it('returns the parsed report of the last recorded scenario', async () => {
    const rec = recorder();
    await rec.recording('measured', async () => rec.step('compile'));
    const report = await rec.report({ waitMs: 0 });
    expect(report?.scenario).toBe('measured');
    expect(report?.steps.map((s) => s.step)).toEqual(['running', 'compile']);
    expect(api.requests.at(-1)?.path).toBe(`/resources/recorders/environment/${rec.environment}/report`);
  });

  it('fetches again until the wait ends when an equipment lacks samples', async () => {
    const rec = recorder();
    await rec.recording('partial', () => undefined);
    api.reportCoverage = 40;
    const report = await rec.report({ waitMs: 300, pollIntervalMs: 50 });
    expect(report?.equipments[0]?.coveragePct).toBe(40);
    expect(api.requests.filter((r) => r.path.endsWith('/report')).length).toBeGreaterThan(1);
  });

  it('fetches once when every equipment is covered', async () => {
    const rec = recorder();
    await rec.recording('complete', () => undefined);
    await rec.report({ waitMs: 10_000, pollIntervalMs: 50 });
    expect(api.requests.filter((r) => r.path.endsWith('/report'))).toHaveLength(1);
  });

  it('returns null when no session matches', async () => {
    const rec = recorder();
    await expect(rec.report({ scenario: 'never', waitMs: 0 })).resolves.toBeNull();
  });

  it('returns the sessions newest first', async () => {
    const rec = recorder();
    await rec.recording('one', () => undefined);
    await rec.recording('two', () => undefined);
    const sessions = await rec.sessions();
    expect(sessions?.sessions.map((s) => s.scenario)).toEqual(['two', 'one']);
  });
});

describe('EnergyRecorder.disabled', () => {
  it('runs fn and sends nothing when disabled', async () => {
    const rec = EnergyRecorder.disabled('no config');
    await expect(rec.recording('x', () => 1)).resolves.toBe(1);
    await expect(rec.ping()).resolves.toBe(false);
    expect(rec.available).toBe(false);
  });
});

describe('EnergyRecorder logging', () => {
  type Line = { level: string; fields: Record<string, unknown>; msg: string | undefined };
  function capture(lines: Line[]): Logger {
    const at = (level: string) => (fields: Record<string, unknown>, msg?: string) => void lines.push({ level, fields, msg });
    const logger: Logger = { trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => logger };
    return logger;
  }

  it('logs a refused call with its status and the API body, and never the credentials, when the API answers 500', async () => {
    const lines: Line[] = [];
    const rec = recorder({ user: 'ci-bot', password: 's3cret-pw', logger: capture(lines) });
    api.failStatus = 500;
    await expect(rec.recording('scn', () => 'ran')).resolves.toBe('ran');
    const refused = lines.find((l) => l.level === 'error' && l.fields['status'] === 500);
    expect(refused?.fields['body']).toContain('forced failure');
    const text = JSON.stringify(lines);
    expect(text).not.toContain('s3cret-pw');
    expect(text).not.toContain(Buffer.from('ci-bot:s3cret-pw').toString('base64'));
  });

  it('sends the credentials of the API URL as Basic auth on every call and never logs them when calls fail', async () => {
    const lines: Line[] = [];
    const withCredentials = (url: string): string => url.replace('http://', 'http://ci-bot:s3cret%2Fpw@');
    const rec = new EnergyRecorder({ environment: env(), apiUrl: withCredentials(api.url), timeoutMs: 2000, logger: capture(lines) });
    expect(rec.apiUrl).toBe(api.url);
    api.failStatus = 500;
    await expect(rec.recording('scn', () => 'ran')).resolves.toBe('ran');
    const auth = `Basic ${Buffer.from('ci-bot:s3cret/pw').toString('base64')}`;
    expect(api.requests.length).toBeGreaterThan(1);
    expect(api.requests.filter((r) => r.authorization !== auth)).toEqual([]);
    const url = api.url;
    await api.close();
    const down = new EnergyRecorder({ environment: env(), apiUrl: withCredentials(url), timeoutMs: 1000, retryAfterMs: 60_000, logger: capture(lines) });
    await expect(down.recording('s', () => 1)).resolves.toBe(1);
    expect(lines.filter((l) => l.level === 'warn').map((l) => l.fields['apiUrl'])).toEqual([url]);
    const text = JSON.stringify(lines);
    expect(text).not.toContain('s3cret');
    expect(text).not.toContain('ci-bot');
    api = new FakeApi();
    await api.listen();
  });

  it('warns once that recording is off when the API is unreachable, not once per call', async () => {
    const lines: Line[] = [];
    const url = api.url;
    await api.close();
    const rec = new EnergyRecorder({ environment: env(), apiUrl: url, timeoutMs: 1000, retryAfterMs: 60_000, logger: capture(lines) });
    for (let i = 0; i < 5; i++) await expect(rec.recording('s', () => i)).resolves.toBe(i);
    const warnings = lines.filter((l) => l.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.msg).toMatch(/unavailable/);
    expect(warnings[0]?.fields['retryAfterMs']).toBe(60_000);
    api = new FakeApi();
    await api.listen();
  });
});

describe('EnergyRecorder with a faulty logger', () => {
  it('still runs fn and resolves when every logger method throws', async () => {
    const boom = (): never => {
      throw new Error('logger broken');
    };
    const logger = { trace: boom, debug: boom, info: boom, warn: boom, error: boom, child: () => logger };
    const url = api.url;
    api.pingMode = 'ko';
    const rec = new EnergyRecorder({ environment: env(), apiUrl: url, logger });
    await expect(rec.recording('s', () => 'value')).resolves.toBe('value');
    await expect(rec.start('s')).resolves.toBe(false);
    await expect(rec.getCurrentScenario()).resolves.toBeNull();
  });

  it('builds the recorder when the logger child() throws', () => {
    const logger = { ...silentLoggerLike(), child: (): never => { throw new Error('no child'); } };
    expect(() => new EnergyRecorder({ environment: env(), apiUrl: api.url, logger })).not.toThrow();
  });
});

function silentLoggerLike(): { trace(): void; debug(): void; info(): void; warn(): void; error(): void } {
  const noop = (): void => undefined;
  return { trace: noop, debug: noop, info: noop, warn: noop, error: noop };
}
