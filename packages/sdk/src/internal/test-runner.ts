import { relative } from 'node:path';
import type { Logger } from '@energyrecorder/core';
import { stderrLogger } from './logger.js';

/** Hooks run a few API calls, each bounded by the recorder's timeout; Jest's 5 s and Mocha's 2 s are too short. */
export const HOOK_TIMEOUT_MS = 30_000;

/** Default scenario of a test file: its path relative to the working directory, with `/` on every platform. */
export function scenarioOfTestFile(file: string): string {
  return relative(process.cwd(), file).split('\\').join('/');
}

/** Default logger of the test-runner integrations: stderr at `ENERGY_RECORDER_LOG_LEVEL` (default `warn`). */
export function testRunnerLogger(): Logger {
  return stderrLogger(process.env['ENERGY_RECORDER_LOG_LEVEL'] ?? 'warn');
}
