import { createSocket } from 'node:dgram';

/**
 * A small SNMP v1/v2c agent on 127.0.0.1 for what snmpd cannot be told to do: answer tooBig (error-status 1) to
 * every GET with more than `maxVarbinds` OIDs, or to any GET holding an OID whose value is "too large". It
 * decodes and encodes BER itself (RFC 3416 message layout) and records the size of every GET it receives.
 */
export interface FakeSnmpAgent {
  readonly host: string;
  port: number;
  /** OIDs per GET, one entry per GET received, in order. */
  readonly requests: readonly number[];
  /** While true the agent drops every datagram unanswered, as an agent that went away. */
  silent: boolean;
  /** Largest GET answered from now on (starts as the option's value). */
  maxVarbinds: number;
  close(): Promise<void>;
}

/** Options of {@link startFakeSnmpAgent}. */
export interface FakeSnmpAgentOptions {
  /** Integer values served, by numeric OID (no leading dot). Others answer noSuchObject (v2c) / noSuchName (v1). */
  values: ReadonlyMap<string, number>;
  /** Largest GET answered; a larger one gets tooBig. */
  maxVarbinds: number;
  /** OIDs whose value never fits: a GET holding one of them gets tooBig whatever its size. */
  oversized?: ReadonlySet<string>;
}

const TAG_INTEGER = 0x02;
const TAG_OCTET_STRING = 0x04;
const TAG_NULL = 0x05;
const TAG_OID = 0x06;
const TAG_SEQUENCE = 0x30;
const TAG_GAUGE32 = 0x42;
const TAG_GET_REQUEST = 0xa0;
const TAG_RESPONSE = 0xa2;
const TAG_NO_SUCH_OBJECT = 0x80;
const STATUS_TOO_BIG = 1;
const STATUS_NO_SUCH_NAME = 2;

interface Tlv {
  tag: number;
  /** The whole element, header included. */
  raw: Buffer;
  content: Buffer;
}

/** Reads the BER elements laid end to end in `buf` (definite lengths only, as SNMP uses). */
function readAll(buf: Buffer): Tlv[] {
  const out: Tlv[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const start = pos;
    const tag = buf[pos++] ?? 0;
    let len = buf[pos++] ?? 0;
    if (len & 0x80) {
      const n = len & 0x7f;
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + (buf[pos++] ?? 0);
    }
    if (pos + len > buf.length) throw new Error('truncated BER element');
    out.push({ tag, raw: buf.subarray(start, pos + len), content: buf.subarray(pos, pos + len) });
    pos += len;
  }
  return out;
}

function element(tag: number, content: Buffer): Buffer {
  const n = content.length;
  const header = n < 0x80 ? [tag, n] : n < 0x100 ? [tag, 0x81, n] : [tag, 0x82, n >> 8, n & 0xff];
  return Buffer.concat([Buffer.from(header), content]);
}

function unsigned(tag: number, value: number): Buffer {
  const bytes: number[] = [];
  let v = value;
  do {
    bytes.unshift(v & 0xff);
    v = Math.floor(v / 256);
  } while (v > 0);
  if ((bytes[0] ?? 0) & 0x80) bytes.unshift(0);
  return element(tag, Buffer.from(bytes));
}

function decodeOid(content: Buffer): string {
  const first = content[0] ?? 0;
  const arcs = [Math.floor(first / 40), first % 40];
  let arc = 0;
  for (const byte of content.subarray(1)) {
    arc = arc * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) {
      arcs.push(arc);
      arc = 0;
    }
  }
  return arcs.join('.');
}

function child(parent: readonly Tlv[], index: number, tag: number): Tlv {
  const el = parent[index];
  if (el === undefined || el.tag !== tag) throw new Error(`expected tag 0x${tag.toString(16)} at ${index}`);
  return el;
}

/** The response to one datagram, or undefined for anything but a v1/v2c GET. */
function answer(datagram: Buffer, options: FakeSnmpAgentOptions, requests: number[]): Buffer | undefined {
  const [message] = readAll(datagram);
  if (message === undefined || message.tag !== TAG_SEQUENCE) return undefined;
  const parts = readAll(message.content);
  const version = child(parts, 0, TAG_INTEGER);
  const community = child(parts, 1, TAG_OCTET_STRING);
  const pdu = parts[2];
  if (pdu === undefined || pdu.tag !== TAG_GET_REQUEST) return undefined;
  const v1 = version.content[0] === 0;
  const fields = readAll(pdu.content);
  const requestId = child(fields, 0, TAG_INTEGER);
  const varbinds = readAll(child(fields, 3, TAG_SEQUENCE).content).map((vb) => child(readAll(vb.content), 0, TAG_OID));
  requests.push(varbinds.length);

  const respond = (status: number, index: number, bindings: readonly Buffer[]): Buffer =>
    element(
      TAG_SEQUENCE,
      Buffer.concat([
        version.raw,
        community.raw,
        element(
          TAG_RESPONSE,
          Buffer.concat([requestId.raw, unsigned(TAG_INTEGER, status), unsigned(TAG_INTEGER, index), element(TAG_SEQUENCE, Buffer.concat(bindings))]),
        ),
      ]),
    );
  const echo = varbinds.map((oid) => element(TAG_SEQUENCE, Buffer.concat([oid.raw, Buffer.from([TAG_NULL, 0])])));

  const oids = varbinds.map((oid) => decodeOid(oid.content));
  if (varbinds.length > options.maxVarbinds || oids.some((o) => options.oversized?.has(o) === true)) {
    // RFC 3416 §4.2.1: tooBig, error-index 0 and an empty variable-bindings list; RFC 1157 echoes the request's.
    return respond(STATUS_TOO_BIG, 0, v1 ? echo : []);
  }
  const missing = oids.findIndex((o) => !options.values.has(o));
  if (v1 && missing >= 0) return respond(STATUS_NO_SUCH_NAME, missing + 1, echo);
  const bindings = varbinds.map((oid, i) => {
    const value = options.values.get(oids[i] ?? '');
    const encoded = value === undefined ? Buffer.from([TAG_NO_SUCH_OBJECT, 0]) : unsigned(TAG_GAUGE32, value);
    return element(TAG_SEQUENCE, Buffer.concat([oid.raw, encoded]));
  });
  return respond(0, 0, bindings);
}

/** Starts a {@link FakeSnmpAgent} on a free UDP port of 127.0.0.1. */
export async function startFakeSnmpAgent(options: FakeSnmpAgentOptions): Promise<FakeSnmpAgent> {
  const sock = createSocket('udp4');
  const requests: number[] = [];
  const live: FakeSnmpAgentOptions = { ...options };
  const agent: FakeSnmpAgent = {
    host: '127.0.0.1',
    port: 0,
    requests,
    silent: false,
    get maxVarbinds() {
      return live.maxVarbinds;
    },
    set maxVarbinds(n: number) {
      live.maxVarbinds = n;
    },
    close: () => new Promise<void>((resolve) => sock.close(() => resolve())),
  };
  sock.on('message', (msg, rinfo) => {
    if (agent.silent) return;
    let reply: Buffer | undefined;
    try {
      reply = answer(msg, live, requests);
    } catch {
      // Not a message this fake understands: stay silent, as an agent does.
      return;
    }
    if (reply !== undefined) sock.send(reply, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', () => resolve()));
  agent.port = sock.address().port;
  return agent;
}
