import type { Logger } from '@energyrecorder/core';
import { SdkError } from './errors.js';
import { guardedLogger } from './internal/logger.js';
import { EnergyRecorder } from './recorder.js';

let defaultRecorder: EnergyRecorder | undefined;

/**
 * The recorder used by the decorators and the Jest/Mocha integrations when none is given: built on first use
 * from the environment variables ({@link EnergyRecorder.fromEnv}). A missing or invalid configuration gives a
 * disabled recorder and one warning instead of an error, so tests still run: through `logger` when one is given,
 * else as a process warning (`process.emitWarning`, code `ER_SDK_CONFIG`).
 */
export function getDefaultRecorder(logger?: Logger): EnergyRecorder {
  if (defaultRecorder !== undefined) return defaultRecorder;
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
  return defaultRecorder;
}

/** Replaces the default recorder (pass undefined to rebuild it from the environment on next use). */
export function setDefaultRecorder(recorder: EnergyRecorder | undefined): void {
  defaultRecorder = recorder;
}
