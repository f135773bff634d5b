import { getDefaultRecorder } from './default-recorder.js';

/**
 * Function form of `@enableRecording` for tests written without classes: runs `fn` as scenario `scenario` on the
 * default recorder ({@link getDefaultRecorder}, from the environment variables unless one was set). Saves what
 * runs on the environment, starts `scenario` at step `running`, and restores (or stops) afterwards, on success
 * and on failure. Returns what `fn` returns, rethrows what it throws; recording failures are only logged.
 */
export function recording<T>(scenario: string, fn: () => T | Promise<T>): Promise<T> {
  return getDefaultRecorder().recording(scenario, fn);
}

/**
 * Function form of `@setStep` on the default recorder: sets the step of the recording running in this async
 * context (or of the environment). With `fn`, runs it once the step is sent and returns its result; without,
 * resolves whether the API took the step. Never rejects because of recording.
 */
export function step(name: string): Promise<boolean>;
export function step<T>(name: string, fn: () => T | Promise<T>): Promise<T>;
export function step<T>(name: string, fn?: () => T | Promise<T>): Promise<T | boolean> {
  const recorder = getDefaultRecorder();
  return fn === undefined ? recorder.step(name) : recorder.step(name, fn);
}
