import { AdapterError } from '@energyrecorder/core';
import { errorMessage } from '../internal/device-support.js';

/** Error codes of the `ipmi` adapter; each is listed in the package README. */
export const IpmiErrorCode = Object.freeze({
  /** The BMC did not answer in time (after retransmissions). Retryable. */
  TIMEOUT: 'ER_IPMI_TIMEOUT',
  /** The BMC does not know the user name (RAKP status 0Dh). */
  UNKNOWN_USER: 'ER_IPMI_UNKNOWN_USER',
  /** The password is wrong: the BMC's RAKP 2 code does not match ours, or it refused our RAKP 3. */
  BAD_PASSWORD: 'ER_IPMI_BAD_PASSWORD',
  /** Session set-up refused for another reason (cipher suite, privilege level, no resources). */
  AUTH: 'ER_IPMI_AUTH',
  /** A command answered with a non-zero completion code. */
  COMPLETION: 'ER_IPMI_COMPLETION',
  /** The answer is malformed or not what the spec says. */
  PROTOCOL: 'ER_IPMI_PROTOCOL',
  /** Neither DCMI nor a matching SDR power sensor is available. */
  NO_POWER_SOURCE: 'ER_IPMI_NO_POWER_SOURCE',
  /**
   * DCMI was chosen but its measurement is not active on this poll, and the BMC has no SDR power sensor to stand
   * in. Retryable: the next poll asks DCMI again.
   */
  DCMI_INACTIVE: 'ER_IPMI_DCMI_INACTIVE',
  /** The `ipmitool` driver failed (not installed, non-zero exit, unparsable output). */
  IPMITOOL: 'ER_IPMI_IPMITOOL',
  /** The caller's AbortSignal fired. */
  ABORTED: 'ER_IPMI_ABORTED',
});

/** Builds an `AdapterError` of the ipmi adapter. */
export function ipmiError(
  target: string,
  code: string,
  message: string,
  options: { retryable?: boolean; cause?: unknown } = {},
): AdapterError {
  return new AdapterError(message, {
    adapterType: 'ipmi',
    target,
    code,
    retryable: options.retryable ?? true,
    cause: options.cause,
  });
}

/** Passes AdapterErrors through; wraps anything else (a decoder's plain Error) as a PROTOCOL error. */
export function asIpmiError(err: unknown, target: string): AdapterError {
  if (err instanceof AdapterError) return err;
  const message = errorMessage(err);
  return ipmiError(target, IpmiErrorCode.PROTOCOL, `malformed answer: ${message}`, { cause: err });
}
