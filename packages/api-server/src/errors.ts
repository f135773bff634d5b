import { EnergyRecorderError } from '@energyrecorder/core';

/**
 * The store (InfluxDB or the embedded database) could not be reached or refused the operation for a reason that
 * may go away. The API answers 503 with `Retry-After` and acknowledges nothing.
 */
export class StoreUnavailableError extends EnergyRecorderError {
  /** Suggested client back-off in seconds. */
  readonly retryAfterS: number;

  constructor(message: string, options: { cause?: unknown; retryAfterS?: number } = {}) {
    super('ER_STORE_UNAVAILABLE', message, { retryable: true, cause: options.cause });
    this.retryAfterS = options.retryAfterS ?? 5;
  }
}

/** The store answered, but refused the data or the query (a bug or a schema conflict). Not retryable. */
export class StoreError extends EnergyRecorderError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('ER_STORE', message, { retryable: false, cause: options.cause });
  }
}
