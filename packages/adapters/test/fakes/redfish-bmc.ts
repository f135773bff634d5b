import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { normaliseUri } from '../../src/redfish/parsers.js';
import { basicCredentials, sendJson, sendText, startFakeServer, type TestCert } from './http-server.js';
import { cloneResources, loadRedfishFixture, setTreePower } from './redfish-tree.js';

/** Misbehaviours a fake BMC can be switched into, to test the adapter against broken firmware. */
export interface FakeBmcFaults {
  /** Answer every request after this many ms. */
  delayMs?: number;
  /** Never answer (the socket stays open until the fake closes). */
  hang?: boolean;
  /** Refuse the next N authenticated requests with 401, even with valid credentials. */
  unauthorizedNext?: number;
  /** Answer the next N requests with 503 and `Retry-After: <retryAfterS>`. */
  unavailableNext?: number;
  retryAfterS?: number;
  /** Cut every JSON body in half. */
  truncate?: boolean;
  /** Answer GETs of these resources (paths without trailing slash) with this HTTP status, e.g. one broken chassis. */
  statusFor?: Record<string, number>;
  /** Answer GETs of these resources with 401 even with a valid session (a privilege the user lacks). */
  unauthorizedFor?: string[];
  /** Answer logins after this many ms; the session exists from the start, as on a BMC that is slow to answer. */
  loginDelayMs?: number;
}

/** Options of {@link startFakeBmc}. */
export interface FakeBmcOptions {
  /** Fixture name (`test/fixtures/redfish/<vendor>.json`), default `synthetic-modern-bmc-1.0`. */
  vendor?: string;
  /** Devices served by this one server under `/dev/<i>` path prefixes (default 1, served at the root). */
  devices?: number;
  /** Credentials the BMC accepts (Basic or a session); omit to need none. */
  user?: string;
  pass?: string;
  /** Answer session logins with 204 instead of 201 (some services do). */
  loginStatus?: 201 | 204;
  /** Disable SessionService (POST .../Sessions answers 404): clients must fall back to Basic. */
  noSessionService?: boolean;
  /** Serve HTTPS with this certificate. */
  tls?: TestCert;
  /**
   * Answer logins with an absolute `Location` on this origin, as iLO 4 does with the address it believes it has
   * (which behind a port forward or a DNS alias is not where the client reaches it).
   */
  locationOrigin?: string;
}

/** Counters a test can check. */
export interface FakeBmcStats {
  requests: number;
  logins: number;
  logouts: number;
  activeSessions: number;
  /** GETs answered 401 by the `unauthorizedFor` fault. */
  refused: number;
  /** The last 1,000 requests as `METHOD path?query` (device prefix kept), oldest first. */
  log: string[];
}

/** A running fake Redfish BMC (or many, behind one port). */
export interface FakeBmc {
  /** Base URL of device 0 (use as the adapter's `host`). */
  url: string;
  /** Base URL of every device, e.g. `http://127.0.0.1:4000/dev/17`. */
  urls: string[];
  /** `127.0.0.1:<port>`. */
  hostPort: string;
  /** Makes every top-level chassis of `device` (default all) report `watts`. */
  setPower(watts: number, device?: number): void;
  /**
   * Replaces one resource of `device` (default all), e.g. to serve null readings or wrong types; `undefined`
   * removes it (404). A path with a query (`/redfish/v1/Chassis?$skip=2`) serves that collection page.
   */
  setResource(path: string, body: unknown, device?: number): void;
  /** Switches faults on (merged with the current ones); `{}` via {@link clearFaults}. */
  setFaults(faults: FakeBmcFaults): void;
  clearFaults(): void;
  /** Forgets every session, as a BMC reboot or session timeout would. */
  expireSessions(): void;
  readonly stats: FakeBmcStats;
  close(): Promise<void>;
}

/**
 * Starts a fake Redfish BMC on 127.0.0.1 serving a vendor fixture. With `devices: N` one server answers for N
 * devices under `/dev/<i>` (links rewritten accordingly), so a benchmark can poll a thousand devices cheaply.
 */
export async function startFakeBmc(options: FakeBmcOptions = {}): Promise<FakeBmc> {
  const fixture = loadRedfishFixture(options.vendor ?? 'synthetic-modern-bmc-1.0');
  const count = Math.max(1, options.devices ?? 1);
  const multi = count > 1;
  // Devices share the fixture until a test changes one of them.
  const trees: (Map<string, unknown> | undefined)[] = new Array<Map<string, unknown> | undefined>(count).fill(undefined);
  const treeOf = (i: number): Map<string, unknown> => {
    let t = trees[i];
    if (t === undefined) {
      t = cloneResources(fixture.resources);
      trees[i] = t;
    }
    return t;
  };
  const sessions = new Map<string, string>();
  let faults: FakeBmcFaults = {};
  const stats: FakeBmcStats = { requests: 0, logins: 0, logouts: 0, activeSessions: 0, refused: 0, log: [] };
  const needAuth = options.user !== undefined;
  const expected = `${options.user ?? ''}:${options.pass ?? ''}`;

  const handle = async (req: IncomingMessage, body: string, res: ServerResponse): Promise<void> => {
    stats.requests += 1;
    stats.log.push(`${req.method ?? 'GET'} ${req.url ?? '/'}`);
    if (stats.log.length > 1000) stats.log.splice(0, stats.log.length - 1000);
    if (faults.hang === true) return;
    if (faults.delayMs !== undefined) await new Promise((r) => setTimeout(r, faults.delayMs));
    if ((faults.unavailableNext ?? 0) > 0) {
      faults.unavailableNext = (faults.unavailableNext ?? 0) - 1;
      sendJson(res, 503, { error: { code: 'Base.1.8.ServiceTemporarilyUnavailable' } }, { 'retry-after': String(faults.retryAfterS ?? 2) });
      return;
    }
    const url = new URL(req.url ?? '/', 'http://x');
    let path = url.pathname;
    let device = 0;
    if (multi) {
      const m = /^\/dev\/(\d+)(\/.*)?$/.exec(path);
      if (m === null || Number(m[1]) >= count) return sendJson(res, 404, { error: 'no such device' });
      device = Number(m[1]);
      path = m[2] ?? '/';
    }
    const prefix = multi ? `/dev/${device}` : '';
    const key = normaliseUri(path);
    if (key === '/redfish/v1/SessionService/Sessions' && req.method === 'POST') {
      if (options.noSessionService === true) return sendJson(res, 404, { error: 'not found' });
      let creds: { UserName?: unknown; Password?: unknown } = {};
      try {
        creds = JSON.parse(body) as typeof creds;
      } catch {
        return sendJson(res, 400, { error: 'bad json' });
      }
      if (needAuth && `${String(creds.UserName)}:${String(creds.Password)}` !== expected) return sendJson(res, 401, { error: 'bad credentials' });
      const token = randomBytes(12).toString('hex');
      const id = randomBytes(4).toString('hex');
      const location = `${prefix}/redfish/v1/SessionService/Sessions/${id}`;
      sessions.set(token, location);
      stats.logins += 1;
      stats.activeSessions = sessions.size;
      if (faults.loginDelayMs !== undefined) {
        await new Promise((r) => setTimeout(r, faults.loginDelayMs));
        // The client gave up: the session stays open on the BMC, as on a real one.
        if (res.destroyed || req.socket.destroyed) return;
      }
      const locationHeader = `${options.locationOrigin ?? ''}${location}`;
      if (options.loginStatus === 204) {
        res.writeHead(204, { 'x-auth-token': token, location: locationHeader });
        res.end();
        return;
      }
      return sendJson(res, 201, { '@odata.id': location, Id: id, UserName: creds.UserName }, { 'x-auth-token': token, location: locationHeader });
    }
    const isRoot = key === '/redfish/v1' || key === '/' || key === '/redfish';
    if (needAuth && !isRoot) {
      const token = req.headers['x-auth-token'];
      const ok = (typeof token === 'string' && sessions.has(token)) || basicCredentials(req) === expected;
      if (!ok || (faults.unauthorizedNext ?? 0) > 0) {
        if (ok) faults.unauthorizedNext = (faults.unauthorizedNext ?? 0) - 1;
        return sendJson(res, 401, { error: 'unauthorized' }, { 'www-authenticate': 'Basic realm="fake bmc"' });
      }
      if (req.method === 'GET' && faults.unauthorizedFor?.includes(key) === true) {
        stats.refused += 1;
        return sendJson(res, 401, { error: { code: 'Base.1.8.InsufficientPrivilege' } });
      }
      if (req.method === 'DELETE' && typeof token === 'string' && key.startsWith('/redfish/v1/SessionService/Sessions/')) {
        sessions.delete(token);
        stats.logouts += 1;
        stats.activeSessions = sessions.size;
        res.writeHead(204);
        res.end();
        return;
      }
    }
    if (req.method !== 'GET') return sendJson(res, 405, { error: 'method not allowed' });
    const tree = trees[device] ?? fixture.resources;
    const forced = faults.statusFor?.[key];
    if (forced !== undefined) return sendJson(res, forced, { error: { code: 'Base.1.8.InternalError' } });
    // A collection page such as `/redfish/v1/Chassis?$skip=2` is a resource of its own when the tree has one.
    const found = url.search !== '' && tree.has(`${key}${url.search}`) ? `${key}${url.search}` : key;
    if (!tree.has(found)) return sendJson(res, 404, { error: { code: 'Base.1.8.ResourceMissingAtURI' } });
    let text = JSON.stringify(tree.get(found));
    if (multi) text = text.replaceAll('"/redfish/v1', `"${prefix}/redfish/v1`);
    if (faults.truncate === true) text = text.slice(0, Math.floor(text.length / 2));
    sendText(res, 200, text, { 'content-type': 'application/json', 'odata-version': '4.0' });
  };

  const server = await startFakeServer(handle, options.tls === undefined ? {} : { tls: options.tls });
  const urls = Array.from({ length: count }, (_, i) => (multi ? `${server.origin}/dev/${i}` : server.origin));
  const devicesOf = (device?: number): number[] => (device === undefined ? Array.from({ length: count }, (_, i) => i) : [device]);
  return {
    url: urls[0] ?? server.origin,
    urls,
    hostPort: server.hostPort,
    setPower(watts, device) {
      for (const i of devicesOf(device)) setTreePower(treeOf(i), watts);
    },
    setResource(path, body, device) {
      for (const i of devicesOf(device)) {
        if (body === undefined) treeOf(i).delete(normaliseUri(path));
        else treeOf(i).set(normaliseUri(path), body);
      }
    },
    setFaults(f) {
      faults = { ...faults, ...f };
    },
    clearFaults() {
      faults = {};
    },
    expireSessions() {
      sessions.clear();
      stats.activeSessions = 0;
    },
    stats,
    close: () => server.close(),
  };
}
