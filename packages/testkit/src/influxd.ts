import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findBinary, getFreePort, makeTempDir, ManagedProcess, removeDir } from './common.js';

/** Options of {@link startInfluxd}. */
export interface StartInfluxdOptions {
  /** Creates this admin user first, then restarts with `auth-enabled = true`. */
  auth?: { user: string; pass: string };
  /** How long to wait for `GET /ping` → 204, in ms. */
  readyTimeoutMs?: number;
  /** HTTP port; default a free one. */
  port?: number;
}

/** A running influxd 1.x on 127.0.0.1, started by {@link startInfluxd}. */
export interface InfluxdPeer {
  /** Base URL, e.g. `http://127.0.0.1:43121`. */
  url: string;
  /** HTTP port (kept across restarts). */
  port: number;
  /** Temp dir holding config, meta, data and wal (kept across restarts, removed by `stop`). */
  dataDir: string;
  /** Stops the process (SIGTERM) and removes its temp dir. */
  stop(): Promise<void>;
  /** Kills the process (SIGKILL), keeping its data, as a crash would. `restart()` brings it back. */
  kill(): Promise<void>;
  /** Stops the process if running and starts it again on the same port with the same data. */
  restart(): Promise<void>;
  /** What influxd printed so far. */
  readonly logs: string;
}

function configText(dir: string, httpPort: number, rpcPort: number, auth: boolean): string {
  return [
    'reporting-disabled = true',
    `bind-address = "127.0.0.1:${rpcPort}"`,
    '[meta]',
    `  dir = "${join(dir, 'meta')}"`,
    '[data]',
    `  dir = "${join(dir, 'data')}"`,
    `  wal-dir = "${join(dir, 'wal')}"`,
    '  query-log-enabled = false',
    '[coordinator]',
    '[retention]',
    '[shard-precreation]',
    '[monitor]',
    '  store-enabled = false',
    '[http]',
    '  enabled = true',
    `  bind-address = "127.0.0.1:${httpPort}"`,
    `  auth-enabled = ${auth ? 'true' : 'false'}`,
    '  log-enabled = false',
    '[logging]',
    '  level = "warn"',
    '[subscriber]',
    '  enabled = false',
    '[[graphite]]',
    '  enabled = false',
    '[[collectd]]',
    '  enabled = false',
    '[[opentsdb]]',
    '  enabled = false',
    '[[udp]]',
    '  enabled = false',
    '[continuous_queries]',
    '  enabled = false',
    '',
  ].join('\n');
}

async function pingOk(url: string): Promise<boolean> {
  const res = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(1000) });
  await res.arrayBuffer();
  return res.status === 204;
}

/**
 * True when the influxd answering on `url` is the one started with `configPath`: its `GET /debug/vars` names
 * that (per-instance temp) path in `cmdline`. Another influxd already holding the port answers `/ping` just as
 * well, while ours is still about to fail with "address already in use".
 */
async function isOurs(url: string, configPath: string, auth: { user: string; pass: string } | undefined): Promise<boolean> {
  const headers: Record<string, string> = {};
  if (auth !== undefined) headers['authorization'] = `Basic ${Buffer.from(`${auth.user}:${auth.pass}`).toString('base64')}`;
  const res = await fetch(`${url}/debug/vars`, { headers, signal: AbortSignal.timeout(1000) });
  const text = await res.text();
  if (res.status !== 200) return false;
  const vars = JSON.parse(text) as { cmdline?: unknown };
  return Array.isArray(vars.cmdline) && vars.cmdline.includes(configPath);
}

/**
 * Starts a real influxd 1.x on free 127.0.0.1 ports with its data in a temp dir, and waits until it answers
 * `GET /ping` with 204 and `GET /debug/vars` shows it is the process just started (not another influxd holding
 * the port). Callers check `peerAvailable('influxd', ['influxd'])` first.
 */
export async function startInfluxd(options: StartInfluxdOptions = {}): Promise<InfluxdPeer> {
  const binary = findBinary('influxd');
  if (binary === undefined) throw new Error('influxd is not installed (run scripts/install-peers.sh)');
  const port = options.port ?? (await getFreePort());
  const rpcPort = await getFreePort();
  const url = `http://127.0.0.1:${port}`;
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
  const dir = makeTempDir('influxd');
  const configPath = join(dir, 'influxdb.conf');
  let proc: ManagedProcess | undefined;

  const launch = async (auth: boolean): Promise<void> => {
    writeFileSync(configPath, configText(dir, port, rpcPort, auth));
    const p = new ManagedProcess(binary, ['run', '-config', configPath, '-pidfile', join(dir, 'influxd.pid')]);
    proc = p;
    const creds = auth ? options.auth : undefined;
    await p.waitReady(async () => (await isOurs(url, configPath, creds)) && pingOk(url), `influxd on ${url}`, {
      timeoutMs: readyTimeoutMs,
    });
  };

  const createAdmin = async (auth: { user: string; pass: string }): Promise<void> => {
    // The first admin can only be created while auth is off (or on an empty user table), so create it, then
    // restart with auth enabled.
    const q = `CREATE USER "${auth.user.replace(/"/g, '\\"')}" WITH PASSWORD '${auth.pass.replace(/'/g, "\\'")}' WITH ALL PRIVILEGES`;
    const res = await fetch(`${url}/query`, {
      method: 'POST',
      body: new URLSearchParams({ q }),
      signal: AbortSignal.timeout(5000),
    });
    const text = await res.text();
    if (res.status !== 200 || text.includes('"error"')) throw new Error(`influxd: creating admin failed: ${text}`);
    await proc?.stop();
    await launch(true);
  };
  try {
    chmodSync(dir, 0o755);
    for (const sub of ['meta', 'data', 'wal']) mkdirSync(join(dir, sub));
    await launch(false);
    if (options.auth !== undefined) await createAdmin(options.auth);
  } catch (err) {
    await proc?.kill();
    removeDir(dir);
    throw err;
  }
  const authOn = options.auth !== undefined;

  return {
    url,
    port,
    dataDir: dir,
    get logs() {
      return proc?.logs ?? '';
    },
    async stop() {
      await proc?.stop(5000);
      removeDir(dir);
    },
    async kill() {
      await proc?.kill();
    },
    async restart() {
      await proc?.stop(5000);
      await launch(authOn);
    },
  };
}
