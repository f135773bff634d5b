import { execFile } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { findBinary, getFreePort, makeTempDir, ManagedProcess, removeDir, waitFor } from './common.js';

/** Options of {@link startMosquitto}. */
export interface StartMosquittoOptions {
  /** Users of a password file; when given, anonymous clients are refused. */
  users?: ReadonlyArray<{ user: string; pass: string }>;
  /** How long to wait for the listener, in ms. */
  readyTimeoutMs?: number;
}

/** A running mosquitto broker on 127.0.0.1, started by {@link startMosquitto}. */
export interface MosquittoPeer {
  /** Broker URL, e.g. `mqtt://127.0.0.1:41883`. */
  url: string;
  /** TCP port (kept across restarts). */
  port: number;
  /** Stops the broker and removes its temp dir. */
  stop(): Promise<void>;
  /** Stops the broker if running and starts it again on the same port. */
  restart(): Promise<void>;
  /** Stops the broker but keeps its config, so `restart()` brings it back (a broker outage). */
  pause(): Promise<void>;
  /** What mosquitto printed so far. */
  readonly logs: string;
}

function tcpConnects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(1000, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

function run(binary: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(binary, args, { timeout: 10_000 }, (err, _stdout, stderr) => {
      if (err !== null) reject(new Error(`${binary} failed: ${stderr}`, { cause: err }));
      else resolve();
    });
  });
}

/**
 * Starts a real mosquitto broker on a free 127.0.0.1 port (plain MQTT only: this version's WebSocket listener
 * ignores the bind address) and waits until a TCP connect succeeds. Callers check
 * `peerAvailable('mosquitto', ['mosquitto', 'mosquitto_passwd'])` first.
 */
export async function startMosquitto(options: StartMosquittoOptions = {}): Promise<MosquittoPeer> {
  const binary = findBinary('mosquitto');
  if (binary === undefined) throw new Error('mosquitto is not installed (run scripts/install-peers.sh)');
  const dir = makeTempDir('mosquitto');
  // Started as root, mosquitto drops to user `mosquitto`, which must read the dir and the password file.
  chmodSync(dir, 0o755);
  const port = await getFreePort();
  const lines = [`listener ${port} 127.0.0.1`, 'persistence false', 'log_dest stderr', 'log_type error', 'log_type warning'];
  const users = options.users ?? [];
  if (users.length > 0) {
    const passwd = findBinary('mosquitto_passwd');
    if (passwd === undefined) throw new Error('mosquitto_passwd is not installed');
    const file = join(dir, 'passwd');
    writeFileSync(file, '');
    for (const u of users) await run(passwd, ['-b', file, u.user, u.pass]);
    chmodSync(file, 0o644);
    lines.push('allow_anonymous false', `password_file ${file}`);
  } else {
    lines.push('allow_anonymous true');
  }
  const configPath = join(dir, 'mosquitto.conf');
  writeFileSync(configPath, `${lines.join('\n')}\n`);
  chmodSync(configPath, 0o644);
  const readyTimeoutMs = options.readyTimeoutMs ?? 15_000;
  let proc: ManagedProcess | undefined;

  const launch = async (): Promise<void> => {
    const p = new ManagedProcess(binary, ['-c', configPath]);
    proc = p;
    await waitFor(
      async () => {
        if (!p.alive) throw new Error(`mosquitto exited:\n${p.logs}`);
        return tcpConnects(port);
      },
      `mosquitto on 127.0.0.1:${port}`,
      readyTimeoutMs,
      100,
    );
  };
  await launch();

  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    get logs() {
      return proc?.logs ?? '';
    },
    async stop() {
      await proc?.stop();
      removeDir(dir);
    },
    async pause() {
      await proc?.stop();
    },
    async restart() {
      await proc?.stop();
      await launch();
    },
  };
}
