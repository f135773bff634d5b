import type { Logger } from '@energyrecorder/core';
import { getDefaultRecorder } from './default-recorder.js';
import { apiName, HOOK_TIMEOUT_MS, scenarioOfTestFile, testRunnerLogger } from './internal/test-runner.js';
import type { EnergyRecorder, RecordingHandle } from './recorder.js';

/** The part of Mocha's hook context this plugin reads, typed here so the package needs no Mocha types. */
export interface MochaHookContext {
  currentTest?: { file?: string | undefined; title: string; fullTitle(): string } | undefined;
  timeout?(ms: number): unknown;
}

/** Mocha root hooks (`exports.mochaHooks`). */
export interface MochaRootHooks {
  beforeEach(this: MochaHookContext): Promise<void>;
  afterAll(this: MochaHookContext): Promise<void>;
}

/** Options of {@link createMochaHooks}. */
export interface MochaRecordingOptions {
  recorder?: EnergyRecorder;
  /** Scenario of a test file. Default: its path relative to the working directory. */
  scenarioName?: (file: string) => string;
  logger?: Logger;
}

/**
 * Root hooks recording each test file as a scenario and each test (its full title) as a step. Root hooks run
 * for the whole run, so a new scenario begins when the first test of another file starts.
 */
export function createMochaHooks(options: MochaRecordingOptions = {}): MochaRootHooks {
  let recorder = options.recorder;
  const getRecorder = (): EnergyRecorder => {
    recorder ??= getDefaultRecorder(options.logger ?? testRunnerLogger());
    return recorder;
  };
  let currentFile: string | undefined;
  let handle: RecordingHandle | undefined;
  return {
    async beforeEach(this: MochaHookContext): Promise<void> {
      this.timeout?.(HOOK_TIMEOUT_MS);
      const test = this.currentTest;
      if (test === undefined) return;
      const file = test.file ?? 'mocha';
      const rec = getRecorder();
      if (file !== currentFile) {
        await handle?.end();
        currentFile = file;
        const scenario = apiName(options.scenarioName?.(file) ?? scenarioOfTestFile(file));
        handle = await rec.beginRecording(scenario === '' ? 'mocha' : scenario);
      }
      // Only steps of a recorded file are sent: when its start did not reach the API, a step would change the
      // step of whatever runs on the environment (an outer CI job's scenario).
      const step = apiName(test.fullTitle());
      if (handle?.recorded === true && step !== '') await rec.setStep(step);
    },
    async afterAll(this: MochaHookContext): Promise<void> {
      this.timeout?.(HOOK_TIMEOUT_MS);
      await handle?.end();
      handle = undefined;
      currentFile = undefined;
    },
  };
}

/** Ready-made root hooks: `mocha --require @energyrecorder/sdk/mocha`. */
export const mochaHooks: MochaRootHooks = createMochaHooks();
