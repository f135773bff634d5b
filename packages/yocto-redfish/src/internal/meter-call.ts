import { MeterError, UsbTransferError, type MeterErrorCode } from '../errors.js';
import { redactUrlCredentials } from './redact.js';

/** How a driver classifies a failure of its own protocol layer; undefined leaves the generic mapping. */
export type FailureClassifier = (err: unknown) => { code: MeterErrorCode; retryable?: boolean } | undefined;

/**
 * Runs one driver step and turns any failure into a `MeterError` naming the meter: a vanished USB device is
 * `ER_METER_NOT_FOUND`, the driver's classifier decides its protocol errors, anything else is a retryable
 * `ER_METER`. A `MeterError` passes through unchanged.
 */
export async function meterCall<T>(
  meter: { readonly driver: string; readonly target: string },
  fn: () => Promise<T>,
  classify: FailureClassifier = () => undefined,
): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof MeterError) throw err;
    const gone = err instanceof UsbTransferError && err.failure === 'gone';
    const kind = gone ? { code: 'ER_METER_NOT_FOUND' as const } : classify(err);
    throw new MeterError(redactUrlCredentials(err instanceof Error ? err.message : String(err)), {
      driver: meter.driver,
      target: meter.target,
      code: kind?.code ?? 'ER_METER',
      retryable: kind?.retryable ?? true,
      cause: err,
    });
  }
}
