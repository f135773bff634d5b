import { randomBytes, randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findBinary, getFreeUdpPort, makeTempDir, ManagedProcess, removeDir } from './common.js';

/** Value types a `pass_persist` handler may return (Counter64 is not among them). */
export type SnmpdValueType = 'integer' | 'unsigned' | 'gauge' | 'counter' | 'timeticks' | 'string' | 'objectid' | 'ipaddress';

/**
 * An SNMPv3 user created in the agent, allowed read access at the level its keys give: authPriv with both
 * protocols, authNoPriv without `privProtocol`, noAuthNoPriv without `authProtocol`.
 */
export interface SnmpdV3User {
  user: string;
  /** `MD5`, `SHA`, `SHA-224`, `SHA-256`, `SHA-384`, `SHA-512` (Net-SNMP names). */
  authProtocol?: string;
  /** 8+ characters. */
  authKey?: string;
  /** `DES`, `AES`, `AES-192`, `AES-256` (Blumenthal), `AES-192-C`, `AES-256-C` (Reeder) (Net-SNMP names). */
  privProtocol?: string;
  /** 8+ characters. */
  privKey?: string;
}

/** Options of {@link startSnmpd}. */
export interface SnmpdOptions {
  /** Read-only community for v1/v2c; default `public`. Also used for the readiness probe. */
  community?: string;
  /** A v3 user (kept for callers that need one only). */
  v3User?: SnmpdV3User;
  /** More v3 users, e.g. one per protocol pair under test. */
  v3Users?: readonly SnmpdV3User[];
  /** Values served from the start, as `[oid, type, value]`. */
  values?: ReadonlyArray<readonly [string, SnmpdValueType, string | number]>;
  /**
   * Subtrees answered by the test's value table (through `pass_persist`). Default: the whole enterprises tree
   * `1.3.6.1.4.1`; snmpd keeps answering its own more specific registrations (e.g. UCD, NET-SNMP).
   */
  subtrees?: readonly string[];
  /** Readiness timeout; default 15 s. */
  startTimeoutMs?: number;
  /** UDP port; default a free one. */
  port?: number;
}

/** A running snmpd on 127.0.0.1. */
export interface SnmpdPeer {
  host: string;
  port: number;
  /** Sets (or adds) a value; the agent serves it from the next request on. */
  set(oid: string, type: SnmpdValueType, value: string | number): void;
  /** Removes a value, so the agent answers noSuchObject/noSuchName for it. */
  remove(oid: string): void;
  /** The agent's log file so far. */
  logs(): string;
  stop(): Promise<void>;
}

// The handler answers snmpd's pass_persist protocol (PING/get/getnext/set on stdin) from a table file it
// re-reads on every request, so values a test changes are seen at once (plain `pass` caches for ~30 s).
const HANDLER_SOURCE = String.raw`
'use strict';
const fs = require('fs');
const path = require('path');
const readline = require('readline');
const tableFile = path.join(__dirname, 'snmp-table.txt');
function parseOid(s) { return s.replace(/^\./, '').split('.').filter((x) => x !== '').map(Number); }
function cmp(a, b) {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}
function load() {
  let text = '';
  try { text = fs.readFileSync(tableFile, 'utf8'); } catch { return []; }
  const rows = [];
  for (const line of text.split('\n')) {
    const m = /^(\S+)\s+(\S+)\s?(.*)$/.exec(line.trim());
    if (!m) continue;
    rows.push({ oid: parseOid(m[1]), type: m[2], value: m[3] });
  }
  return rows.sort((a, b) => cmp(a.oid, b.oid));
}
function answer(row) { return '.' + row.oid.join('.') + '\n' + row.type + '\n' + row.value + '\n'; }
const rl = readline.createInterface({ input: process.stdin });
let pending = null;
const queue = [];
rl.on('line', (raw) => {
  const line = raw.trim();
  if (pending === null) {
    if (line === 'PING') { process.stdout.write('PONG\n'); return; }
    if (line === 'get' || line === 'getnext') { pending = { cmd: line, args: [], need: 1 }; return; }
    if (line === 'set') { pending = { cmd: line, args: [], need: 2 }; return; }
    return;
  }
  pending.args.push(line);
  if (pending.args.length < pending.need) return;
  const { cmd, args } = pending;
  pending = null;
  if (cmd === 'set') { process.stdout.write('not-writable\n'); return; }
  const want = parseOid(args[0]);
  const rows = load();
  const row = cmd === 'get' ? rows.find((r) => cmp(r.oid, want) === 0) : rows.find((r) => cmp(r.oid, want) > 0);
  process.stdout.write(row ? answer(row) : 'NONE\n');
});
rl.on('close', () => process.exit(0));
`;

function normaliseOid(oid: string): string {
  return oid.trim().replace(/^\./, '');
}

function berLength(n: number): number[] {
  if (n < 0x80) return [n];
  if (n < 0x100) return [0x81, n];
  return [0x82, n >> 8, n & 0xff];
}

function tlv(tag: number, content: readonly number[]): number[] {
  return [tag, ...berLength(content.length), ...content];
}

function berInt(n: number): number[] {
  const bytes: number[] = [];
  let v = n;
  do {
    bytes.unshift(v & 0xff);
    v = Math.floor(v / 256);
  } while (v > 0);
  if ((bytes[0] ?? 0) & 0x80) bytes.unshift(0);
  return tlv(0x02, bytes);
}

function berOid(oid: string): number[] {
  const arcs = normaliseOid(oid).split('.').map(Number);
  const out: number[] = [40 * (arcs[0] ?? 1) + (arcs[1] ?? 3)];
  for (const arc of arcs.slice(2)) {
    const chunk: number[] = [arc & 0x7f];
    let v = arc >> 7;
    while (v > 0) {
      chunk.unshift((v & 0x7f) | 0x80);
      v >>= 7;
    }
    out.push(...chunk);
  }
  return tlv(0x06, out);
}

/** A v2c GET of sysUpTime.0, encoded by hand so the harness needs no SNMP library. */
function probePacket(community: string, requestId: number): Buffer {
  const varbind = tlv(0x30, [...berOid('1.3.6.1.2.1.1.3.0'), 0x05, 0x00]);
  const pdu = tlv(0xa0, [...berInt(requestId), ...berInt(0), ...berInt(0), ...tlv(0x30, varbind)]);
  return Buffer.from(tlv(0x30, [...berInt(1), ...tlv(0x04, [...Buffer.from(community, 'utf8')]), ...pdu]));
}

/** One BER TLV at `offset`: its tag and where its content starts and ends, or undefined if malformed. */
function readTlv(buf: Buffer, offset: number): { tag: number; start: number; end: number } | undefined {
  const tag = buf[offset];
  let len = buf[offset + 1];
  if (tag === undefined || len === undefined) return undefined;
  let start = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 2 || start + n > buf.length) return undefined;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (buf[start + i] ?? 0);
    start += n;
  }
  const end = start + len;
  return end <= buf.length ? { tag, start, end } : undefined;
}

/**
 * True when `msg` is a v2c GetResponse carrying `community` and `requestId`: the answer of an agent that knows
 * that community (not an echo of the request, nor an agent that drops unknown communities).
 */
function isResponseTo(msg: Buffer, community: string, requestId: number): boolean {
  const seq = readTlv(msg, 0);
  if (seq?.tag !== 0x30) return false;
  const version = readTlv(msg, seq.start);
  if (version?.tag !== 0x02) return false;
  const comm = readTlv(msg, version.end);
  if (comm?.tag !== 0x04 || msg.subarray(comm.start, comm.end).toString('utf8') !== community) return false;
  const pdu = readTlv(msg, comm.end);
  if (pdu?.tag !== 0xa2) return false;
  const id = readTlv(msg, pdu.start);
  if (id?.tag !== 0x02 || id.end - id.start > 5) return false;
  let value = 0;
  for (const byte of msg.subarray(id.start, id.end)) value = value * 256 + byte;
  return value === requestId;
}

/** True once the agent on `port` answers a v2c GET for `community`. */
function probe(port: number, community: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createSocket('udp4');
    const requestId = randomInt(1, 0x7fffffff);
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      sock.close();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.on('message', (msg: Buffer) => {
      if (isResponseTo(msg, community, requestId)) done(true);
    });
    sock.once('error', () => done(false));
    sock.send(probePacket(community, requestId), port, '127.0.0.1');
  });
}

function v3UserLines(u: SnmpdV3User): string[] {
  const quoted = (v: string | undefined, what: string): string => {
    if (v === undefined || v.length < 8 || /["\r\n]/.test(v)) throw new Error(`snmpd ${what} of ${u.user}: 8+ characters, no quotes`);
    return `"${v}"`;
  };
  if (u.authProtocol === undefined) return [`createUser ${u.user}`, `rouser ${u.user} noauth`];
  const auth = `${u.authProtocol} ${quoted(u.authKey, 'authKey')}`;
  if (u.privProtocol === undefined) return [`createUser ${u.user} ${auth}`, `rouser ${u.user} auth`];
  return [`createUser ${u.user} ${auth} ${u.privProtocol} ${quoted(u.privKey, 'privKey')}`, `rouser ${u.user} priv`];
}

/**
 * Starts a real Net-SNMP `snmpd` on 127.0.0.1 (free UDP port, temp dir, persistent dir inside it) serving a
 * value table the test can change at run time. Resolves once the agent answers a v2c GET for a community only
 * it knows (so another agent already holding the port does not pass for it).
 */
export async function startSnmpd(options: SnmpdOptions = {}): Promise<SnmpdPeer> {
  const binary = findBinary('snmpd');
  if (binary === undefined) throw new Error('snmpd not installed');
  const community = options.community ?? 'public';
  const port = options.port ?? (await getFreeUdpPort());
  // A community only this agent knows, for the readiness probe: another snmpd already holding the port (ours
  // then exits with "Error opening specified endpoint") ignores it, so its answers cannot pass for ours.
  const readyCommunity = `er-ready-${randomBytes(8).toString('hex')}`;
  const dir = makeTempDir('snmpd');
  const persistDir = join(dir, 'persist');
  const tableFile = join(dir, 'snmp-table.txt');
  const handler = join(dir, 'handler.cjs');
  const logFile = join(dir, 'snmpd.log');
  const table = new Map<string, string>();
  const flush = (): void => {
    const tmp = `${tableFile}.tmp`;
    writeFileSync(tmp, [...table.entries()].map(([oid, rest]) => `${oid} ${rest}\n`).join(''));
    renameSync(tmp, tableFile);
  };
  const set = (oid: string, type: SnmpdValueType, value: string | number): void => {
    const v = String(value);
    if (/[\r\n]/.test(v)) throw new Error('snmpd values cannot contain newlines');
    table.set(normaliseOid(oid), `${type} ${v}`);
    flush();
  };
  const readLog = (): string => {
    try {
      return readFileSync(logFile, 'utf8');
    } catch {
      return '';
    }
  };
  let proc: ManagedProcess | undefined;
  const stop = async (): Promise<void> => {
    await proc?.stop();
    removeDir(dir);
  };

  try {
    mkdirSync(persistDir);
    writeFileSync(handler, `#!${process.execPath}\n${HANDLER_SOURCE}`);
    chmodSync(handler, 0o755);
    for (const [oid, type, value] of options.values ?? []) set(oid, type, value);
    flush();

    const lines = [
      `agentAddress udp:127.0.0.1:${port}`,
      `rocommunity ${community} 127.0.0.1`,
      `rocommunity ${readyCommunity} 127.0.0.1 .1.3.6.1.2.1.1.3`,
    ];
    const users = [...(options.v3User === undefined ? [] : [options.v3User]), ...(options.v3Users ?? [])];
    for (const u of users) lines.push(...v3UserLines(u));
    for (const subtree of options.subtrees ?? ['1.3.6.1.4.1']) lines.push(`pass_persist .${normaliseOid(subtree)} ${handler}`);
    const conf = join(dir, 'snmpd.conf');
    writeFileSync(conf, `${lines.join('\n')}\n`);

    const p = new ManagedProcess(binary, ['-f', '-C', '-c', conf, '-Lf', logFile], {
      cwd: dir,
      env: { ...process.env, SNMP_PERSISTENT_DIR: persistDir, MIBS: '', MIBDIRS: dir },
      logFile,
    });
    proc = p;
    await p.waitReady(() => probe(port, readyCommunity, 300), `snmpd on udp:127.0.0.1:${port} to answer a GET`, {
      timeoutMs: options.startTimeoutMs ?? 15_000,
      intervalMs: 50,
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    host: '127.0.0.1',
    port,
    set,
    remove(oid: string): void {
      table.delete(normaliseOid(oid));
      flush();
    },
    logs: readLog,
    stop,
  };
}
