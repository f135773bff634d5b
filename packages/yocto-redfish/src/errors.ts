import { AdapterError, EnergyRecorderError } from '@energyrecorder/core';

/** Codes of {@link MeterError}. Listed in the package README. */
export type MeterErrorCode =
  | 'ER_METER'
  | 'ER_METER_NOT_FOUND'
  | 'ER_METER_PROTOCOL'
  | 'ER_METER_VERSION'
  | 'ER_METER_TOOL'
  | 'ER_METER_NO_DATA';

/** A meter could not be opened or read. Retryable unless the meter answered with something we cannot use. */
export class MeterError extends AdapterError {
  constructor(
    message: string,
    options: { driver: string; target: string; code?: MeterErrorCode; retryable?: boolean; cause?: unknown },
  ) {
    super(message, {
      adapterType: options.driver,
      target: options.target,
      code: options.code ?? 'ER_METER',
      retryable: options.retryable ?? true,
      cause: options.cause,
    });
  }
}

/** Why a USB transfer failed. */
export type UsbFailure = 'timeout' | 'stall' | 'gone' | 'io';

/** A USB transfer failed. `failure` says how; a `gone` device must be re-opened. Always retryable. */
export class UsbTransferError extends EnergyRecorderError {
  readonly failure: UsbFailure;

  constructor(failure: UsbFailure, message: string, options: { cause?: unknown } = {}) {
    super(`ER_USB_${failure.toUpperCase()}`, message, { retryable: true, cause: options.cause });
    this.failure = failure;
  }
}
