import { AdapterError, type AdapterContext } from '@energyrecorder/core';

/**
 * Per-request timeout of a device in ms: its own `timeout` key (seconds), else the collector's request timeout,
 * else the adapter's default (seconds).
 */
export function deviceTimeoutMs(timeoutS: number | undefined, ctx: AdapterContext, defaultS: number): number {
  if (timeoutS !== undefined) return Math.round(timeoutS * 1000);
  return ctx.requestTimeoutMs > 0 ? ctx.requestTimeoutMs : defaultS * 1000;
}

/** The message of a thrown value, which need not be an `Error`. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Memoises the `import()` of a heavy driver so registering an adapter costs nothing and the driver loads once.
 * A failed load is forgotten, so the next poll tries again.
 */
export function lazyLoader<T>(load: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= load().catch((err: unknown) => {
      pending = undefined;
      throw err;
    });
    return pending;
  };
}

/** Options of {@link DeviceErrors.error}. */
export interface DeviceErrorOptions {
  code: string;
  retryable?: boolean;
  cause?: unknown;
}

/** Builds the `AdapterError`s of one device, with its adapter type and target filled in. */
export class DeviceErrors {
  constructor(
    private readonly adapterType: string,
    private readonly target: string,
  ) {}

  error(message: string, opts: DeviceErrorOptions): AdapterError {
    return new AdapterError(message, { adapterType: this.adapterType, target: this.target, ...opts });
  }

  /**
   * The error for the cases every adapter treats alike: an `AdapterError` passes through, and any failure after
   * the poll's signal fired is `ER_ABORTED`. Undefined when the adapter must translate `err` itself.
   */
  common(err: unknown, signal: AbortSignal): AdapterError | undefined {
    if (err instanceof AdapterError) return err;
    if (signal.aborted) return this.error('read aborted', { code: 'ER_ABORTED', cause: err });
    return undefined;
  }
}
