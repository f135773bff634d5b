import { AdapterError, nowNs, type AdapterContext, type Logger, type PowerAdapter, type Reading } from '@energyrecorder/core';
import { errorMessage, deviceTimeoutMs } from './device-support.js';
import { credentialsOf, DEFAULT_HTTP_DEVICE } from './http-config.js';
import { HTTP_ERROR_CODES, HttpClient, parseDeviceAddress, type DeviceAddress, type HttpAuthScheme, type HttpRequest } from './http.js';
import { LoginRefused, PayloadProblem } from './http-shape.js';

/** The common keys of an HTTP device entry, as validated by `httpDeviceShape`. */
export interface HttpDeviceConfig {
  host: string;
  user?: string | undefined;
  pass?: string | undefined;
  verify_cert: boolean;
  ca_file?: string | undefined;
  timeout?: number | undefined;
}

/** Builds the shared client for one device: scheme from `host` or `defaultScheme`, credentials when both are set. */
export function clientForDevice(
  type: string,
  config: HttpDeviceConfig,
  ctx: AdapterContext,
  options: { defaultScheme: 'http' | 'https'; authScheme?: HttpAuthScheme; sendCredentials?: boolean },
): { client: HttpClient; address: DeviceAddress } {
  const address = parseDeviceAddress(config.host);
  const client = new HttpClient({
    adapterType: type,
    target: config.host,
    origin: `${address.scheme ?? options.defaultScheme}://${address.hostPort}`,
    timeoutMs: deviceTimeoutMs(config.timeout, ctx, DEFAULT_HTTP_DEVICE.timeoutS),
    verifyCert: config.verify_cert,
    ...(config.ca_file === undefined ? {} : { caFile: config.ca_file }),
    credentials: options.sendCredentials === false ? undefined : credentialsOf(config),
    authScheme: options.authScheme ?? 'basic',
    logger: ctx.logger,
  });
  return { client, address };
}

/**
 * Wraps a read function into a `PowerAdapter`: stamps each reading with the middle of the exchange, turns parser {@link PayloadProblem}s and
 * unexpected throws into `AdapterError`s of this device, and closes the client.
 */
export function httpPowerAdapter(
  client: HttpClient,
  read: (signal: AbortSignal, timestampNs: number) => Promise<Reading[]>,
  onClose?: () => Promise<void>,
): PowerAdapter {
  return {
    async read(signal: AbortSignal): Promise<Reading[]> {
      const startNs = nowNs();
      try {
        const readings = await read(signal, startNs);
        // The device sampled its value somewhere between our request and its answer: stamping the midpoint
        // halves the worst-case skew of a start stamp, which shows when power moves fast and the host is busy.
        const midNs = Math.round(startNs + (nowNs() - startNs) / 2);
        return readings.map((r) => (r.timestampNs === startNs ? { ...r, timestampNs: midNs } : r));
      } catch (err) {
        if (err instanceof AdapterError) throw err;
        if (err instanceof PayloadProblem) throw client.payloadError(err.message, err);
        // Retrying a refused password every poll can lock the account on some BMCs: not retryable.
        if (err instanceof LoginRefused) throw client.error(err.message, HTTP_ERROR_CODES.auth, { cause: err, retryable: false });
        throw client.error(`unexpected failure: ${errorMessage(err)}`, 'ER_ADAPTER', { cause: err });
      }
    },
    async close(): Promise<void> {
      try {
        await onClose?.();
      } catch {
        // close() never throws; the device may already be gone.
      }
      client.close();
    },
  };
}

/** How long a web UI logout may take: it runs after the read, also after a failed or aborted one. */
export const LOGOUT_TIMEOUT_MS = 3000;

/**
 * Runs `body` (the reads of a logged-in web UI session), then always sends `logout`, even when `body` failed, so
 * the BMC's few session slots are never used up. The logout ignores the poll's signal (it must run after an
 * abort too) but has its own short deadline; its failure is only logged.
 */
export async function withLogout<T>(
  client: HttpClient,
  logger: Logger,
  logout: HttpRequest | (() => HttpRequest),
  body: () => Promise<T>,
): Promise<T> {
  try {
    return await body();
  } finally {
    await client
      .request({ ...(typeof logout === 'function' ? logout() : logout), signal: undefined, timeoutMs: LOGOUT_TIMEOUT_MS })
      .catch((err: unknown) => logger.debug({ err: errorMessage(err) }, `${client.adapterType} logout failed`));
  }
}

/** `[{sensor: 'power', unit: 'W', ...}]`, or nothing for 0 W, which the original treated as "no reading yet". */
export function powerReading(watts: number, timestampNs: number, source: string): Reading[] {
  return watts === 0 ? [] : [{ sensor: 'power', unit: 'W', value: watts, timestampNs, source }];
}

/** The `name=value` of each `Set-Cookie` line. */
export function parseSetCookies(lines: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of lines) {
    const first = line.split(';')[0] ?? '';
    const eq = first.indexOf('=');
    if (eq > 0) out.set(first.slice(0, eq).trim(), first.slice(eq + 1).trim());
  }
  return out;
}
