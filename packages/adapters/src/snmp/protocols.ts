/**
 * SNMPv3 USM protocol names as written in `collector-settings.yaml`, mapped to what `net-snmp` implements.
 * The original collector used pysnmp's names (`HMAC-SHA-96`, `CFB128-AES-128`, ...) plus the aliases `SHA`,
 * `SHA1`, `SHA-1` and `AES`; the short net-snmp / Net-SNMP CLI names (`SHA256`, `AES256`) are accepted too.
 */

import { createCipheriv } from 'node:crypto';

/** Authentication protocols `net-snmp` implements (its `AuthProtocols` keys). */
export type SnmpAuthProtocol = 'none' | 'md5' | 'sha' | 'sha224' | 'sha256' | 'sha384' | 'sha512';

/** Privacy protocols `net-snmp` implements (its `PrivProtocols` keys). */
export type SnmpPrivProtocol = 'none' | 'des' | 'aes' | 'aes256b' | 'aes256r';

/** A protocol name that parsed, or why it did not. */
export type ProtocolLookup<T> = { ok: true; protocol: T } | { ok: false; message: string };

const AUTH_NAMES: Readonly<Record<string, SnmpAuthProtocol>> = {
  NONE: 'none',
  'NO-AUTH': 'none',
  NOAUTH: 'none',
  'HMAC-MD5-96': 'md5',
  'HMAC-MD5': 'md5',
  MD5: 'md5',
  'HMAC-SHA-96': 'sha',
  'HMAC-SHA': 'sha',
  SHA: 'sha',
  SHA1: 'sha',
  'SHA-1': 'sha',
  // pysnmp's SHA-2 names carry the MAC or digest size; 128 is the HMAC-128-SHA-224 of RFC 7860.
  'HMAC-SHA-2-128': 'sha224',
  'HMAC128SHA224': 'sha224',
  SHA224: 'sha224',
  'SHA-224': 'sha224',
  'HMAC-SHA-2-256': 'sha256',
  'HMAC192SHA256': 'sha256',
  SHA256: 'sha256',
  'SHA-256': 'sha256',
  'HMAC-SHA-2-384': 'sha384',
  'HMAC256SHA384': 'sha384',
  SHA384: 'sha384',
  'SHA-384': 'sha384',
  'HMAC-SHA-2-512': 'sha512',
  'HMAC384SHA512': 'sha512',
  SHA512: 'sha512',
  'SHA-512': 'sha512',
};

const PRIV_NAMES: Readonly<Record<string, SnmpPrivProtocol>> = {
  NONE: 'none',
  'NO-PRIVACY': 'none',
  NOPRIV: 'none',
  'CBC-DES': 'des',
  DES: 'des',
  'CFB128-AES-128': 'aes',
  AES: 'aes',
  AES128: 'aes',
  'AES-128': 'aes',
  // pysnmp's non-Blumenthal AES-256 localises keys the "Reeder" way (Cisco's AES-256-C).
  'CFB128-AES-256': 'aes256r',
  AES256R: 'aes256r',
  'AES-256-C': 'aes256r',
  'CFB256-AES-BLU': 'aes256b',
  AES256: 'aes256b',
  'AES-256': 'aes256b',
  AES256B: 'aes256b',
};

/** Names the original accepted that `net-snmp` cannot speak; refused with a clear message. */
const UNSUPPORTED_PRIV: ReadonlySet<string> = new Set(['3DES-EDE', '3DES', 'CFB128-AES-192', 'CFB192-AES-BLU', 'AES192', 'AES-192']);

function normalise(name: string): string {
  return name.trim().toUpperCase().replace(/_/g, '-').replace(/\s+/g, '');
}

/** Every accepted authentication protocol name, for error messages and docs. */
export const SNMP_AUTH_PROTOCOL_NAMES: readonly string[] = Object.freeze(Object.keys(AUTH_NAMES));
/** Every accepted privacy protocol name, for error messages and docs. */
export const SNMP_PRIV_PROTOCOL_NAMES: readonly string[] = Object.freeze(Object.keys(PRIV_NAMES));

/** Maps an authentication protocol name (case-insensitive) to the `net-snmp` protocol. */
export function lookupAuthProtocol(name: string): ProtocolLookup<SnmpAuthProtocol> {
  const protocol = AUTH_NAMES[normalise(name)];
  if (protocol !== undefined) return { ok: true, protocol };
  return {
    ok: false,
    message: `unknown SNMPv3 authentication protocol "${name}"; valid: ${SNMP_AUTH_PROTOCOL_NAMES.join(', ')}`,
  };
}

/** Maps a privacy protocol name (case-insensitive) to the `net-snmp` protocol. */
export function lookupPrivProtocol(name: string): ProtocolLookup<SnmpPrivProtocol> {
  const key = normalise(name);
  const protocol = PRIV_NAMES[key];
  if (protocol !== undefined) return { ok: true, protocol };
  if (UNSUPPORTED_PRIV.has(key)) {
    return {
      ok: false,
      message: `SNMPv3 privacy protocol "${name}" is not supported by net-snmp; use CFB128-AES-128 (AES), CFB128-AES-256, CFB256-AES-BLU or CBC-DES`,
    };
  }
  return {
    ok: false,
    message: `unknown SNMPv3 privacy protocol "${name}"; valid: ${SNMP_PRIV_PROTOCOL_NAMES.join(', ')}`,
  };
}

let desSupported: boolean | undefined;

/**
 * Whether this Node can run DES-CBC, which `net-snmp` uses for `CBC-DES` privacy. Node 17+ ships OpenSSL 3,
 * which keeps DES in its legacy provider, off unless node runs with `--openssl-legacy-provider`; without it every
 * request would fail with "digital envelope routines::unsupported".
 */
export function isDesPrivacyAvailable(): boolean {
  if (desSupported === undefined) {
    try {
      createCipheriv('des-cbc', Buffer.alloc(8), Buffer.alloc(8));
      desSupported = true;
    } catch {
      desSupported = false;
    }
  }
  return desSupported;
}

/** Why a privacy protocol cannot run in this process, or undefined when it can. */
export function privProtocolUnavailable(protocol: SnmpPrivProtocol): string | undefined {
  if (protocol === 'des' && !isDesPrivacyAvailable()) {
    return 'CBC-DES needs OpenSSL\'s legacy provider, which this Node has not loaded: start node with --openssl-legacy-provider, or use AES on the agent';
  }
  return undefined;
}
