import type { CipherSuite } from './cipher-suite.js';

/** RMCP+ status codes (IPMI v2.0 §13.24, table 13-15) that deserve their own message. */
export const RMCP_STATUS_TEXT: Readonly<Record<number, string>> = Object.freeze({
  0x01: 'insufficient resources to create a session',
  0x02: 'invalid session id',
  0x03: 'invalid payload type',
  0x04: 'invalid authentication algorithm',
  0x05: 'invalid integrity algorithm',
  0x06: 'no matching authentication payload',
  0x07: 'no matching integrity payload',
  0x08: 'inactive session id',
  0x09: 'invalid role',
  0x0a: 'unauthorized role or privilege level requested',
  0x0b: 'insufficient resources to create a session at the requested role',
  0x0c: 'invalid name length',
  0x0d: 'unauthorized name',
  0x0e: 'unauthorized GUID',
  0x0f: 'invalid integrity check value',
  0x10: 'invalid confidentiality algorithm',
  0x11: 'no cipher suite match with proposed security algorithms',
  0x12: 'illegal or unrecognized parameter',
});

/** Open Session Request payload (§13.17). `maxPrivilege` 0 asks for the highest the user may have. */
export function encodeOpenSessionRequest(
  messageTag: number,
  consoleSessionId: number,
  maxPrivilege: number,
  suite: CipherSuite,
): Buffer {
  const b = Buffer.alloc(32);
  b[0] = messageTag;
  b[1] = maxPrivilege & 0x0f;
  b.writeUInt32LE(consoleSessionId >>> 0, 4);
  const algo = (offset: number, type: number, alg: number): void => {
    b[offset] = type;
    b[offset + 3] = 0x08;
    b[offset + 4] = alg;
  };
  algo(8, 0x00, suite.authAlgorithm);
  algo(16, 0x01, suite.integrityAlgorithm);
  algo(24, 0x02, suite.confidentialityAlgorithm);
  return b;
}

/** Open Session Response payload (§13.18). */
export interface OpenSessionResponse {
  messageTag: number;
  status: number;
  maxPrivilege: number;
  consoleSessionId: number;
  bmcSessionId: number;
  authAlgorithm: number;
  integrityAlgorithm: number;
  confidentialityAlgorithm: number;
}

export function decodeOpenSessionResponse(p: Buffer): OpenSessionResponse {
  const status = p[1] ?? 0xff;
  // On error some BMCs (ipmi_sim) send only the tag and the status.
  if (p.length < 8 && !(p.length >= 2 && status !== 0)) {
    throw new Error(`Open Session Response of ${p.length} bytes is too short`);
  }
  const base = {
    messageTag: p[0] ?? 0,
    status,
    maxPrivilege: (p[2] ?? 0) & 0x0f,
    consoleSessionId: p.length >= 8 ? p.readUInt32LE(4) : 0,
    bmcSessionId: 0,
    authAlgorithm: 0,
    integrityAlgorithm: 0,
    confidentialityAlgorithm: 0,
  };
  // On error the BMC may stop after the console session id.
  if (status !== 0 || p.length < 36) return base;
  return {
    ...base,
    bmcSessionId: p.readUInt32LE(8),
    authAlgorithm: (p[16] ?? 0) & 0x3f,
    integrityAlgorithm: (p[24] ?? 0) & 0x3f,
    confidentialityAlgorithm: (p[32] ?? 0) & 0x3f,
  };
}

/** RAKP Message 1 (§13.20). `role` includes the name-only lookup bit (10h). */
export function encodeRakp1(
  messageTag: number,
  bmcSessionId: number,
  consoleRandom: Uint8Array,
  role: number,
  userName: Uint8Array,
): Buffer {
  const b = Buffer.alloc(28 + userName.length);
  b[0] = messageTag;
  b.writeUInt32LE(bmcSessionId >>> 0, 4);
  b.set(consoleRandom, 8);
  b[24] = role;
  b[27] = userName.length;
  b.set(userName, 28);
  return b;
}

/** RAKP Message 2 (§13.21). */
export interface Rakp2 {
  messageTag: number;
  status: number;
  consoleSessionId: number;
  bmcRandom: Buffer;
  bmcGuid: Buffer;
  authCode: Buffer;
}

export function decodeRakp2(p: Buffer): Rakp2 {
  const status = p[1] ?? 0xff;
  if (p.length < 8 && !(p.length >= 2 && status !== 0)) throw new Error(`RAKP 2 of ${p.length} bytes is too short`);
  const consoleSessionId = p.length >= 8 ? p.readUInt32LE(4) : 0;
  if (status !== 0 || p.length < 40) {
    return {
      messageTag: p[0] ?? 0,
      status,
      consoleSessionId,
      bmcRandom: Buffer.alloc(0),
      bmcGuid: Buffer.alloc(0),
      authCode: Buffer.alloc(0),
    };
  }
  return {
    messageTag: p[0] ?? 0,
    status,
    consoleSessionId,
    bmcRandom: Buffer.from(p.subarray(8, 24)),
    bmcGuid: Buffer.from(p.subarray(24, 40)),
    authCode: Buffer.from(p.subarray(40)),
  };
}

/** RAKP Message 3 (§13.22). */
export function encodeRakp3(messageTag: number, status: number, bmcSessionId: number, authCode: Uint8Array): Buffer {
  const b = Buffer.alloc(8 + authCode.length);
  b[0] = messageTag;
  b[1] = status;
  b.writeUInt32LE(bmcSessionId >>> 0, 4);
  b.set(authCode, 8);
  return b;
}

/** RAKP Message 4 (§13.23). */
export interface Rakp4 {
  messageTag: number;
  status: number;
  consoleSessionId: number;
  icv: Buffer;
}

export function decodeRakp4(p: Buffer): Rakp4 {
  const status = p[1] ?? 0xff;
  if (p.length < 8 && !(p.length >= 2 && status !== 0)) throw new Error(`RAKP 4 of ${p.length} bytes is too short`);
  return {
    messageTag: p[0] ?? 0,
    status,
    consoleSessionId: p.length >= 8 ? p.readUInt32LE(4) : 0,
    icv: Buffer.from(p.subarray(8)),
  };
}
