import { createHash } from 'node:crypto';
import { type CipherSuite, decryptPayload, encryptPayload, packetAuthCode } from './cipher-suite.js';
import { errorMessage } from '../../internal/device-support.js';

/** RMCP header for IPMI class messages, no RMCP ACK (ASF/RMCP §3.2.2.2, IPMI v2.0 §13.1.3). */
export const RMCP_HEADER = Buffer.from([0x06, 0x00, 0xff, 0x07]);

/** RMCP+ payload types (IPMI v2.0 §13.27.3). */
export const PayloadType = Object.freeze({
  IPMI: 0x00,
  OPEN_SESSION_REQUEST: 0x10,
  OPEN_SESSION_RESPONSE: 0x11,
  RAKP1: 0x12,
  RAKP2: 0x13,
  RAKP3: 0x14,
  RAKP4: 0x15,
});

/** Address the remote console uses as requester on the LAN channel (IPMI v2.0 §13.8, "software ID 81h"). */
export const CONSOLE_SWID = 0x81;
/** IPMB slave address of the BMC. */
export const BMC_ADDRESS = 0x20;

/** Two's complement checksum of IPMB/LAN messages (IPMI v2.0 §13.8). */
export function checksum(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let sum = 0;
  for (let i = start; i < end; i++) sum = (sum + (bytes[i] ?? 0)) & 0xff;
  return (0x100 - sum) & 0xff;
}

/** One IPMI request as it is framed inside a session (rsAddr/rqAddr addressing). */
export interface IpmiRequest {
  netFn: number;
  cmd: number;
  data: Uint8Array;
  rsAddr?: number;
  rsLun?: number;
  rqAddr?: number;
  rqLun?: number;
  /** 6-bit request sequence number, used to pair answers with requests. */
  rqSeq: number;
}

/** One decoded IPMI response. */
export interface IpmiResponse {
  netFn: number;
  cmd: number;
  rqSeq: number;
  rsAddr: number;
  rqAddr: number;
  completionCode: number;
  /** Response data after the completion code. */
  data: Buffer;
}

/** Frames an IPMI request: rsAddr, netFn/rsLUN, chk1, rqAddr, rqSeq/rqLUN, cmd, data, chk2. */
export function encodeIpmiRequest(req: IpmiRequest): Buffer {
  const out = Buffer.alloc(7 + req.data.length);
  out[0] = req.rsAddr ?? BMC_ADDRESS;
  out[1] = ((req.netFn & 0x3f) << 2) | ((req.rsLun ?? 0) & 0x03);
  out[2] = checksum(out, 0, 2);
  out[3] = req.rqAddr ?? CONSOLE_SWID;
  out[4] = ((req.rqSeq & 0x3f) << 2) | ((req.rqLun ?? 0) & 0x03);
  out[5] = req.cmd;
  out.set(req.data, 6);
  out[out.length - 1] = checksum(out, 3, out.length - 1);
  return out;
}

/** Decodes an IPMI response frame; throws on short frames or bad checksums. */
export function decodeIpmiResponse(frame: Uint8Array): IpmiResponse {
  if (frame.length < 8) throw new Error(`IPMI response of ${frame.length} bytes is too short`);
  if (checksum(frame, 0, 2) !== frame[2]) throw new Error('IPMI response header checksum mismatch');
  if (checksum(frame, 3, frame.length - 1) !== frame[frame.length - 1]) {
    throw new Error('IPMI response data checksum mismatch');
  }
  const b = Buffer.from(frame.buffer, frame.byteOffset, frame.length);
  return {
    rqAddr: b[0] ?? 0,
    netFn: (b[1] ?? 0) >> 2,
    rsAddr: b[3] ?? 0,
    rqSeq: (b[4] ?? 0) >> 2,
    cmd: b[5] ?? 0,
    completionCode: b[6] ?? 0,
    data: Buffer.from(b.subarray(7, b.length - 1)),
  };
}

/**
 * Wraps `inner` (a request for a controller behind the BMC) in a Send Message request with tracking
 * (IPMI v2.0 §22.7, §6.12.1): the BMC forwards it on `channel` and relays the answer.
 */
export function encodeBridgedRequest(
  inner: { netFn: number; cmd: number; data: Uint8Array; targetAddress: number; targetLun?: number },
  channel: number,
  rqSeq: number,
): IpmiRequest {
  const ipmb = encodeIpmiRequest({
    netFn: inner.netFn,
    cmd: inner.cmd,
    data: inner.data,
    rsAddr: inner.targetAddress,
    rsLun: inner.targetLun ?? 0,
    rqAddr: BMC_ADDRESS,
    rqSeq,
  });
  return {
    netFn: 0x06,
    cmd: 0x34,
    data: Buffer.concat([Buffer.from([0x40 | (channel & 0x0f)]), ipmb]),
    rqSeq,
  };
}

/**
 * Extracts the embedded IPMB answer from a Send Message response. BMCs differ: some return it inside the Send
 * Message response data, others as a separate message; both start with the requester address and carry their
 * own checksums, which is what is checked here.
 */
export function decodeBridgedResponse(outer: IpmiResponse): IpmiResponse | undefined {
  if (outer.netFn !== 0x07 || outer.cmd !== 0x34 || outer.data.length < 8) return undefined;
  return decodeIpmiResponse(outer.data);
}

/** Unsecured IPMI v1.5 session wrapper (auth type NONE, session 0), used for Get Channel Auth Capabilities. */
export function encodeV15Packet(ipmiMessage: Uint8Array, md5?: V15Md5): Buffer {
  if (md5 === undefined) {
    const head = Buffer.alloc(10);
    head[9] = ipmiMessage.length;
    return Buffer.concat([RMCP_HEADER, head, ipmiMessage]);
  }
  const head = Buffer.alloc(26);
  head[0] = 0x02;
  head.writeUInt32LE(md5.sequence >>> 0, 1);
  head.writeUInt32LE(md5.sessionId >>> 0, 5);
  v15AuthCode(md5.password, md5.sessionId, ipmiMessage, md5.sequence).copy(head, 9);
  head[25] = ipmiMessage.length;
  return Buffer.concat([RMCP_HEADER, head, ipmiMessage]);
}

/** What an MD5-authenticated IPMI v1.5 packet needs. */
export interface V15Md5 {
  /** Password zero-padded to 16 bytes. */
  password: Buffer;
  sessionId: number;
  sequence: number;
}

/** IPMI v1.5 MD5 AuthCode (§22.17.1): MD5(password, session id, message, session sequence, password). */
export function v15AuthCode(password16: Buffer, sessionId: number, message: Uint8Array, sequence: number): Buffer {
  const id = Buffer.alloc(4);
  id.writeUInt32LE(sessionId >>> 0, 0);
  const seq = Buffer.alloc(4);
  seq.writeUInt32LE(sequence >>> 0, 0);
  return createHash('md5').update(password16).update(id).update(message).update(seq).update(password16).digest();
}

/** Session state needed to frame IPMI v2.0 packets. */
export interface SessionSecurity {
  suite: CipherSuite;
  k1: Buffer;
  aesKey: Buffer;
}

/** What an IPMI v2.0 packet carries. */
export interface V20Packet {
  payloadType: number;
  encrypted: boolean;
  authenticated: boolean;
  sessionId: number;
  sequence: number;
  payload: Buffer;
  /** MD5 AuthCode of an IPMI v1.5 packet, checked by the session. */
  v15AuthCode?: Buffer;
}

/**
 * Frames an IPMI v2.0/RMCP+ packet (§13.6): RMCP header, auth type 06h, payload type, session id, sequence,
 * length, payload; when authenticated, the integrity pad (FFh to a 4-byte boundary), pad length, next header
 * 07h and the truncated HMAC over everything after the RMCP header.
 */
export function encodeV20Packet(
  p: Omit<V20Packet, 'encrypted' | 'authenticated'>,
  security: SessionSecurity | undefined,
  iv?: Buffer,
): Buffer {
  const payload = security === undefined ? p.payload : encryptPayload(security.aesKey, p.payload, iv);
  const head = Buffer.alloc(12);
  head[0] = 0x06;
  head[1] = (p.payloadType & 0x3f) | (security === undefined ? 0 : 0xc0);
  head.writeUInt32LE(p.sessionId >>> 0, 2);
  head.writeUInt32LE(p.sequence >>> 0, 6);
  head.writeUInt16LE(payload.length, 10);
  if (security === undefined) return Buffer.concat([RMCP_HEADER, head, payload]);
  const unpadded = head.length + payload.length + 2;
  const padLength = (4 - (unpadded % 4)) % 4;
  const trailer = Buffer.alloc(padLength + 2, 0xff);
  trailer[padLength] = padLength;
  trailer[padLength + 1] = 0x07;
  const signed = Buffer.concat([head, payload, trailer]);
  return Buffer.concat([RMCP_HEADER, signed, packetAuthCode(security.suite, security.k1, signed)]);
}

/** Raised for packets that are not for us or fail their integrity check. */
export class PacketError extends Error {}

/**
 * Parses an IPMI v2.0 packet, checking its AuthCode and decrypting the payload when `security` is given and the
 * packet says it is authenticated/encrypted. IPMI v1.5 packets (auth type ≠ 06h) are returned as payload type
 * IPMI with session fields from the v1.5 header.
 */
export function decodePacket(buf: Uint8Array, security: SessionSecurity | undefined): V20Packet {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  if (b.length < 14 || b[0] !== 0x06 || b[3] !== 0x07) throw new PacketError('not an RMCP IPMI packet');
  const authType = b[4] ?? 0;
  if (authType !== 0x06) {
    if (authType !== 0x00 && authType !== 0x02) throw new PacketError(`unsupported IPMI v1.5 auth type ${authType}`);
    const codeLength = authType === 0x02 ? 16 : 0;
    const len = b[13 + codeLength] ?? 0;
    const start = 14 + codeLength;
    if (b.length < start + len) throw new PacketError('truncated IPMI v1.5 packet');
    return {
      payloadType: PayloadType.IPMI,
      encrypted: false,
      authenticated: codeLength > 0,
      sequence: b.readUInt32LE(5),
      sessionId: b.readUInt32LE(9),
      payload: Buffer.from(b.subarray(start, start + len)),
      v15AuthCode: codeLength > 0 ? Buffer.from(b.subarray(13, 29)) : undefined,
    };
  }
  if (b.length < 16) throw new PacketError('truncated IPMI v2.0 header');
  const typeByte = b[5] ?? 0;
  const encrypted = (typeByte & 0x80) !== 0;
  const authenticated = (typeByte & 0x40) !== 0;
  const sessionId = b.readUInt32LE(6);
  const sequence = b.readUInt32LE(10);
  const len = b.readUInt16LE(14);
  if (b.length < 16 + len) throw new PacketError('truncated IPMI v2.0 payload');
  let payload: Buffer = Buffer.from(b.subarray(16, 16 + len));
  if (authenticated) {
    if (security === undefined) throw new PacketError('authenticated packet outside a session');
    const codeStart = b.length - security.suite.authCodeLength;
    const expected = packetAuthCode(security.suite, security.k1, b.subarray(4, codeStart));
    if (codeStart < 16 + len || !expected.equals(b.subarray(codeStart))) {
      throw new PacketError('packet integrity check failed');
    }
  }
  if (encrypted) {
    if (security === undefined) throw new PacketError('encrypted packet outside a session');
    try {
      payload = decryptPayload(security.aesKey, payload);
    } catch (err) {
      throw new PacketError(`cannot decrypt payload: ${errorMessage(err)}`);
    }
  }
  return { payloadType: typeByte & 0x3f, encrypted, authenticated, sessionId, sequence, payload };
}
