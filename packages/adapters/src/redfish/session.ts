import { AdapterError, HttpStatusError, noopLogger, type Logger } from '@energyrecorder/core';
import { devicePath, HTTP_ERROR_CODES, type HttpClient } from '../internal/http.js';
import type { ResourceSource } from './reader.js';
import { errorMessage } from '../internal/device-support.js';

/** How {@link RedfishSession} authenticates. */
export type RedfishAuthMode = 'session' | 'basic' | 'none';

/** Statuses that mean "this service has no SessionService", so Basic auth is used instead. */
const NO_SESSION_SERVICE = new Set([404, 405, 501]);

/**
 * Resource access with Redfish authentication: one `SessionService` session reused across polls (logged in again
 * on 401, deleted on close so the BMC never runs out of sessions), or Basic auth on every request.
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

  private async login(signal: AbortSignal): Promise<void> {
    const credentials = this.credentials;
    if (credentials === undefined) {
      this.mode = 'none';
      return;
    }
    const res = await this.client.request({
      method: 'POST',
      path: `${this.basePath}/redfish/v1/SessionService/Sessions`,
      body: { UserName: credentials.user, Password: credentials.pass },
      signal,
      withAuth: false,
      acceptStatus: [...NO_SESSION_SERVICE],
    });
    if (NO_SESSION_SERVICE.has(res.status)) {
      this.logger.info({ status: res.status }, 'no SessionService; using Basic auth');
      this.mode = 'basic';
      return;
    }
    const token = res.headers['x-auth-token'];
    if (token === undefined || token === '') {
      throw this.client.error(`${res.what}: login answered ${res.status} without X-Auth-Token`, HTTP_ERROR_CODES.auth, {
        retryable: false,
      });
    }
    let location = res.headers['location'];
    if (location === undefined && res.text.trim() !== '') {
      const body = this.client.parseJson(res) as { '@odata.id'?: unknown } | null;
      if (typeof body?.['@odata.id'] === 'string') location = body['@odata.id'];
    }
    this.token = token;
    // Some BMCs (iLO 4) answer an absolute Location naming the address they believe they have, which behind a
    // port forward or DNS alias is not where we reach them: only its path is kept, and deleted on this device.
    this.location = location === undefined ? undefined : devicePath(location);
    this.logins += 1;
    this.logger.debug({ session: location }, 'Redfish session opened');
  }

  private async ensureLogin(signal: AbortSignal, force: boolean): Promise<void> {
    if (this.mode !== 'session') return;
    if (!force && this.token !== undefined) return;
    // Parallel chassis reads that all hit 401 share one login.
    this.loggingIn ??= this.login(signal).finally(() => {
      this.loggingIn = undefined;
    });
    await this.loggingIn;
  }

  /** GETs `path` as JSON with the current authentication, logging in again once on 401. */
  async get(path: string, signal: AbortSignal): Promise<unknown> {
    // Awaited only when a login is due: an await per poll is a promise and a suspended frame per poll.
    if (this.mode === 'session' && this.token === undefined) await this.ensureLogin(signal, false);
    const usedToken = this.token;
    try {
      return await this.send(path, signal);
    } catch (err) {
      const expired = err instanceof AdapterError && err.cause instanceof HttpStatusError && err.cause.status === 401;
      if (!expired || this.mode !== 'session') throw err;
      this.logger.info({}, 'Redfish session refused; logging in again');
      if (this.token === usedToken) this.token = undefined;
      await this.ensureLogin(signal, false);
      return this.send(path, signal);
    }
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

  /** Deletes the session (best effort, 5 s at most). Never throws. */
  async logout(): Promise<void> {
    const { token, location } = this;
    this.token = undefined;
    this.location = undefined;
    if (token === undefined || location === undefined) return;
    try {
      await this.client.request({
        method: 'DELETE',
        path: location,
        headers: { 'x-auth-token': token },
        withAuth: false,
        timeoutMs: 5000,
        acceptStatus: [401, 404],
      });
    } catch (err) {
      this.logger.debug({ err: errorMessage(err) }, 'session logout failed');
    }
  }
}
