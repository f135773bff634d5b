import { AdapterError, nowNs, resolveVerifyCert, TimeoutError, type AdapterContext, type Logger, type PowerAdapter, type Reading } from '@energyrecorder/core';
import { errorMessage, deviceTimeoutMs } from './device-support.js';
import { credentialsOf, DEFAULT_HTTP_DEVICE } from './http-config.js';
import {
  HTTP_ERROR_CODES,
  HttpClient,
  parseDeviceAddress,
  type DeviceAddress,
  type HttpAuthScheme,
  type HttpRequest,
  type HttpResponse,
} from './http.js';
import { LoginRefused, PayloadProblem } from './http-shape.js';

/** The common keys of an HTTP device entry, as validated by `httpDeviceShape`. */
export interface HttpDeviceConfig {
  host: string;
  user?: string | undefined;
  pass?: string | undefined;
  /** `true`/`false`, or a CA bundle path: verify against that file, as `ca_file` does. */
  verify_cert: boolean | string;
  ca_file?: string | undefined;
  timeout?: number | undefined;
}

/** `verify_cert` and `ca_file` as the client takes them; a CA path in both keys must be the same file. */
function tlsOf(type: string, config: HttpDeviceConfig): { verifyCert: boolean; caFile?: string } {
  const { verify_cert: verifyCert, ca_file: caFile } = resolveVerifyCert(config, {
    addIssue: (issue) => {
      throw new AdapterError(`${issue.path.map(String).join('.')} ${issue.message}`, { adapterType: type, target: config.host, code: HTTP_ERROR_CODES.config, retryable: false });
    },
  });
  return { verifyCert, ...(caFile === undefined ? {} : { caFile }) };
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
    ...tlsOf(type, config),
    credentials: options.sendCredentials === false ? undefined : credentialsOf(config),
    authScheme: options.authScheme ?? 'basic',
    logger: ctx.logger,
  });
  return { client, address };
}

/**
 * Wraps a read function into a `PowerAdapter`: stamps each reading with the middle of the exchange, turns parser {@link PayloadProblem}s and
 * unexpected throws into `AdapterError`s of this device, and closes the client: after `onClose`, and after the
 * client's tracked work (web UI logouts, see {@link withWebSession}) has ended or {@link LOGOUT_TIMEOUT_MS} passed.
 */
export function httpPowerAdapter(
  client: HttpClient,
  read: (signal: AbortSignal, timestampNs: number) => Promise<Reading[]>,
  onClose?: () => Promise<void>,
): PowerAdapter {
  let closing = false;
  return {
    async read(signal: AbortSignal): Promise<Reading[]> {
      if (closing) throw client.error('adapter closed', HTTP_ERROR_CODES.aborted, { retryable: false });
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
      closing = true;
      try {
        await onClose?.();
      } catch {
        // close() never throws; the device may already be gone.
      }
      // A read aborted just before close() still has its logout to send: the collector aborts the read and
      // closes the adapter at once, and closing the client first would refuse that logout and leak the session.
      await client.drain(LOGOUT_TIMEOUT_MS);
      client.close();
    },
  };
}

/** How long a web UI logout may take: it runs after the read, also after a failed or aborted one. */
export const LOGOUT_TIMEOUT_MS = 3000;

/**
 * How long a web UI login the read gave up on (poll aborted, or no answer within the request deadline) may still
 * take: a BMC that answers late has usually created the session already, which is then logged out.
 */
export const LATE_LOGIN_MS = 3000;

/**
 * Runs `body` (the reads of a logged-in web UI session), then always sends `logout`, even when `body` failed, so
 * the BMC's few session slots are never used up. The logout ignores the poll's signal (it must run after an
 * abort too) but has its own short deadline; its failure is only logged. The whole span is tracked by the
 * client, so closing the adapter waits (bounded) for the logout.
 */
export function withLogout<T>(
  client: HttpClient,
  logger: Logger,
  logout: HttpRequest | (() => HttpRequest),
  body: () => Promise<T>,
): Promise<T> {
  return client.track(async () => {
    try {
      return await body();
    } finally {
      await sendLogout(client, logger, typeof logout === 'function' ? logout() : logout);
    }
  });
}

function sendLogout(client: HttpClient, logger: Logger, logout: HttpRequest): Promise<void> {
  return client.request({ ...logout, signal: undefined, timeoutMs: LOGOUT_TIMEOUT_MS }).then(
    () => undefined,
    (err: unknown) => logger.debug({ err: errorMessage(err) }, `${client.adapterType} logout failed`),
  );
}

/** A web UI login: the request, and how its answer names the session (throwing when there is none). */
export interface WebLogin<S> {
  request: HttpRequest;
  /** The session the login answer hands out; throws (`LoginRefused`, `PayloadProblem`) when it has none. */
  session: (res: HttpResponse) => S;
  /** The logout request of a session; called when the logout is sent. */
  logout: (session: S) => HttpRequest;
}

/**
 * Logs in, runs `body` with the session and always logs out ({@link withLogout}). The login is not cut off when
 * the poll gives up on it: the read fails at once (aborted, or timed out after the request deadline), but the
 * request runs on for at most {@link LATE_LOGIN_MS} in the background, and a session it still gets is logged
 * out. Cutting it off would leak that session whenever the BMC creates it and answers after the deadline, one
 * per poll on a slow BMC, until its few session slots are used up.
 */
export function withWebSession<S, T>(
  client: HttpClient,
  logger: Logger,
  signal: AbortSignal,
  login: WebLogin<S>,
  body: (session: S, res: HttpResponse) => Promise<T>,
): Promise<T> {
  // Tracked from the start: closing the adapter right after aborting the read must still see the late login.
  return client.track(async () => {
    const res = await sendLogin(client, logger, signal, login);
    const session = login.session(res);
    return withLogout(client, logger, () => login.logout(session), () => body(session, res));
  });
}

async function sendLogin<S>(client: HttpClient, logger: Logger, signal: AbortSignal, login: WebLogin<S>): Promise<HttpResponse> {
  const url = client.resolve(login.request.path);
  const what = `${login.request.method ?? 'GET'} ${url.pathname}${url.search}`;
  if (signal.aborted) throw client.error(`${what}: aborted`, HTTP_ERROR_CODES.aborted);
  const timeoutMs = login.request.timeoutMs ?? client.timeoutMs;
  const own = new AbortController();
  const sent = client.request({ ...login.request, signal: own.signal, timeoutMs: timeoutMs + LATE_LOGIN_MS });
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const givenUp = new Promise<AdapterError>((resolve) => {
    timer = setTimeout(() => {
      const cause = new TimeoutError(`${what} timed out after ${timeoutMs} ms`);
      resolve(client.error(`${what}: no complete answer within ${timeoutMs} ms`, HTTP_ERROR_CODES.timeout, { cause }));
    }, timeoutMs);
    onAbort = () => resolve(client.error(`${what}: aborted`, HTTP_ERROR_CODES.aborted));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  let outcome: { res: HttpResponse } | { err: unknown } | { gaveUp: AdapterError };
  try {
    outcome = await Promise.race([
      sent.then(
        (r) => ({ res: r }),
        (err: unknown) => ({ err }),
      ),
      givenUp.then((e) => ({ gaveUp: e })),
    ]);
  } finally {
    clearTimeout(timer);
    if (onAbort !== undefined) signal.removeEventListener('abort', onAbort);
  }
  if ('res' in outcome) return outcome.res;
  if ('err' in outcome) throw outcome.err;
  // Given up on: let the login finish on its own short deadline, then log out whatever session it made.
  const late = setTimeout(() => own.abort(new TimeoutError(`${what} given up after ${LATE_LOGIN_MS} ms more`)), LATE_LOGIN_MS);
  void client.track(async () => {
    try {
      const res = await sent;
      let session: S;
      try {
        session = login.session(res);
      } catch {
        return; // refused: no session was made
      }
      logger.debug({}, `${client.adapterType} login answered after the read gave up on it: logging the session out`);
      await sendLogout(client, logger, login.logout(session));
    } catch {
      // The late login failed too: nothing to log out.
    } finally {
      clearTimeout(late);
    }
  });
  throw outcome.gaveUp;
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
