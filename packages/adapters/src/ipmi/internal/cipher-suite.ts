import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

/**
 * The algorithms of one RMCP+ cipher suite (IPMI v2.0 §22.15.2, table 22-20). Only the suites with AES-CBC-128
 * confidentiality are offered: suite 3 (SHA-1) and suite 17 (SHA-256).
 */
export interface CipherSuite {
  readonly id: 3 | 17;
  /** Authentication algorithm number in the Open Session payload (§13.28): 1 = RAKP-HMAC-SHA1, 3 = SHA256. */
  readonly authAlgorithm: number;
  /** Integrity algorithm number: 1 = HMAC-SHA1-96, 4 = HMAC-SHA256-128. */
  readonly integrityAlgorithm: number;
  /** Confidentiality algorithm number: 1 = AES-CBC-128. */
  readonly confidentialityAlgorithm: number;
  /** node:crypto digest name of the HMACs. */
  readonly hash: 'sha1' | 'sha256';
  /** Full HMAC length: 20 or 32. */
  readonly hmacLength: number;
  /** Length of the RAKP 4 integrity check value (§13.31): 12 or 16. */
  readonly rakp4Length: number;
  /** Length of the per-packet AuthCode: 12 (HMAC-SHA1-96) or 16 (HMAC-SHA256-128). */
  readonly authCodeLength: number;
}

/** Cipher suites this implementation speaks, by id. */
export const CIPHER_SUITES: Readonly<Record<3 | 17, CipherSuite>> = Object.freeze({
  3: Object.freeze({
    id: 3,
    authAlgorithm: 0x01,
    integrityAlgorithm: 0x01,
    confidentialityAlgorithm: 0x01,
    hash: 'sha1',
    hmacLength: 20,
    rakp4Length: 12,
    authCodeLength: 12,
  }),
  17: Object.freeze({
    id: 17,
    authAlgorithm: 0x03,
    integrityAlgorithm: 0x04,
    confidentialityAlgorithm: 0x01,
    hash: 'sha256',
    hmacLength: 32,
    rakp4Length: 16,
    authCodeLength: 16,
  }),
});

/** Length of the key-derivation constants Const 1 and Const 2. */
const KEY_CONSTANT_LENGTH = 20;

/** HMAC of the concatenation of `parts` with `key`, using the suite's hash. */
export function hmac(suite: CipherSuite, key: Uint8Array, ...parts: Uint8Array[]): Buffer {
  const h = createHmac(suite.hash, key);
  for (const p of parts) h.update(p);
  return h.digest();
}

/** Keys derived from one RAKP exchange (§13.31, §13.32). */
export interface SessionKeys {
  /** Session Integrity Key. */
  sik: Buffer;
  /** K1: key of the per-packet integrity HMAC. */
  k1: Buffer;
  /** First 16 bytes of K2: the AES-CBC-128 key. */
  aesKey: Buffer;
}

/** Inputs of the RAKP key-exchange codes, named as in the spec. */
export interface RakpInputs {
  /** Remote console (our) session id, SIDm. */
  consoleSessionId: number;
  /** Managed system (BMC) session id, SIDc. */
  bmcSessionId: number;
  /** Remote console random number, Rm (16 bytes). */
  consoleRandom: Uint8Array;
  /** Managed system random number, Rc (16 bytes). */
  bmcRandom: Uint8Array;
  /** Managed system GUID, GUIDc (16 bytes). */
  bmcGuid: Uint8Array;
  /** Requested role byte as sent in RAKP 1 (privilege level plus the name-only lookup bit). */
  role: number;
  /** User name bytes (ULengthM is derived). */
  userName: Uint8Array;
}

function u32le(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0, 0);
  return b;
}

function roleAndName(inp: RakpInputs): Buffer {
  return Buffer.concat([Buffer.from([inp.role & 0xff, inp.userName.length]), inp.userName]);
}

/** Key exchange authentication code the BMC puts in RAKP 2: HMAC_Kuid(SIDm, SIDc, Rm, Rc, GUIDc, Role, ULen, Name). */
export function rakp2AuthCode(suite: CipherSuite, kuid: Uint8Array, inp: RakpInputs): Buffer {
  return hmac(
    suite,
    kuid,
    u32le(inp.consoleSessionId),
    u32le(inp.bmcSessionId),
    inp.consoleRandom,
    inp.bmcRandom,
    inp.bmcGuid,
    roleAndName(inp),
  );
}

/** Key exchange authentication code we send in RAKP 3: HMAC_Kuid(Rc, SIDm, Role, ULen, Name). */
export function rakp3AuthCode(suite: CipherSuite, kuid: Uint8Array, inp: RakpInputs): Buffer {
  return hmac(suite, kuid, inp.bmcRandom, u32le(inp.consoleSessionId), roleAndName(inp));
}

/** SIK = HMAC_Kg(Rm, Rc, Role, ULen, Name); Kg is the user key when the BMC has no BMC key set. */
export function sessionIntegrityKey(suite: CipherSuite, kg: Uint8Array, inp: RakpInputs): Buffer {
  return hmac(suite, kg, inp.consoleRandom, inp.bmcRandom, roleAndName(inp));
}

/** Integrity check value the BMC puts in RAKP 4: HMAC_SIK(Rm, SIDc, GUIDc), truncated. */
export function rakp4Icv(suite: CipherSuite, sik: Uint8Array, inp: RakpInputs): Buffer {
  return hmac(suite, sik, inp.consoleRandom, u32le(inp.bmcSessionId), inp.bmcGuid).subarray(0, suite.rakp4Length);
}

/**
 * Derives K1 and K2 from the SIK: Kn = HMAC_SIK(Const n), Const n being byte n repeated 20 times (§13.32). The
 * constants stay 20 bytes long with SHA-256 too: that is what ipmitool, FreeIPMI and BMC firmware do, checked
 * against `ipmitool -C 17 -vvvv` key dumps.
 */
export function deriveKeys(suite: CipherSuite, sik: Buffer): SessionKeys {
  const k1 = hmac(suite, sik, Buffer.alloc(KEY_CONSTANT_LENGTH, 0x01));
  const k2 = hmac(suite, sik, Buffer.alloc(KEY_CONSTANT_LENGTH, 0x02));
  return { sik, k1, aesKey: k2.subarray(0, 16) };
}

/** Per-packet AuthCode: HMAC_K1 over the session header through Next Header, truncated (§13.28.4). */
export function packetAuthCode(suite: CipherSuite, k1: Uint8Array, data: Uint8Array): Buffer {
  return hmac(suite, k1, data).subarray(0, suite.authCodeLength);
}

/**
 * AES-CBC-128 payload encryption (§13.29): a random IV, then the payload followed by pad bytes 1, 2, 3, ...
 * and the pad length, so the whole is a multiple of 16. No PKCS#7: the spec has its own padding.
 */
export function encryptPayload(aesKey: Uint8Array, payload: Uint8Array, iv: Buffer = randomBytes(16)): Buffer {
  const padLength = (16 - ((payload.length + 1) % 16)) % 16;
  const pad = Buffer.alloc(padLength + 1);
  for (let i = 0; i < padLength; i++) pad[i] = i + 1;
  pad[padLength] = padLength;
  const cipher = createCipheriv('aes-128-cbc', aesKey, iv);
  cipher.setAutoPadding(false);
  return Buffer.concat([iv, cipher.update(Buffer.concat([payload, pad])), cipher.final()]);
}

/** Reverses {@link encryptPayload}; throws when the length or the padding is wrong. */
export function decryptPayload(aesKey: Uint8Array, data: Uint8Array): Buffer {
  if (data.length < 32 || data.length % 16 !== 0) throw new Error(`encrypted payload length ${data.length} is invalid`);
  const decipher = createDecipheriv('aes-128-cbc', aesKey, data.subarray(0, 16));
  decipher.setAutoPadding(false);
  const plain = Buffer.concat([decipher.update(data.subarray(16)), decipher.final()]);
  const padLength = plain[plain.length - 1] ?? 0;
  if (padLength > 15) throw new Error(`confidentiality pad length ${padLength} is invalid`);
  for (let i = 0; i < padLength; i++) {
    if (plain[plain.length - 1 - padLength + i] !== i + 1) throw new Error('confidentiality pad bytes are invalid');
  }
  return plain.subarray(0, plain.length - 1 - padLength);
}
