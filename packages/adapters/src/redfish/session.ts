import { AdapterError, HttpStatusError, noopLogger, TimeoutError, type Logger } from '@energyrecorder/core';
import { devicePath, HTTP_ERROR_CODES, type HttpClient } from '../internal/http.js';
import { LATE_LOGIN_MS } from '../internal/http-device.js';
import type { ResourceSource } from './reader.js';
import { errorMessage } from '../internal/device-support.js';

/** How {@link RedfishSession} authenticates. */
export type RedfishAuthMode = 'session' | 'basic' | 'none';

/** Statuses that mean "this service has no SessionService", so Basic auth is used instead. */
const NO_SESSION_SERVICE = new Set([404, 405, 501]);

/**
 * How long deleting a session may take. Below the collector's 3 s bound on closing an adapter, so the logout sent
 * by `close()` completes (or gives up) within it.
 */
export const SESSION_DELETE_TIMEOUT_MS = 2500;

interface OpenSession {
  token: string;
  /** Path of the session resource on this device, or undefined when the BMC named none. */
  location: string | undefined;
}

function isUnauthorized(err: unknown): boolean {
  return err instanceof AdapterError && err.cause instanceof HttpStatusError && err.cause.status === 401;
}

/**
 * Resource access with Redfish authentication: one `SessionService` session reused across polls (logged in again
 * on 401, deleted on close so the BMC never runs out of sessions), or Basic auth on every request.
 *
 * Sessions never leak: a login the read gives up on (deadline or abort) runs on in the background for at most
 * `LATE_LOGIN_MS` more and the session it still gets is kept for the next poll, or deleted when the adapter was
 * closed meanwhile (the client tracks it, so `close()` waits for it); a session replaced after a 401 is deleted;
 * a resource that refuses a fresh session too (a privilege rule, not an expiry) fails without a new login.
 */
export class RedfishSession implements ResourceSource {
  private readonly client: HttpClient;
  private mode: RedfishAuthMode;
  private readonly basePath: string;
  private readonly logger: Logger;
  private readonly credentials: { user: string; pass: string } | undefined;
  private token: string | undefined;
  private location: string | undefined;
  private loggingIn: Promise<void> | undefined;
  private closed = false;
  // Resources that answered 401 to a session just opened: their 401 is a refusal, not an expired session.
  private readonly refused = new Set<string>();
  /** Logins performed, for diagnostics and tests. */
  logins = 0;

  constructor(
    client: HttpClient,
    options: {
      mode: RedfishAuthMode;
      basePath: string;
      credentials: { user: string; pass: string } | undefined;
      logger?: Logger;
    },
  ) {
    this.client = client;
    this.credentials = options.credentials;
    this.mode = options.mode;
    this.basePath = options.basePath;
    this.logger = options.logger ?? noopLogger;
  }

  /** The authentication in use (`session` turns into `basic` when the service has no SessionService). */
  get authMode(): RedfishAuthMode {
    return this.mode;
  }

  private get loginPath(): string {
    return `${this.basePath}/redfish/v1/SessionService/Sessions`;
  }

  /**
   * Sends the login, bound by its own deadline (the request deadline plus `LATE_LOGIN_MS`) rather than by a
   * read's signal: a BMC that creates the session and answers late still hands us its token, to use or delete.
   */
  private async login(): Promise<OpenSession | undefined> {
    const credentials = this.credentials;
    if (credentials === undefined) {
      this.mode = 'none';
      return undefined;
    }
    const res = await this.client.request({
      method: 'POST',
      path: this.loginPath,
      body: { UserName: credentials.user, Password: credentials.pass },
      timeoutMs: this.client.timeoutMs + LATE_LOGIN_MS,
      withAuth: false,
      acceptStatus: [...NO_SESSION_SERVICE],
    });
    if (NO_SESSION_SERVICE.has(res.status)) {
      this.logger.info({ status: res.status }, 'no SessionService; using Basic auth');
      this.mode = 'basic';
      return undefined;
    }
    const token = res.headers['x-auth-token'];
    if (token === undefined || token === '') {
      throw this.client.error(`${res.what}: login answered ${res.status} without X-Auth-Token`, HTTP_ERROR_CODES.auth, {
        retryable: false,
      });
    }
    let location = res.headers['location'];
    if (location === undefined && res.text.trim() !== '') {
      try {
        const body = this.client.parseJson(res) as { '@odata.id'?: unknown } | null;
        if (typeof body?.['@odata.id'] === 'string') location = body['@odata.id'];
      } catch {
        // A token without a readable session URI still works; it cannot be deleted, as before.
      }
    }
    this.logins += 1;
    this.logger.debug({ session: location }, 'Redfish session opened');
    // Some BMCs (iLO 4) answer an absolute Location naming the address they believe they have, which behind a
    // port forward or DNS alias is not where we reach them: only its path is kept, and deleted on this device.
    return { token, location: location === undefined ? undefined : devicePath(location) };
  }

  /**
   * Starts a login shared by every request waiting for one; tracked by the client, so `close()` waits for it.
   * The session it replaces is deleted first, which also frees its slot on a BMC at its session limit.
   */
  private startLogin(replaced: OpenSession | undefined): Promise<void> {
    const task = this.client.track(async () => {
      try {
        if (replaced !== undefined) await this.deleteSession(replaced);
        const session = await this.login();
        if (session === undefined) return;
        if (this.closed) {
          // Answered after close(): nobody will use or delete it but us.
          this.logger.debug({}, 'Redfish login answered after close; deleting the session');
          await this.deleteSession(session);
          return;
        }
        this.token = session.token;
        this.location = session.location;
      } finally {
        this.loggingIn = undefined;
      }
    });
    // Whoever waits sees the failure; a login every waiter gave up on fails quietly.
    task.catch(() => undefined);
    return task;
  }

  /**
   * Waits for `login` as long as a request may take: gives up (timeout or abort) as a request would, while the
   * login itself runs on, see {@link startLogin}.
   */
  private async waitForLogin(login: Promise<void>, signal: AbortSignal): Promise<void> {
    const what = `POST ${this.client.resolve(this.loginPath).pathname}`;
    if (signal.aborted) throw this.client.error(`${what}: aborted`, HTTP_ERROR_CODES.aborted);
    const timeoutMs = this.client.timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const givenUp = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        const cause = new TimeoutError(`${what} timed out after ${timeoutMs} ms`);
        reject(this.client.error(`${what}: no complete answer within ${timeoutMs} ms`, HTTP_ERROR_CODES.timeout, { cause }));
      }, timeoutMs);
      onAbort = () => reject(this.client.error(`${what}: aborted`, HTTP_ERROR_CODES.aborted));
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      await Promise.race([login, givenUp]);
    } finally {
      clearTimeout(timer);
      if (onAbort !== undefined) signal.removeEventListener('abort', onAbort);
    }
  }

  private async ensureLogin(signal: AbortSignal, replaced?: OpenSession): Promise<void> {
    if (this.mode !== 'session' || this.token !== undefined) return;
    if (this.closed) throw this.client.error('session closed', HTTP_ERROR_CODES.aborted, { retryable: false });
    // Parallel chassis reads that all hit 401 share one login.
    this.loggingIn ??= this.startLogin(replaced);
    await this.waitForLogin(this.loggingIn, signal);
  }

  /**
   * GETs `path` as JSON with the current authentication. On 401 the session is replaced once (the old one is
   * deleted); a resource that refuses the fresh session too is remembered, and its later 401s fail at once.
   */
  async get(path: string, signal: AbortSignal): Promise<unknown> {
    // Awaited only when a login is due: an await per poll is a promise and a suspended frame per poll.
    if (this.mode === 'session' && this.token === undefined) await this.ensureLogin(signal);
    const usedToken = this.token;
    let result: unknown;
    try {
      result = await this.send(path, signal);
    } catch (err) {
      if (!isUnauthorized(err) || this.mode !== 'session') throw err;
      // A valid session this resource refuses (privilege, licence): a new session would be refused as well.
      if (this.refused.has(path) && usedToken !== undefined && usedToken === this.token) throw err;
      let replaced: OpenSession | undefined;
      if (usedToken !== undefined && this.token === usedToken) {
        this.logger.info({}, 'Redfish session refused; logging in again');
        replaced = { token: usedToken, location: this.location };
        this.token = undefined;
        this.location = undefined;
      }
      await this.ensureLogin(signal, replaced);
      try {
        result = await this.send(path, signal);
      } catch (again) {
        if (isUnauthorized(again) && this.mode === 'session') {
          this.logger.warn({ path }, 'a fresh Redfish session is refused this resource too; not logging in again for it');
          this.refused.add(path);
        }
        throw again;
      }
    }
    if (this.refused.size > 0) this.refused.delete(path);
    return result;
  }

  private send(link: string, signal: AbortSignal): Promise<unknown> {
    // Links come from the BMC's answers: an absolute one is read from this BMC (its path only), so neither the
    // token nor the Basic credentials can be sent to a host an answer names.
    const path = devicePath(link);
    if (path === undefined) {
      return Promise.reject(this.client.error(`cannot follow link ${JSON.stringify(link.slice(0, 200))}: not an http(s) path`, HTTP_ERROR_CODES.payload, { retryable: false }));
    }
    const token = this.mode === 'session' ? this.token : undefined;
    return this.client.json(
      token === undefined
        ? { path, signal, withAuth: this.mode === 'basic' }
        : { path, signal, withAuth: false, headers: { 'x-auth-token': token } },
    );
  }

  /** Deletes a session (best effort, {@link SESSION_DELETE_TIMEOUT_MS} at most). Never throws. */
  private async deleteSession(session: OpenSession): Promise<void> {
    if (session.location === undefined) return;
    try {
      await this.client.request({
        method: 'DELETE',
        path: session.location,
        headers: { 'x-auth-token': session.token },
        withAuth: false,
        timeoutMs: SESSION_DELETE_TIMEOUT_MS,
        acceptStatus: [401, 404],
      });
    } catch (err) {
      this.logger.debug({ err: errorMessage(err) }, 'session logout failed');
    }
  }

  /**
   * Deletes the session (best effort, {@link SESSION_DELETE_TIMEOUT_MS} at most) and ends this session object: a
   * login still running is deleted when it answers. Never throws.
   */
  async logout(): Promise<void> {
    this.closed = true;
    const { token, location } = this;
    this.token = undefined;
    this.location = undefined;
    if (token === undefined) return;
    await this.deleteSession({ token, location });
  }
}
