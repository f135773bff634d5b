import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cookies, sendText, startFakeServer, type FakeServer, type TestCert } from './http-server.js';

/** Directory of the non-Redfish HTTP device fixtures. */
export const HTTP_FIXTURE_DIR = join(__dirname, '..', 'fixtures', 'http');

/** The text of a fixture in `test/fixtures/http`. */
export function httpFixture(name: string): string {
  return readFileSync(join(HTTP_FIXTURE_DIR, name), 'utf8');
}

/** A fake device with counters of logins and logouts, and a switch to change its payloads. */
export interface FakeDevice extends FakeServer {
  logins: number;
  logouts: number;
  /** Overrides the data payload (raw text) the device answers with. */
  payload: string | undefined;
}

async function device(
  handler: (fake: FakeDevice, method: string, url: URL, headers: Record<string, string | string[] | undefined>, body: string) =>
    { status: number; text: string; headers?: Record<string, string> },
  options: { tls?: TestCert } = {},
): Promise<FakeDevice> {
  const fake = { logins: 0, logouts: 0, payload: undefined } as unknown as FakeDevice;
  const server = await startFakeServer((req, body, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const out = handler(fake, req.method ?? 'GET', url, req.headers, body);
    sendText(res, out.status, out.text, out.headers ?? {});
  }, options);
  return Object.assign(fake, server);
}

/**
 * iLO REST with Basic auth: iLO 4 firmware `2.1` (PowerMetrics/FastPowerMeter) or `2.4` (Power/FastPowerMeter), or
 * `ilo5` (iLO 5 and later), which redirects `/rest/v1/<x>` to `/redfish/v1/<x>/` (and a Redfish URI without its
 * trailing slash to the one with it) with HTTP 308, and serves Redfish collections and errors there.
 */
export function startFakeIloRest(opts: { firmware: '2.1' | '2.4' | 'ilo5'; user: string; pass: string; chassis?: number }): Promise<FakeDevice> {
  const count = opts.chassis ?? 1;
  // Each extra chassis reports 100 W more than the fixture, so a sum tells which chassis were counted.
  const shift = (text: string, i: number): string =>
    JSON.stringify(JSON.parse(text, (k, v: unknown) => (k === 'Average' && typeof v === 'number' ? v + 100 * i : v)));
  if (opts.firmware === 'ilo5') {
    return device((fake, _m, url, headers) => {
      const legacy = /^\/rest\/v1(\/.*)?$/.exec(url.pathname);
      if (legacy !== null) return { status: 308, text: '', headers: { location: `/redfish/v1${(legacy[1] ?? '').replace(/\/*$/, '/')}` } };
      if (!url.pathname.endsWith('/')) return { status: 308, text: '', headers: { location: `${url.pathname}/` } };
      const auth = typeof headers['authorization'] === 'string' ? Buffer.from(headers['authorization'].slice(6), 'base64').toString() : '';
      if (auth !== `${opts.user}:${opts.pass}`) return { status: 401, text: httpFixture('synthetic-hpe-ilo5-error-401.json') };
      if (url.pathname === '/redfish/v1/Chassis/') {
        const list = JSON.parse(httpFixture('synthetic-hpe-ilo5-chassis.json')) as Record<string, unknown>;
        list['Members'] = Array.from({ length: count }, (_, i) => ({ '@odata.id': `/redfish/v1/Chassis/${i + 1}/` }));
        list['Members@odata.count'] = count;
        return { status: 200, text: JSON.stringify(list) };
      }
      const m = /^\/redfish\/v1\/Chassis\/(\d+)\/Power\/FastPowerMeter\/$/.exec(url.pathname);
      const index = Number(m?.[1] ?? 0) - 1;
      if (m !== null && index >= 0 && index < count) {
        return { status: 200, text: fake.payload ?? shift(httpFixture('synthetic-hpe-ilo5-fastpowermeter.json'), index) };
      }
      return { status: 404, text: httpFixture('synthetic-hpe-ilo5-error-404.json') };
    });
  }
  return device((fake, _m, url, headers) => {
    const auth = typeof headers['authorization'] === 'string' ? Buffer.from(headers['authorization'].slice(6), 'base64').toString() : '';
    if (auth !== `${opts.user}:${opts.pass}`) return { status: 401, text: httpFixture('hpe-ilo4-2.40-error.json') };
    if (url.pathname === '/rest/v1/Chassis') {
      const list = JSON.parse(httpFixture('hpe-ilo4-2.10-chassis.json')) as { Total: number; links: { Member: { href: string }[] } };
      list.links.Member = Array.from({ length: count }, (_, i) => ({ href: `/rest/v1/Chassis/${i + 1}` }));
      list.Total = count;
      return { status: 200, text: JSON.stringify(list) };
    }
    const m = /^\/rest\/v1\/Chassis\/(\d+)\/(PowerMetrics|Power)\/FastPowerMeter$/.exec(url.pathname);
    const index = Number(m?.[1] ?? 0) - 1;
    if (m !== null && index >= 0 && index < count) {
      if (m[2] === 'PowerMetrics' && opts.firmware === '2.1') {
        return { status: 200, text: fake.payload ?? shift(httpFixture('hpe-ilo4-2.10-fastpowermeter.json'), index) };
      }
      if (m[2] === 'Power' && opts.firmware === '2.4') {
        return { status: 200, text: fake.payload ?? shift(httpFixture('hpe-ilo4-2.40-fastpowermeter.json'), index) };
      }
    }
    return { status: 404, text: httpFixture('hpe-ilo4-2.40-error.json') };
  });
}

/** Shelly Gen1 (Basic auth) or Gen2 (Digest SHA-256, realm = device id), checked independently of the adapter. */
export function startFakeShelly(opts: { gen: 1 | 2; user?: string; pass?: string }): Promise<FakeDevice & { rotateNonce(): void }> {
  const realm = 'shellyplusplugs-e86beae00000';
  let nonce = randomBytes(8).toString('hex');
  const sha = (s: string): string => createHash('sha256').update(s).digest('hex');
  const digestOk = (method: string, header: string): boolean => {
    const p = new Map([...header.matchAll(/(\w+)=(?:"([^"]*)"|([^,\s]*))/g)].map((m) => [m[1] ?? '', m[2] ?? m[3] ?? '']));
    const ha1 = sha(`${opts.user ?? ''}:${realm}:${opts.pass ?? ''}`);
    const ha2 = sha(`${method}:${p.get('uri') ?? ''}`);
    const expected = sha(`${ha1}:${nonce}:${p.get('nc') ?? ''}:${p.get('cnonce') ?? ''}:auth:${ha2}`);
    return p.get('nonce') === nonce && p.get('response') === expected && p.get('username') === opts.user;
  };
  const started = device((fake, method, url, headers) => {
    if (url.pathname === '/shelly') {
      return { status: 200, text: httpFixture(opts.gen === 1 ? 'shelly-plug-s-gen1-20230913-info.json' : 'shelly-plus-plug-s-gen2-1.0.8-info.json') };
    }
    if (opts.user !== undefined) {
      const authz = typeof headers['authorization'] === 'string' ? headers['authorization'] : '';
      if (opts.gen === 1 && authz !== `Basic ${Buffer.from(`${opts.user}:${opts.pass ?? ''}`).toString('base64')}`) {
        return { status: 401, text: '401 Unauthorized', headers: { 'www-authenticate': 'Basic realm="shelly"' } };
      }
      if (opts.gen === 2 && !(authz.startsWith('Digest ') && digestOk(method, authz))) {
        return {
          status: 401,
          text: '',
          headers: { 'www-authenticate': `Digest qop="auth", realm="${realm}", nonce="${nonce}", algorithm=SHA-256` },
        };
      }
    }
    if (opts.gen === 1 && url.pathname === '/status') return { status: 200, text: fake.payload ?? httpFixture('shelly-plug-s-gen1-20230913.json') };
    if (opts.gen === 2 && url.pathname === '/rpc/Switch.GetStatus' && url.searchParams.get('id') === '0') {
      return { status: 200, text: fake.payload ?? httpFixture('shelly-plus-plug-s-gen2-1.0.8.json') };
    }
    // A two-channel relay (Plus 2PM): switch 1 carries another load.
    if (opts.gen === 2 && url.pathname === '/rpc/Switch.GetStatus' && url.searchParams.get('id') === '1') {
      const status = JSON.parse(httpFixture('shelly-plus-plug-s-gen2-1.0.8.json')) as { id: number; apower: number; aenergy: { total: number } };
      return { status: 200, text: JSON.stringify({ ...status, id: 1, apower: 61.2, aenergy: { ...status.aenergy, total: 777.5 } }) };
    }
    return { status: 404, text: 'Not Found' };
  });
  // Gen2 firmware renews its nonce (after a reboot or a while): the next request gets 401 with a new challenge.
  return started.then((d) => Object.assign(d, { rotateNonce: () => void (nonce = randomBytes(8).toString('hex')) }));
}

/** RPi-Monitor serving `dynamic.json`. */
export function startFakeRpiMonitor(): Promise<FakeDevice> {
  return device((fake, _m, url) =>
    url.pathname === '/dynamic.json'
      ? { status: 200, text: fake.payload ?? httpFixture('rpi-monitor-2.13-raspbian.json'), headers: { 'content-type': 'application/json' } }
      : { status: 404, text: 'nope' },
  );
}

/** HP iLO Gen8 web UI with one valid user; sessions must be logged out. */
export function startFakeIloGui(opts: { user: string; pass: string; tls?: TestCert }): Promise<FakeDevice> {
  const keys = new Set<string>();
  return device(
    (fake, method, url, headers, body) => {
      if (url.pathname === '/json/login_session' && method === 'POST') {
        const req = JSON.parse(body) as { method?: string; user_login?: string; password?: string; session_key?: string };
        if (req.method === 'login') {
          if (req.user_login !== opts.user || req.password !== opts.pass) return { status: 403, text: '{"message":"JS_ERR_LOST_SESSION"}' };
          const key = randomBytes(16).toString('hex');
          keys.add(key);
          fake.logins += 1;
          return { status: 200, text: JSON.stringify({ session_key: key, user_name: opts.user }) };
        }
        if (req.method === 'logout' && req.session_key !== undefined && keys.delete(req.session_key)) {
          fake.logouts += 1;
          return { status: 200, text: '{}' };
        }
        return { status: 400, text: '{}' };
      }
      const key = cookies({ headers } as never).get('sessionKey');
      if (key === undefined || !keys.has(key)) return { status: 403, text: '{"message":"JS_ERR_LOST_SESSION"}' };
      if (url.pathname === '/json/power_history_fast') return { status: 200, text: fake.payload ?? httpFixture('hpe-ilo3-gen8-1.88-power-history-fast.json') };
      return { status: 404, text: '{}' };
    },
    opts.tls === undefined ? {} : { tls: opts.tls },
  );
}

/** Dell iDRAC 8 web UI: form login (values URL-decoded), `-http-session-` cookie, `ST2` header, logout. */
export function startFakeIdrac8(opts: { user: string; pass: string }): Promise<FakeDevice> {
  const sessions = new Set<string>();
  const st2 = '9f8e7d6c5b4a39281706';
  return device((fake, method, url, headers, body) => {
    const session = cookies({ headers } as never).get('-http-session-');
    if (url.pathname === '/data/login' && method === 'POST') {
      const form = new URLSearchParams(body);
      if (form.get('user') !== opts.user || form.get('password') !== opts.pass) {
        return { status: 200, text: '<root><status>fail</status><authResult>1</authResult></root>' };
      }
      const id = randomBytes(8).toString('hex');
      sessions.add(id);
      fake.logins += 1;
      return { status: 200, text: httpFixture('dell-idrac8-2.70-login.xml'), headers: { 'set-cookie': `-http-session-=${id}; path=/; Secure; HttpOnly` } };
    }
    if (session === undefined || !sessions.has(session)) return { status: 401, text: '<root><status>fail</status></root>' };
    if (url.pathname === '/data/logout') {
      sessions.delete(session);
      fake.logouts += 1;
      return { status: 200, text: '<root><status>ok</status></root>' };
    }
    if (url.pathname === '/data' && url.searchParams.get('get') === 'powergraphdata' && headers['st2'] === st2) {
      return { status: 200, text: fake.payload ?? httpFixture('dell-idrac8-2.70-powergraphdata.xml') };
    }
    return { status: 404, text: '' };
  });
}

/** Intel web console: pseudo-JSON answers, `SessionCookie` cookie, logout. */
export function startFakeIntelGui(opts: { user: string; pass: string }): Promise<FakeDevice> {
  const cookie = 'Ub7xGk1tVt8hR3Qa0000';
  return device((fake, method, url, headers, body) => {
    if (url.pathname === '/rpc/WEBSES/create.asp' && method === 'POST') {
      const form = new URLSearchParams(body);
      if (form.get('WEBVAR_USERNAME') !== opts.user || form.get('WEBVAR_PASSWORD') !== opts.pass) {
        return { status: 200, text: httpFixture('intel-s2600wt-01.01-create.txt').replace(cookie, 'Failure_Login_IPMI_Then_LDAP') };
      }
      fake.logins += 1;
      return { status: 200, text: httpFixture('intel-s2600wt-01.01-create.txt') };
    }
    if (cookies({ headers } as never).get('SessionCookie') !== cookie) return { status: 401, text: '' };
    if (url.pathname === '/rpc/getpowerstat.asp') return { status: 200, text: fake.payload ?? httpFixture('intel-s2600wt-01.01-getpowerstat.txt') };
    if (url.pathname === '/rpc/WEBSES/logout.asp') {
      fake.logouts += 1;
      return { status: 200, text: '' };
    }
    return { status: 404, text: '' };
  });
}

/** Huawei iBMC web UI: AddSession (SessionId3 cookie), token, getmultiproperty, DelSession. */
export function startFakeIbmc(opts: { user: string; pass: string }): Promise<FakeDevice> {
  const sessions = new Map<string, string>();
  return device((fake, method, url, headers, body) => {
    const form = new URLSearchParams(body);
    const sid = cookies({ headers } as never).get('SessionId3');
    if (url.pathname === '/bmc/php/processparameter.php' && form.get('func') === 'AddSession') {
      if (form.get('user_name') !== opts.user || form.get('check_pwd') !== opts.pass) return { status: 200, text: '{"errorCode":1}' };
      const id = randomBytes(8).toString('hex');
      sessions.set(id, randomBytes(8).toString('hex'));
      fake.logins += 1;
      return { status: 200, text: '{"errorCode":0}', headers: { 'set-cookie': `SessionId3=${id}; path=/; secure` } };
    }
    if (sid === undefined || !sessions.has(sid)) return { status: 200, text: 'session timeout' };
    if (url.pathname === '/bmc/php/gettoken.php') return { status: 200, text: sessions.get(sid) ?? '' };
    if (form.get('token') !== sessions.get(sid)) return { status: 403, text: 'bad token' };
    if (url.pathname === '/bmc/php/processparameter.php' && form.get('func') === 'DelSession') {
      sessions.delete(sid);
      fake.logouts += 1;
      return { status: 200, text: '{"errorCode":0}' };
    }
    if (url.pathname === '/bmc/php/getmultiproperty.php' && method === 'POST') {
      const ask = JSON.parse(form.get('str_input') ?? '[]') as { class_name?: string }[];
      if (!ask.some((a) => a.class_name === 'SysPower')) return { status: 200, text: '{}' };
      return { status: 200, text: fake.payload ?? httpFixture('huawei-ibmc-2288hv5-3.22-getmultiproperty.txt') };
    }
    return { status: 404, text: '' };
  });
}

