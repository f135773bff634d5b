import type { Logger } from '@energyrecorder/core';
import { getDefaultRecorder } from './default-recorder.js';
import { apiName, HOOK_TIMEOUT_MS, scenarioOfTestFile, testRunnerLogger } from './internal/test-runner.js';
import type { EnergyRecorder, RecordingHandle } from './recorder.js';

type Hook = (fn: () => Promise<void>, timeoutMs?: number) => void;

/** The Jest globals this module uses, typed here so the package needs no Jest types. */
interface JestGlobals {
  beforeAll: Hook;
  afterAll: Hook;
  beforeEach: Hook;
  expect: { getState(): { testPath?: string | undefined; currentTestName?: string | undefined } };
}

/** Options of {@link installJestRecording}. */
export interface JestRecordingOptions {
  /** Recorder to use. Default: the one from the environment variables. */
  recorder?: EnergyRecorder;
  /** Scenario of a test file. Default: its path relative to the working directory. */
  scenarioName?: (testPath: string) => string;
  /** Where to log. Default: stderr at the level of `ENERGY_RECORDER_LOG_LEVEL` (default `warn`). */
  logger?: Logger;
}

function jestGlobals(): JestGlobals | undefined {
  const g = globalThis as Partial<JestGlobals>;
  if (typeof g.beforeAll !== 'function' || typeof g.afterAll !== 'function' || typeof g.beforeEach !== 'function') return undefined;
  if (typeof g.expect?.getState !== 'function') return undefined;
  return g as JestGlobals;
}

/**
 * Registers Jest hooks recording the current test file as a scenario and each test as a step. Called by this
 * module itself when it is listed in `setupFilesAfterEnv`; call it yourself from a setup file to pass options.
 * Returns false when the Jest globals are not there.
 */
export function installJestRecording(options: JestRecordingOptions = {}): boolean {
  const jest = jestGlobals();
  if (jest === undefined) return false;
  const logger = options.logger ?? testRunnerLogger();
  const recorder = options.recorder ?? getDefaultRecorder(logger);
  let handle: RecordingHandle | undefined;
  jest.beforeAll(async () => {
    const testPath = jest.expect.getState().testPath ?? 'jest';
    const scenario = apiName(options.scenarioName?.(testPath) ?? scenarioOfTestFile(testPath));
    handle = await recorder.beginRecording(scenario === '' ? 'jest' : scenario);
  }, HOOK_TIMEOUT_MS);
  jest.beforeEach(async () => {
    const step = jest.expect.getState().currentTestName;
    // Only steps of a recorded file are sent: when its start did not reach the API, a step would change the step
    // of whatever runs on the environment (an outer CI job's scenario).
    if (handle?.recorded === true && step !== undefined && step !== '') await recorder.setStep(apiName(step));
  }, HOOK_TIMEOUT_MS);
  jest.afterAll(async () => {
    await handle?.end();
    handle = undefined;
  }, HOOK_TIMEOUT_MS);
  return true;
}

const installedKey = Symbol.for('@energyrecorder/sdk/jest.installed');

/** Setup files run once per test file; the guard keeps a second import from doubling the hooks. */
function autoInstall(): void {
  const g = globalThis as Record<symbol, unknown>;
  if (g[installedKey] === true || process.env['ENERGY_RECORDER_JEST_AUTO'] === '0') return;
  if (installJestRecording()) g[installedKey] = true;
}

autoInstall();
