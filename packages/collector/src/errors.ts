import { EnergyRecorderError } from '@energyrecorder/core';

/** The on-disk spool could not be opened or written (disk full, permissions). Not retryable by itself. */
export class SpoolError extends EnergyRecorderError {
  constructor(message: string, cause?: unknown) {
    super('ER_SPOOL', message, { retryable: false, cause });
  }
}

/**
 * The recording API refused a batch for its content (400, 409, 422): the batch is dropped, not retried, and this
 * error is logged with the API's own message, the batch's time and its number of readings. Other 4xx answers are
 * about the settings (credentials, `base_url`, a proxy's limits) and keep the batch (`ER_PUSH_REFUSED` log lines).
 */
export class PushRejectedError extends EnergyRecorderError {
  readonly status: number;
  readonly equipmentId: string;

  constructor(equipmentId: string, status: number, apiMessage: string) {
    super('ER_PUSH_REJECTED', `API refused the batch of ${equipmentId} with ${status}: ${apiMessage}`, {
      retryable: false,
    });
    this.status = status;
    this.equipmentId = equipmentId;
  }
}
