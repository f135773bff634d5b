import type { Logger } from '@energyrecorder/core';
import { SdkError } from './errors.js';
import { sdkShared } from './internal/env-state.js';
import { guardedLogger } from './internal/logger.js';
import { EnergyRecorder } from './recorder.js';

/**
 * The recorder used by the decorators and the Jest/Mocha integrations when none is given: built on first use
 * from the environment variables ({@link EnergyRecorder.fromEnv}). A missing or invalid configuration gives a
 * disabled recorder and one warning instead of an error, so tests still run: through `logger` when one is given,
 * else as a process warning (`process.emitWarning`, code `ER_SDK_CONFIG`).
 */
export function getDefaultRecorder(logger?: Logger): EnergyRecorder {
  // Kept process-wide (see sdkShared), so the CommonJS entries, each bundling its own copy, share it.
  const shared = sdkShared();
  if (shared.defaultRecorder !== undefined) return shared.defaultRecorder as EnergyRecorder;
  let defaultRecorder: EnergyRecorder;
  try {
    defaultRecorder = EnergyRecorder.fromEnv(process.env, logger === undefined ? {} : { logger });
  } catch (err) {
    const reason = err instanceof SdkError ? err.message : String(err);
    const message = 'energy recording disabled: no valid configuration';
    if (logger !== undefined) guardedLogger(logger).warn({ reason }, message);
    // Decorators and the plain functions have no logger to give; a process warning is the one channel Node
    // shows by default (and `--no-warnings` silences), so the disabled recording does not go unnoticed.
    else process.emitWarning(`${message}: ${reason}`, { code: 'ER_SDK_CONFIG' });
    defaultRecorder = EnergyRecorder.disabled(reason, logger);
  }
  shared.defaultRecorder = defaultRecorder;
  return defaultRecorder;
}

/** Replaces the default recorder (pass undefined to rebuild it from the environment on next use). */
export function setDefaultRecorder(recorder: EnergyRecorder | undefined): void {
  sdkShared().defaultRecorder = recorder;
}
