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
function probePacket(community: string): Buffer {
  const varbind = tlv(0x30, [...berOid('1.3.6.1.2.1.1.3.0'), 0x05, 0x00]);
  const pdu = tlv(0xa0, [...berInt(4242), ...berInt(0), ...berInt(0), ...tlv(0x30, varbind)]);
  return Buffer.from(tlv(0x30, [...berInt(1), ...tlv(0x04, [...Buffer.from(community, 'utf8')]), ...pdu]));
}

function probe(port: number, community: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createSocket('udp4');
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      sock.close();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.once('message', () => done(true));
    sock.once('error', () => done(false));
    sock.send(probePacket(community), port, '127.0.0.1');
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
 * value table the test can change at run time. Resolves once the agent answers a GET.
 */
export async function startSnmpd(options: SnmpdOptions = {}): Promise<SnmpdPeer> {
  const binary = findBinary('snmpd');
  if (binary === undefined) throw new Error('snmpd not installed');
  const community = options.community ?? 'public';
  const dir = makeTempDir('snmpd');
  const persistDir = join(dir, 'persist');
  mkdirSync(persistDir);
  const port = options.port ?? (await getFreeUdpPort());
  const tableFile = join(dir, 'snmp-table.txt');
  const handler = join(dir, 'handler.cjs');
  writeFileSync(handler, `#!${process.execPath}\n${HANDLER_SOURCE}`);
  chmodSync(handler, 0o755);

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
  for (const [oid, type, value] of options.values ?? []) set(oid, type, value);
  flush();

  const lines = [`agentAddress udp:127.0.0.1:${port}`, `rocommunity ${community} 127.0.0.1`];
  const users = [...(options.v3User === undefined ? [] : [options.v3User]), ...(options.v3Users ?? [])];
  for (const u of users) lines.push(...v3UserLines(u));
  for (const subtree of options.subtrees ?? ['1.3.6.1.4.1']) lines.push(`pass_persist .${normaliseOid(subtree)} ${handler}`);
  const conf = join(dir, 'snmpd.conf');
  writeFileSync(conf, `${lines.join('\n')}\n`);
  const logFile = join(dir, 'snmpd.log');

  const proc = new ManagedProcess(binary, ['-f', '-C', '-c', conf, '-Lf', logFile], {
    cwd: dir,
    env: { ...process.env, SNMP_PERSISTENT_DIR: persistDir, MIBS: '', MIBDIRS: dir },
    logFile,
  });
  const readLog = (): string => {
    try {
      return readFileSync(logFile, 'utf8');
    } catch {
      return '';
    }
  };
  const stop = async (): Promise<void> => {
    await proc.stop();
    removeDir(dir);
  };
  try {
    await proc.waitReady(() => probe(port, community, 300), `snmpd on udp:127.0.0.1:${port} to answer a GET`, {
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
