import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import {
  CIPHER_SUITES,
  type CipherSuite,
  deriveKeys,
  type RakpInputs,
  rakp2AuthCode,
  rakp3AuthCode,
  rakp4Icv,
  sessionIntegrityKey,
} from '../../src/ipmi/internal/cipher-suite.js';
import { checksum, decodePacket, encodeV20Packet, PayloadType, type SessionSecurity } from '../../src/ipmi/internal/packet.js';

/** One datagram seen or sent by the fake BMC. */
export interface RecordedPacket {
  direction: 'in' | 'out';
  hex: string;
}

interface FakeSession {
  consoleSessionId: number;
  suite: CipherSuite;
  user?: { name: string; password: string };
  consoleRandom?: Buffer;
  bmcRandom?: Buffer;
  role?: number;
  security?: SessionSecurity;
  outSeq: number;
  /** Date.now() of the last packet received in this session. */
  lastActivityMs: number;
}

/**
 * "PS1 Input Power" as Debian's sdrcomp compiles it (Watts, y = 2x + 50), record id 1: the fake's only SDR. Its
 * name matches the Intel pattern of the manufacturer table, and the fake's Get Device ID says Intel (343).
 */
const SDR_PS1 = Buffer.from(
  '010051013a2000020a01000003010000000000000006000002000501010100000000ff000000000000000000000000cf50533120496e70757420506f776572',
  'hex',
);
const SDR_RESERVATION = 0x0042;

/**
 * A BMC speaking RMCP+ over UDP on 127.0.0.1, written from IPMI v2.0 §13 for tests: cipher suites 3 and 17,
 * Get Channel Auth Capabilities, Get Channel Cipher Suites, Set Session Privilege, Get Device ID, Close Session,
 * DCMI Get Power Reading, and one SDR power sensor (Reserve SDR Repository, Get SDR, Get Sensor Reading). It lets `ipmitool -C 17` (an independent implementation) and our client meet on
 * suite 17, which ipmi_sim does not offer.
 */
export class FakeBmc {
  readonly recorded: RecordedPacket[] = [];
  powerWatts = 250;
  /** DCMI "power measurement active" flag; false answers Get Power Reading with the measurement inactive. */
  dcmiActive = true;
  /** Raw byte of the SDR power sensor: it reports 2 × raw + 50 W. */
  sensorRaw = 100;
  /** Linearization code (§36.3) of the SDR power sensor's record; with 10 (sqrt) it reports √(2 × raw + 50) W. */
  sdrLinearization = 0;
  /** Get Sensor Reading says "reading unavailable" (ipmitool shows "no reading"), as a sensor still initializing. */
  sensorUnavailable = false;
  record = false;
  /** Drop every answer (a BMC that stopped answering). */
  silent = false;
  /** Ignore the next N datagrams entirely, as if the network lost them (the BMC keeps its sessions). */
  deafFor = 0;
  /** IANA manufacturer id in Get Device ID; 343 (Intel) matches the SDR sensor's name pattern, others match none. */
  manufacturerId = 343;
  /**
   * Answer a bridged (Send Message) request as BMCs that return the target's answer as a separate message do,
   * and send first a stale answer of the same command with another rqSeq, as a late answer to an earlier
   * request would arrive. The stale answer carries `powerWatts + 1000` W.
   */
  staleBridgedAnswer = false;
  /** Announce IPMI v2.0 in Get Channel Auth Capabilities; false plays an IPMI 1.5-only BMC (no sessions). */
  announceV20 = true;
  /**
   * Session inactivity timeout in ms (IPMI v2.0 §6.12.15, 60 s on real BMCs): a session that received nothing
   * for longer is forgotten, and its packets are ignored as a real BMC does. Unset: sessions never time out.
   */
  idleTimeoutMs: number | undefined = undefined;
  /** Clock of the idle timeout, epoch ms; tests replace it to skip time. */
  now: () => number = Date.now;
  /** Packets received for a session the fake does not know (never opened, closed, forgotten or timed out). */
  unknownSessionPackets = 0;
  /** Open Session requests accepted since the start. */
  sessionsOpened = 0;
  private socket: Socket | undefined;
  private readonly sessions = new Map<number, FakeSession>();
  private readonly guid = Buffer.from('0123456789abcdeffedcba9876543210', 'hex');
  private nextId = 0x1000;

  constructor(private readonly users: ReadonlyMap<string, string>) {}

  get sessionCount(): number {
    return this.sessions.size;
  }

  async start(): Promise<number> {
    const socket = createSocket('udp4');
    socket.on('message', (msg, rinfo) => {
      if (this.deafFor > 0) {
        this.deafFor--;
        return;
      }
      if (this.record) this.recorded.push({ direction: 'in', hex: msg.toString('hex') });
      const answers = this.handle(msg);
      if (answers === undefined || this.silent) return;
      for (const answer of Array.isArray(answers) ? answers : [answers]) {
        if (this.record) this.recorded.push({ direction: 'out', hex: answer.toString('hex') });
        socket.send(answer, rinfo.port, rinfo.address);
      }
    });
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
    this.socket = socket;
    const addr = socket.address();
    return addr.port;
  }

  async stop(): Promise<void> {
    const s = this.socket;
    this.socket = undefined;
    if (s !== undefined) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  /** Forgets every session, as a BMC reboot does. */
  forgetSessions(): void {
    this.sessions.clear();
  }

  private handle(msg: Buffer): Buffer | Buffer[] | undefined {
    if (msg.length < 14 || msg[0] !== 0x06 || msg[3] !== 0x07) return undefined;
    if (msg[4] === 0x00) {
      const len = msg[13] ?? 0;
      const rsp = this.command(msg.subarray(14, 14 + len), undefined);
      if (rsp === undefined) return undefined;
      const head = Buffer.from([0x06, 0x00, 0xff, 0x07, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, rsp.length]);
      return Buffer.concat([head, rsp]);
    }
    const sessionId = msg.readUInt32LE(6);
    let session = this.sessions.get(sessionId);
    if (session !== undefined && this.idleTimeoutMs !== undefined && this.now() - session.lastActivityMs > this.idleTimeoutMs) {
      this.sessions.delete(sessionId);
      session = undefined;
    }
    if (session !== undefined) session.lastActivityMs = this.now();
    else if (sessionId !== 0) this.unknownSessionPackets++;
    let packet;
    try {
      packet = decodePacket(msg, session?.security);
    } catch {
      return undefined;
    }
    const reply = (type: number, payload: Buffer, s?: FakeSession): Buffer => {
      if (s?.security === undefined) {
        return encodeV20Packet({ payloadType: type, sessionId: 0, sequence: 0, payload }, undefined);
      }
      s.outSeq++;
      return encodeV20Packet({ payloadType: type, sessionId: s.consoleSessionId, sequence: s.outSeq, payload }, s.security);
    };
    switch (packet.payloadType) {
      case PayloadType.IPMI: {
        if (sessionId === 0) {
          const rsp = this.command(packet.payload, undefined);
          return rsp === undefined ? undefined : reply(PayloadType.IPMI, rsp);
        }
        if (session?.security === undefined || !packet.authenticated || !packet.encrypted) return undefined;
        if (this.staleBridgedAnswer && ((packet.payload[1] ?? 0) >> 2) === 0x06 && packet.payload[5] === 0x34) {
          return this.bridged(packet.payload, sessionId).map((frame) => reply(PayloadType.IPMI, frame, session));
        }
        const rsp = this.command(packet.payload, sessionId);
        return rsp === undefined ? undefined : reply(PayloadType.IPMI, rsp, session);
      }
      case PayloadType.OPEN_SESSION_REQUEST:
        return reply(PayloadType.OPEN_SESSION_RESPONSE, this.openSession(packet.payload));
      case PayloadType.RAKP1:
        return reply(PayloadType.RAKP2, this.rakp1(packet.payload));
      case PayloadType.RAKP3:
        return this.rakp3(packet.payload, reply);
      default:
        return undefined;
    }
  }

  private openSession(p: Buffer): Buffer {
    const tag = p[0] ?? 0;
    const consoleSessionId = p.readUInt32LE(4);
    const auth = (p[12] ?? 0) & 0x3f;
    const integrity = (p[20] ?? 0) & 0x3f;
    const conf = (p[28] ?? 0) & 0x3f;
    const suite = Object.values(CIPHER_SUITES).find(
      (s) => s.authAlgorithm === auth && s.integrityAlgorithm === integrity && s.confidentialityAlgorithm === conf,
    );
    if (suite === undefined) return Buffer.from([tag, 0x11, 0, 0, 0, 0, 0, 0]);
    const bmcSessionId = this.nextId++;
    this.sessionsOpened++;
    this.sessions.set(bmcSessionId, { consoleSessionId, suite, outSeq: 0, lastActivityMs: this.now() });
    const out = Buffer.alloc(36);
    out[0] = tag;
    out[2] = 4;
    out.writeUInt32LE(consoleSessionId, 4);
    out.writeUInt32LE(bmcSessionId, 8);
    out.set([0x00, 0, 0, 8, suite.authAlgorithm, 0, 0, 0], 12);
    out.set([0x01, 0, 0, 8, suite.integrityAlgorithm, 0, 0, 0], 20);
    out.set([0x02, 0, 0, 8, suite.confidentialityAlgorithm, 0, 0, 0], 28);
    return out;
  }

  private inputs(s: FakeSession, bmcSessionId: number): RakpInputs {
    return {
      consoleSessionId: s.consoleSessionId,
      bmcSessionId,
      consoleRandom: s.consoleRandom ?? Buffer.alloc(16),
      bmcRandom: s.bmcRandom ?? Buffer.alloc(16),
      bmcGuid: this.guid,
      role: s.role ?? 0,
      userName: Buffer.from(s.user?.name ?? '', 'utf8'),
    };
  }

  private rakp1(p: Buffer): Buffer {
    const tag = p[0] ?? 0;
    const bmcSessionId = p.readUInt32LE(4);
    const s = this.sessions.get(bmcSessionId);
    if (s === undefined) return Buffer.from([tag, 0x02, 0, 0, 0, 0, 0, 0]);
    const name = p.subarray(28, 28 + (p[27] ?? 0)).toString('utf8');
    const password = this.users.get(name);
    const head = Buffer.alloc(8);
    head[0] = tag;
    head.writeUInt32LE(s.consoleSessionId, 4);
    if (password === undefined) {
      head[1] = 0x0d;
      this.sessions.delete(bmcSessionId);
      return head;
    }
    s.user = { name, password };
    s.consoleRandom = Buffer.from(p.subarray(8, 24));
    s.role = p[24] ?? 0;
    s.bmcRandom = randomBytes(16);
    const code = rakp2AuthCode(s.suite, Buffer.from(password), this.inputs(s, bmcSessionId));
    return Buffer.concat([head, s.bmcRandom, this.guid, code]);
  }

  private rakp3(p: Buffer, reply: (type: number, payload: Buffer) => Buffer): Buffer | undefined {
    const tag = p[0] ?? 0;
    const bmcSessionId = p.readUInt32LE(4);
    const s = this.sessions.get(bmcSessionId);
    if (s?.user === undefined) return reply(PayloadType.RAKP4, Buffer.from([tag, 0x02, 0, 0, 0, 0, 0, 0]));
    const head = Buffer.alloc(8);
    head[0] = tag;
    head.writeUInt32LE(s.consoleSessionId, 4);
    const inputs = this.inputs(s, bmcSessionId);
    const kuid = Buffer.from(s.user.password);
    if ((p[1] ?? 0) !== 0 || !rakp3AuthCode(s.suite, kuid, inputs).equals(p.subarray(8))) {
      this.sessions.delete(bmcSessionId);
      head[1] = 0x0f;
      return reply(PayloadType.RAKP4, head);
    }
    const sik = sessionIntegrityKey(s.suite, kuid, inputs);
    const keys = deriveKeys(s.suite, sik);
    const answer = reply(PayloadType.RAKP4, Buffer.concat([head, rakp4Icv(s.suite, sik, inputs)]));
    s.security = { suite: s.suite, k1: keys.k1, aesKey: keys.aesKey };
    return answer;
  }

  /**
   * Send Message (§22.7) with tracking: an empty acknowledgement, then the target's answer as its own message
   * (answered by this fake as if it were the target), preceded by a stale one with another rqSeq.
   */
  private bridged(frame: Buffer, sessionId: number): Buffer[] {
    const ack = this.command(frame, sessionId) ?? Buffer.alloc(0);
    const inner = Buffer.from(frame.subarray(7, frame.length - 1));
    const answer = this.command(inner, sessionId);
    const stale = Buffer.from(inner);
    stale[4] = ((((stale[4] ?? 0) >> 2) + 1) & 0x3f) << 2;
    this.powerWatts += 1000;
    const staleAnswer = this.command(stale, sessionId);
    this.powerWatts -= 1000;
    return [ack, staleAnswer, answer].filter((b): b is Buffer => b !== undefined);
  }

  /** Answers one IPMI request frame; `sessionId` is undefined outside a session. */
  private command(frame: Buffer, sessionId: number | undefined): Buffer | undefined {
    if (frame.length < 7) return undefined;
    const netFn = (frame[1] ?? 0) >> 2;
    const cmd = frame[5] ?? 0;
    const data = frame.subarray(6, frame.length - 1);
    let body: number[];
    if (netFn === 0x06 && cmd === 0x38) body = [0x00, 0x01, 0x80 | 0x14, 0x04, this.announceV20 ? 0x02 : 0x01, 0, 0, 0, 0];
    else if (netFn === 0x06 && cmd === 0x54) {
      // One record per suite: start C0h, id, auth, integrity (40h|n), confidentiality (80h|n).
      const records = [0xc0, 3, 0x01, 0x41, 0x81, 0xc0, 17, 0x03, 0x44, 0x81];
      const index = (data[2] ?? 0) & 0x3f;
      body = [0x00, 0x01, ...records.slice(index * 16, index * 16 + 16)];
    } else if (sessionId === undefined) body = [0xd4];
    else if (netFn === 0x06 && cmd === 0x3b) body = [0x00, (data[0] ?? 0) === 0 ? 4 : (data[0] ?? 0)];
    else if (netFn === 0x06 && cmd === 0x3c) {
      this.sessions.delete(sessionId);
      body = [0x00];
    } else if (netFn === 0x06 && cmd === 0x01) {
      const m = this.manufacturerId;
      body = [0x00, 0x20, 0x01, 0x02, 0x10, 0x02, 0xbf, m & 0xff, (m >> 8) & 0xff, (m >> 16) & 0x0f, 0x34, 0x12];
    } else if (netFn === 0x06 && cmd === 0x34) body = [0x00];
    else if (netFn === 0x2c && cmd === 0x02 && data[0] === 0xdc) {
      const b = Buffer.alloc(19);
      b[1] = 0xdc;
      for (const off of [2, 4, 6, 8]) b.writeUInt16LE(this.powerWatts, off);
      b.writeUInt32LE(Math.floor(Date.now() / 1000), 10);
      b.writeUInt32LE(1000, 14);
      b[18] = this.dcmiActive ? 0x40 : 0x00;
      body = [...b];
    } else if (netFn === 0x0a && cmd === 0x20) {
      // Get SDR Repository Info (ipmitool asks first): version 51h, one record, no free space, no timestamps.
      body = [0x00, 0x51, 0x01, 0x00, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0x02];
    } else if (netFn === 0x0a && cmd === 0x22) body = [0x00, SDR_RESERVATION & 0xff, SDR_RESERVATION >> 8];
    else if (netFn === 0x0a && cmd === 0x23) {
      // Get SDR: reservation (2), record id (2), offset, bytes to read; the next record id FFFFh ends the walk.
      const offset = data[4] ?? 0;
      const length = data[5] ?? 0;
      if (data.readUInt16LE(0) !== SDR_RESERVATION) body = [0xc5];
      else if (data.readUInt16LE(2) > 1) body = [0xcb];
      else {
        const record = Buffer.from(SDR_PS1);
        record[23] = this.sdrLinearization & 0x7f;
        body = [0x00, 0xff, 0xff, ...record.subarray(offset, offset + length)];
      }
    } else if (netFn === 0x04 && cmd === 0x2d && data[0] === 2) {
      // Byte 2: scanning enabled (bit 6), and bit 5 "reading unavailable" when sensorUnavailable.
      body = [0x00, this.sensorRaw & 0xff, this.sensorUnavailable ? 0x60 : 0x40, 0x00];
    }
    else body = [0xc1];
    if (netFn === 0x2c && body.length === 1) body.push(0xdc);
    const out = Buffer.alloc(7 + body.length);
    out[0] = frame[3] ?? 0x81;
    out[1] = ((netFn | 1) << 2) | ((frame[4] ?? 0) & 0x03);
    out[2] = checksum(out, 0, 2);
    out[3] = frame[0] ?? 0x20;
    out[4] = ((frame[4] ?? 0) & 0xfc) | ((frame[1] ?? 0) & 0x03);
    out[5] = cmd;
    out.set(body, 6);
    out[out.length - 1] = checksum(out, 3, out.length - 1);
    return out;
  }
}
