import type { IncomingMessage, ServerResponse } from 'node:http';
import { AdapterError, type AdapterDefinition, type PowerAdapter } from '@energyrecorder/core';
import { idrac8GuiAdapter } from '../../src/idrac8-gui/adapter.js';
import { ibmcGuiAdapter } from '../../src/ibmc-gui/adapter.js';
import { iloGuiAdapter } from '../../src/ilo-gui/adapter.js';
import { intelGuiAdapter } from '../../src/intel-gui/adapter.js';
import { captureLogger } from '../fakes/capture-logger.js';
import { httpFixture } from '../fakes/http-devices.js';
import { cookies, sendText, startFakeServer, type FakeServer } from '../fakes/http-server.js';

// Web UI sessions are few on a BMC (often 4-8): each test checks that no session is left open on the device.

const USER = 'admin';
const PASS = 'Zq9-secret-Pw';

/** A web UI that creates a session per login at once, answers the login after `loginDelayMs`, and hangs every data request. */
interface SessionDevice extends FakeServer {
  /** Sessions created and not yet logged out. */
  open: Set<string>;
  logins: number;
  loginDelayMs: number;
  /** Resolves when the next login has been answered. */
  loggedIn(): Promise<void>;
}

type Kind = 'ilo-gui' | 'idrac8-gui' | 'intel-gui' | 'ibmc-gui';

/** How each web UI logs in and out; everything else (the power read) hangs, as on a slow BMC. */
function route(kind: Kind, dev: SessionDevice, req: IncomingMessage, body: string): { login?: [string, number, string, Record<string, string>]; logout?: string } {
  const url = req.url ?? '';
  const id = `s${dev.logins + 1}`;
  if (kind === 'ilo-gui' && url === '/json/login_session') {
    const j = JSON.parse(body) as { method?: string; session_key?: string };
    if (j.method === 'login') return { login: [id, 200, JSON.stringify({ session_key: id }), { 'content-type': 'application/json' }] };
    return { logout: j.session_key ?? '' };
  }
  if (kind === 'idrac8-gui' && url === '/data/login') {
    return { login: [id, 200, httpFixture('dell-idrac8-2.70-login.xml'), { 'set-cookie': `-http-session-=${id}; path=/` }] };
  }
  if (kind === 'idrac8-gui' && url === '/data/logout') return { logout: cookies(req).get('-http-session-') ?? '' };
  if (kind === 'intel-gui' && url === '/rpc/WEBSES/create.asp') {
    return { login: [id, 200, httpFixture('intel-s2600wt-01.01-create.txt').replace('Ub7xGk1tVt8hR3Qa0000', id), {}] };
  }
  if (kind === 'intel-gui' && url === '/rpc/WEBSES/logout.asp') return { logout: cookies(req).get('SessionCookie') ?? '' };
  if (kind === 'ibmc-gui' && url === '/bmc/php/processparameter.php') {
    const form = new URLSearchParams(body);
    if (form.get('func') === 'AddSession') return { login: [id, 200, '{"errorCode":0}', { 'set-cookie': `SessionId3=${id}; path=/` }] };
    if (form.get('func') === 'DelSession') return { logout: cookies(req).get('SessionId3') ?? '' };
  }
  return {};
}

async function startSessionDevice(kind: Kind): Promise<SessionDevice> {
  let answered: (() => void) | undefined;
  const dev = { open: new Set<string>(), logins: 0, loginDelayMs: 0 } as unknown as SessionDevice;
  dev.loggedIn = () => new Promise<void>((resolve) => (answered = resolve));
  const server = await startFakeServer((req, body, res: ServerResponse) => {
    const r = route(kind, dev, req, body);
    if (r.login !== undefined) {
      const [id, status, text, headers] = r.login;
      dev.logins += 1;
      dev.open.add(id); // the session exists from now on, however late the answer comes
      setTimeout(() => {
        if (res.destroyed) return;
        sendText(res, status, text, headers);
        answered?.();
      }, dev.loginDelayMs);
    } else if (r.logout !== undefined) {
      dev.open.delete(r.logout);
      sendText(res, 200, '{}');
    }
    // anything else: never answered
  });
  return Object.assign(dev, server);
}

const KINDS: [Kind, AdapterDefinition][] = [
  ['ilo-gui', iloGuiAdapter],
  ['idrac8-gui', idrac8GuiAdapter],
  ['intel-gui', intelGuiAdapter],
  ['ibmc-gui', ibmcGuiAdapter],
];

const opened: { close(): Promise<void> }[] = [];
afterEach(async () => {
  // Together: a hung login ends when the device closes, so an adapter's close() is not kept waiting for it.
  await Promise.all(opened.splice(0).map((o) => o.close()));
});

function create(def: AdapterDefinition, dev: FakeServer, extra: Record<string, unknown> = {}): PowerAdapter {
  const config = def.configSchema.parse({ id: 'dev', type: def.type, host: dev.origin, user: USER, pass: PASS, ...extra });
  const adapter = def.create(config, { logger: captureLogger(), requestTimeoutMs: 3000, equipmentId: 'dev' });
  opened.push(adapter);
  return adapter;
}

async function readError(p: Promise<unknown>): Promise<AdapterError> {
  const err: unknown = await p.then(
    () => new Error('read succeeded'),
    (e: unknown) => e,
  );
  if (err instanceof AdapterError) return err;
  throw err;
}

async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
}

describe('web UI sessions', () => {
  it.each(KINDS)('%s logs out before close() ends when the read is aborted and the adapter closed at once', async (kind, def) => {
    const dev = await startSessionDevice(kind);
    opened.push(dev);
    const adapter = create(def, dev);
    const poll = new AbortController();
    const loggedIn = dev.loggedIn();
    const reading = readError(adapter.read(poll.signal));
    await loggedIn;
    await new Promise((r) => setTimeout(r, 20)); // the power request is on its way and hangs
    expect(dev.open.size).toBe(1);
    // What the collector does when it stops or reloads: abort the read, close the adapter on the next microtask.
    poll.abort(new Error('collector stopping'));
    const closed = Promise.resolve().then(() => adapter.close());
    expect((await reading).code).toBe('ER_ADAPTER_ABORTED');
    await closed;
    expect(dev.open).toEqual(new Set());
  });

  it.each(KINDS)('%s logs out the session of a login answered after the request deadline', async (kind, def) => {
    const dev = await startSessionDevice(kind);
    opened.push(dev);
    dev.loginDelayMs = 600;
    const adapter = create(def, dev, { timeout: 0.15 });
    const started = Date.now();
    const err = await readError(adapter.read(new AbortController().signal));
    expect(err).toMatchObject({ code: 'ER_ADAPTER_TIMEOUT', retryable: true });
    expect(Date.now() - started).toBeLessThan(550); // the read did not wait for the late answer
    expect(dev.open.size).toBe(1);
    await until(() => dev.open.size === 0);
    expect(dev.open).toEqual(new Set());
  });

  it.each(KINDS)('%s logs out the session of a login answered after the poll was aborted, also across close()', async (kind, def) => {
    const dev = await startSessionDevice(kind);
    opened.push(dev);
    dev.loginDelayMs = 300;
    const adapter = create(def, dev);
    for (let i = 0; i < 2; i++) {
      const err = await readError(adapter.read(AbortSignal.timeout(100)));
      expect(err).toMatchObject({ code: 'ER_ADAPTER_ABORTED' });
    }
    expect(dev.open.size).toBe(2);
    // close() right away: it waits for the late logins and their logouts.
    await adapter.close();
    expect(dev.open).toEqual(new Set());
    expect(dev.logins).toBe(2);
  });

  it.each(KINDS)('%s does not send the login to another origin a redirect names', async (_kind, def) => {
    const seen: string[] = [];
    const other = await startFakeServer((req, body, res) => {
      seen.push(`${req.method ?? ''} ${req.url ?? ''} ${body}`);
      sendText(res, 200, '{}');
    });
    opened.push(other);
    const dev = await startFakeServer((req, _body, res) => sendText(res, 307, '', { location: `${other.origin}/grab${req.url ?? ''}` }));
    opened.push(dev);
    const err = await readError(create(def, dev).read(new AbortController().signal));
    expect(err).toMatchObject({ code: 'ER_ADAPTER_HTTP', retryable: false });
    expect(err.message).toContain(`another origin (${other.origin})`);
    expect(seen).toEqual([]);
  });
});
