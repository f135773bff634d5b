import { createHash, randomBytes } from 'node:crypto';

/** The parameters of one `WWW-Authenticate: Digest ...` challenge (RFC 7616). */
export interface DigestChallenge {
  realm: string;
  nonce: string;
  qop: string | undefined;
  opaque: string | undefined;
  algorithm: string;
  stale: boolean;
}

/**
 * Extracts the first Digest challenge from a `WWW-Authenticate` value. Node joins repeated headers with `, `, so
 * a value may hold a Basic challenge too; only the part after `Digest ` up to a following scheme is read.
 */
export function parseDigestChallenge(header: string): DigestChallenge | undefined {
  const start = header.search(/(^|[\s,])Digest\s/i);
  if (start < 0) return undefined;
  let rest = header.slice(start).replace(/^[\s,]*Digest\s+/i, '');
  const nextScheme = rest.search(/,\s*(Basic|Digest|Bearer|Negotiate)\s/i);
  if (nextScheme >= 0) rest = rest.slice(0, nextScheme);
  const params = new Map<string, string>();
  const re = /([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  for (let m = re.exec(rest); m !== null; m = re.exec(rest)) {
    const key = (m[1] ?? '').toLowerCase();
    const value = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? '');
    if (!params.has(key)) params.set(key, value);
  }
  const realm = params.get('realm');
  const nonce = params.get('nonce');
  if (realm === undefined || nonce === undefined) return undefined;
  // A server offering several qop values lists them comma-separated; only "auth" is implemented (no body hash).
  const qopList = (params.get('qop') ?? '').split(',').map((q) => q.trim().toLowerCase());
  return {
    realm,
    nonce,
    qop: qopList.includes('auth') ? 'auth' : undefined,
    opaque: params.get('opaque'),
    algorithm: params.get('algorithm') ?? 'MD5',
    stale: (params.get('stale') ?? '').toLowerCase() === 'true',
  };
}

function hashName(algorithm: string): 'md5' | 'sha256' | 'sha512-256' {
  const base = algorithm.toUpperCase().replace(/-SESS$/, '');
  if (base === 'SHA-256') return 'sha256';
  if (base === 'SHA-512-256') return 'sha512-256';
  return 'md5';
}

/** Inputs of one Digest `Authorization` header. */
export interface DigestInput {
  challenge: DigestChallenge;
  user: string;
  pass: string;
  method: string;
  /** Request target as sent on the request line (path and query). */
  uri: string;
  /** Request counter for this nonce, starting at 1. */
  nc: number;
  /** Client nonce; random when omitted (tests pass a fixed one to compare with RFC examples). */
  cnonce?: string;
}

/** Builds the `Authorization: Digest ...` value answering `challenge` (RFC 7616 §3.4, qop=auth or none). */
export function buildDigestAuthorization(input: DigestInput): string {
  const { challenge, user, pass, method, uri } = input;
  const algo = hashName(challenge.algorithm);
  const h = (s: string): string => createHash(algo).update(s, 'utf8').digest('hex');
  const cnonce = input.cnonce ?? randomBytes(8).toString('hex');
  const nc = input.nc.toString(16).padStart(8, '0');
  let ha1 = h(`${user}:${challenge.realm}:${pass}`);
  if (/-sess$/i.test(challenge.algorithm)) ha1 = h(`${ha1}:${challenge.nonce}:${cnonce}`);
  const ha2 = h(`${method}:${uri}`);
  const response =
    challenge.qop === undefined
      ? h(`${ha1}:${challenge.nonce}:${ha2}`)
      : h(`${ha1}:${challenge.nonce}:${nc}:${cnonce}:${challenge.qop}:${ha2}`);
  const q = (s: string): string => `"${s.replace(/(["\\])/g, '\\$1')}"`;
  const parts = [
    `username=${q(user)}`,
    `realm=${q(challenge.realm)}`,
    `nonce=${q(challenge.nonce)}`,
    `uri=${q(uri)}`,
    `algorithm=${challenge.algorithm}`,
    `response=${q(response)}`,
  ];
  if (challenge.qop !== undefined) parts.push(`qop=${challenge.qop}`, `nc=${nc}`, `cnonce=${q(cnonce)}`);
  if (challenge.opaque !== undefined) parts.push(`opaque=${q(challenge.opaque)}`);
  return `Digest ${parts.join(', ')}`;
}
