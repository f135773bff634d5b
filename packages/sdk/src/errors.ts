/** Stable codes of {@link SdkError}; each one is listed in the package README. */
export type SdkErrorCode =
  | 'ER_SDK_CONFIG'
  | 'ER_SDK_NETWORK'
  | 'ER_SDK_TIMEOUT'
  | 'ER_SDK_ABORTED'
  | 'ER_SDK_RESPONSE'
  | 'ER_SDK_STATE_FILE';

/** One problem found in the SDK options: where it is and what is wrong. */
export interface SdkConfigIssue {
  /** Option name or environment variable, e.g. `environment` or `ENERGY_RECORDER_API_URL`. */
  path: string;
  /** Human-readable problem. */
  message: string;
}

/**
 * Error raised inside the SDK. The recorder never lets one escape into the user's test: it logs it and answers
 * `false`/`null`. Only {@link EnergyRecorder.fromEnv} and the constructor throw (`ER_SDK_CONFIG`), so a bad
 * configuration is reported once, at the edge.
 *
 * The SDK defines its own class (same `code`/`retryable`/`cause` shape as core's errors) so that its runtime
 * depends on nothing but Node: core is imported for types only.
 */
export class SdkError extends Error {
  /** Stable machine-readable code. */
  readonly code: SdkErrorCode;
  /** Whether repeating the same operation later may succeed. */
  readonly retryable: boolean;
  /** Every configuration problem when `code` is `ER_SDK_CONFIG`. */
  readonly issues: readonly SdkConfigIssue[];

  constructor(
    code: SdkErrorCode,
    message: string,
    options: { retryable?: boolean; cause?: unknown; issues?: readonly SdkConfigIssue[] } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SdkError';
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.issues = options.issues ?? [];
  }
}

/** Builds the `ER_SDK_CONFIG` error listing every issue as `path: message`. */
export function configError(issues: readonly SdkConfigIssue[]): SdkError {
  const lines = issues.map((i) => `  ${i.path}: ${i.message}`);
  return new SdkError('ER_SDK_CONFIG', `invalid EnergyRecorder SDK configuration:\n${lines.join('\n')}`, { issues });
}
