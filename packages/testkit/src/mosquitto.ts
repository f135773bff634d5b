import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { findBinary, getFreePort, makeTempDir, ManagedProcess, removeDir } from './common.js';

/** Options of {@link startMosquitto}. */
export interface StartMosquittoOptions {
  /** Users of a password file; when given, anonymous clients are refused. */
  users?: ReadonlyArray<{ user: string; pass: string }>;
  /** How long to wait for the listener, in ms. */
  readyTimeoutMs?: number;
  /** TCP port; default a free one. */
  port?: number;
  /**
   * Keep sessions, subscriptions and queued QoS 1/2 messages across `pause()`/`restart()` (mosquitto's
   * `persistence`, saved at shutdown), as a production broker does; default false.
   */
  persistent?: boolean;
  /** Lines appended to the generated `mosquitto.conf` as they are. */
  extraConfig?: readonly string[];
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

/** An MQTT 3.1.1 CONNECT with a clean session and client id `er-ready`, built by hand (no MQTT library). */
function connectPacket(): Buffer {
  const clientId = Buffer.from('er-ready', 'utf8');
  const body = Buffer.concat([
    Buffer.from([0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x0a]),
    Buffer.from([clientId.length >> 8, clientId.length & 0xff]),
    clientId,
  ]);
  return Buffer.concat([Buffer.from([0x10, body.length]), body]);
}

/**
 * True once a broker answers CONNECT with a CONNACK (refused or not: either way it is up) on `where` (a TCP port
 * on 127.0.0.1 or a unix socket path). A bare TCP connect is not enough: it would also succeed against another
 * program already holding the port.
 */
function brokerAnswers(where: number | string): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = typeof where === 'number' ? connect({ host: '127.0.0.1', port: where }) : connect({ path: where });
    const done = (ok: boolean): void => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(1000, () => done(false));
    sock.once('connect', () => sock.write(connectPacket()));
    sock.once('data', (data: Buffer) => {
      if (data[0] !== 0x20) {
        done(false);
        return;
      }
      // DISCONNECT, so the broker does not log the hang-up as an error.
      sock.end(Buffer.from([0xe0, 0x00]));
      resolve(true);
    });
    sock.once('error', () => done(false));
    sock.once('close', () => done(false));
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
 * ignores the bind address) and waits until it answers an MQTT CONNECT, both on its port and on a unix socket in
 * its temp dir that proves the broker answering is the one just started. Callers check
 * `peerAvailable('mosquitto', ['mosquitto', 'mosquitto_passwd'])` first.
 */
export async function startMosquitto(options: StartMosquittoOptions = {}): Promise<MosquittoPeer> {
  const binary = findBinary('mosquitto');
  if (binary === undefined) throw new Error('mosquitto is not installed (run scripts/install-peers.sh)');
  const extra = options.extraConfig ?? [];
  if (extra.some((line) => /[\r\n]/.test(line))) throw new Error('mosquitto extraConfig: one line per entry');
  const port = options.port ?? (await getFreePort());
  const readyTimeoutMs = options.readyTimeoutMs ?? 15_000;
  const dir = makeTempDir('mosquitto');
  const configPath = join(dir, 'mosquitto.conf');
  // A second listener on a unix socket in our own temp dir: only this broker can answer there, so a CONNACK on
  // it (after which mosquitto has opened every listener, the TCP port included) proves that the broker answering
  // is ours and not another one that already held the port (ours then exits with "Address already in use").
  const readySocket = join(dir, 'ready', 'mqtt.sock');
  let proc: ManagedProcess | undefined;

  const launch = async (): Promise<void> => {
    // A socket left by a killed broker would make the next bind fail.
    rmSync(readySocket, { force: true });
    const p = new ManagedProcess(binary, ['-c', configPath]);
    proc = p;
    await p.waitReady(async () => (await brokerAnswers(readySocket)) && brokerAnswers(port), `mosquitto on 127.0.0.1:${port}`, {
      timeoutMs: readyTimeoutMs,
    });
  };
  try {
    // Started as root, mosquitto drops to user `mosquitto`, which must read the dir and the password file (and
    // creates the unix socket after dropping).
    chmodSync(dir, 0o755);
    mkdirSync(dirname(readySocket));
    chmodSync(dirname(readySocket), 0o777);
    const lines = [`listener ${port} 127.0.0.1`, 'log_dest stderr', 'log_type error', 'log_type warning'];
    if (options.persistent === true) {
      const data = join(dir, 'data');
      mkdirSync(data);
      // mosquitto writes its database as the user it drops to.
      chmodSync(data, 0o777);
      lines.push('persistence true', `persistence_location ${data}/`);
    } else {
      lines.push('persistence false');
    }
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
    lines.push(...extra, `listener 0 ${readySocket}`);
    writeFileSync(configPath, `${lines.join('\n')}\n`);
    chmodSync(configPath, 0o644);
    await launch();
  } catch (err) {
    await proc?.kill();
    removeDir(dir);
    throw err;
  }

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
