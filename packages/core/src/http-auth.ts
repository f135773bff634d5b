import { createHash } from 'node:crypto';

/**
 * HTTP authentication challenges and answers (RFC 7235 framing, RFC 7617 Basic, RFC 7616 / RFC 2617 / RFC 2069
 * Digest) for the clients that talk to devices: BMCs, smart plugs, Yoctopuce hubs. Pure computation (the caller
 * brings the client nonce), on Node's hashes: a subpath (`@energyrecorder/core/http-auth`) so that the main entry
 * stays free of Node built-ins.
 */

/** One challenge of a `WWW-Authenticate` value: its scheme (lower case) and its parameters (names lower case). */
export interface AuthChallenge {
  scheme: string;
  params: ReadonlyMap<string, string>;
}

/** A Digest challenge this module can answer. */
export interface DigestChallenge {
  realm: string;
  nonce: string;
  /** `auth` when the server offered it (RFC 2617/7616); undefined for an RFC 2069 challenge without `qop`. */
  qop: 'auth' | undefined;
  opaque: string | undefined;
  /** As the server spelled it, or `MD5` when it named none. */
  algorithm: string;
  /** Whether the server named the algorithm: the answer names it back only then, as RFC 2069 clients do. */
  algorithmNamed: boolean;
  stale: boolean;
}

const HASHES: Readonly<Record<string, { hash: 'md5' | 'sha256' | 'sha512-256'; strength: number }>> = {
  MD5: { hash: 'md5', strength: 1 },
  'SHA-256': { hash: 'sha256', strength: 2 },
  'SHA-512-256': { hash: 'sha512-256', strength: 3 },
};

function hashOf(algorithm: string): { hash: 'md5' | 'sha256' | 'sha512-256'; strength: number } | undefined {
  return HASHES[algorithm.toUpperCase().replace(/-SESS$/, '')];
}

/** Splits `s` at the commas that are outside quoted strings. */
function splitOutsideQuotes(s: string): string[] {
  const out: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quoted && c === '\\') i++;
    else if (c === '"') quoted = !quoted;
    else if (c === ',' && !quoted) {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  out.push(s.slice(start));
  return out;
}

const PARAM = /^([A-Za-z0-9!#$%&'*+.^_`|~-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|(\S*))\s*$/;
const BARE_SCHEMES = new Set(['basic', 'digest', 'bearer', 'negotiate', 'ntlm', 'hoba', 'mutual']);
const SCHEME_THEN_REST = /^([A-Za-z0-9!#$%&'*+.^_`|~-]+)(?:\s+(.*))?$/s;

/**
 * Every challenge of a `WWW-Authenticate` value. Node joins repeated headers with `, `, so one value may hold a
 * Basic and several Digest challenges; a list item that is not `name=value` starts the next challenge. The first
 * value of a repeated parameter wins.
 */
export function parseAuthChallenges(header: string | null | undefined): AuthChallenge[] {
  if (header === null || header === undefined) return [];
  const out: Array<{ scheme: string; params: Map<string, string> }> = [];
  let current: { scheme: string; params: Map<string, string> } | undefined;
  const addParam = (text: string): void => {
    const m = PARAM.exec(text);
    if (m === null || current === undefined) return;
    const key = (m[1] ?? '').toLowerCase();
    const value = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? '');
    if (!current.params.has(key)) current.params.set(key, value);
  };
  for (const raw of splitOutsideQuotes(header)) {
    const item = raw.trim();
    if (item === '') continue;
    if (PARAM.test(item)) {
      addParam(item);
      continue;
    }
    const m = SCHEME_THEN_REST.exec(item);
    // A lone token is a scheme without parameters ("Negotiate") only when it names one: a server that writes
    // `qop=auth,auth-int` unquoted must not start a challenge called "auth-int".
    if (m === null || (m[2] === undefined && !BARE_SCHEMES.has((m[1] ?? '').toLowerCase()))) continue;
    current = { scheme: (m[1] ?? '').toLowerCase(), params: new Map() };
    out.push(current);
    if (m[2] !== undefined) addParam(m[2].trim());
  }
  return out;
}

function digestOf(c: AuthChallenge): DigestChallenge | undefined {
  const realm = c.params.get('realm');
  const nonce = c.params.get('nonce');
  const named = c.params.get('algorithm');
  const algorithm = named ?? 'MD5';
  if (realm === undefined || nonce === undefined || hashOf(algorithm) === undefined) return undefined;
  // A server offering several qop values lists them comma-separated; only "auth" is implemented (no body hash).
  const qops = (c.params.get('qop') ?? '').split(',').map((q) => q.trim().toLowerCase());
  return {
    realm,
    nonce,
    qop: qops.includes('auth') ? 'auth' : undefined,
    opaque: c.params.get('opaque'),
    algorithm,
    algorithmNamed: named !== undefined,
    stale: (c.params.get('stale') ?? '').toLowerCase() === 'true',
  };
}

/**
 * The Digest challenge to answer in a `WWW-Authenticate` value: of those this module can answer (MD5, SHA-256,
 * SHA-512-256 and their `-sess` forms), the strongest, the first of equals (RFC 7616 §3.7). Undefined when none.
 */
export function parseDigestChallenge(header: string | null | undefined): DigestChallenge | undefined {
  let best: DigestChallenge | undefined;
  for (const c of parseAuthChallenges(header)) {
    if (c.scheme !== 'digest') continue;
    const d = digestOf(c);
    if (d !== undefined && (best === undefined || (hashOf(d.algorithm)?.strength ?? 0) > (hashOf(best.algorithm)?.strength ?? 0))) best = d;
  }
  return best;
}

/** Whether a `WWW-Authenticate` value offers Basic. */
export function offersBasic(header: string | null | undefined): boolean {
  return parseAuthChallenges(header).some((c) => c.scheme === 'basic');
}

/** `Basic <base64(user:pass)>` (RFC 7617, UTF-8). */
export function basicAuthorization(user: string, pass: string): string {
  return `Basic ${Buffer.from(`${user}:${pass}`, 'utf8').toString('base64')}`;
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
  /** Client nonce: fresh random text per request (`randomBytes(8).toString('hex')`); tests pass the RFCs' ones. */
  cnonce: string;
}

/** The `Authorization: Digest ...` value answering `challenge` (qop=auth, or none as in RFC 2069). */
export function buildDigestAuthorization(input: DigestInput): string {
  const { challenge, user, pass, method, uri } = input;
  const algo = hashOf(challenge.algorithm)?.hash ?? 'md5';
  const h = (s: string): string => createHash(algo).update(s, 'utf8').digest('hex');
  const { cnonce } = input;
  const nc = input.nc.toString(16).padStart(8, '0');
  let ha1 = h(`${user}:${challenge.realm}:${pass}`);
  if (/-sess$/i.test(challenge.algorithm)) ha1 = h(`${ha1}:${challenge.nonce}:${cnonce}`);
  const ha2 = h(`${method}:${uri}`);
  const response =
    challenge.qop === undefined
      ? h(`${ha1}:${challenge.nonce}:${ha2}`)
      : h(`${ha1}:${challenge.nonce}:${nc}:${cnonce}:${challenge.qop}:${ha2}`);
  const q = (s: string): string => `"${s.replace(/(["\\])/g, '\\$1')}"`;
  const parts = [`username=${q(user)}`, `realm=${q(challenge.realm)}`, `nonce=${q(challenge.nonce)}`, `uri=${q(uri)}`];
  if (challenge.algorithmNamed) parts.push(`algorithm=${challenge.algorithm}`);
  parts.push(`response=${q(response)}`);
  if (challenge.qop !== undefined) parts.push(`qop=${challenge.qop}`, `nc=${nc}`, `cnonce=${q(cnonce)}`);
  if (challenge.opaque !== undefined) parts.push(`opaque=${q(challenge.opaque)}`);
  return `Digest ${parts.join(', ')}`;
}
