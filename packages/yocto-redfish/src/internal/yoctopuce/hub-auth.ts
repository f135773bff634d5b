import { createHash, randomBytes } from 'node:crypto';
import { splitUrlCredentials } from '@energyrecorder/core';

/** What a hub asked for in its `WWW-Authenticate` header. */
export type HubChallenge =
  | { scheme: 'basic' }
  | { scheme: 'digest'; realm: string; nonce: string; opaque?: string; qop?: 'auth'; algorithm: 'MD5' | 'MD5-sess' };

/**
 * Parses a `WWW-Authenticate` header (RFC 7235 / RFC 2617). Digest (MD5, the only algorithm the Yoctopuce
 * VirtualHub and YoctoHubs use) is preferred when offered; Basic otherwise. Undefined for anything else.
 */
export function parseChallenge(header: string | null | undefined): HubChallenge | undefined {
  if (header === null || header === undefined) return undefined;
  const digest = /(?:^|,)\s*Digest\s+(.*)$/i.exec(header);
  if (digest !== null) {
    const params = new Map<string, string>();
    const re = /([A-Za-z][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
    for (let m = re.exec(digest[1] ?? ''); m !== null; m = re.exec(digest[1] ?? '')) {
      const key = (m[1] ?? '').toLowerCase();
      if (!params.has(key)) params.set(key, m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? ''));
    }
    const realm = params.get('realm');
    const nonce = params.get('nonce');
    const algorithm = (params.get('algorithm') ?? 'MD5').toUpperCase();
    if (realm === undefined || nonce === undefined || (algorithm !== 'MD5' && algorithm !== 'MD5-SESS')) return undefined;
    const qops = (params.get('qop') ?? '').split(',').map((q) => q.trim().toLowerCase());
    const opaque = params.get('opaque');
    return {
      scheme: 'digest',
      realm,
      nonce,
      algorithm: algorithm === 'MD5' ? 'MD5' : 'MD5-sess',
      ...(opaque === undefined ? {} : { opaque }),
      ...(qops.includes('auth') ? { qop: 'auth' as const } : {}),
    };
  }
  if (/(?:^|,)\s*Basic\b/i.test(header)) return { scheme: 'basic' };
  return undefined;
}

const md5 = (s: string): string => createHash('md5').update(s, 'utf8').digest('hex');

/**
 * The `Authorization` header answering `challenge` for one request. `nc` is the nonce count of this request
 * (1 for the first use of the nonce); `cnonce` is random unless given (tests).
 */
export function authorizationHeader(
  challenge: HubChallenge,
  credentials: { user: string; password: string },
  request: { method: string; uri: string; nc: number; cnonce?: string },
): string {
  if (challenge.scheme === 'basic') {
    return `Basic ${Buffer.from(`${credentials.user}:${credentials.password}`, 'utf8').toString('base64')}`;
  }
  const cnonce = request.cnonce ?? randomBytes(8).toString('hex');
  const nc = request.nc.toString(16).padStart(8, '0');
  let ha1 = md5(`${credentials.user}:${challenge.realm}:${credentials.password}`);
  if (challenge.algorithm === 'MD5-sess') ha1 = md5(`${ha1}:${challenge.nonce}:${cnonce}`);
  const ha2 = md5(`${request.method}:${request.uri}`);
  const response =
    challenge.qop === 'auth' ? md5(`${ha1}:${challenge.nonce}:${nc}:${cnonce}:auth:${ha2}`) : md5(`${ha1}:${challenge.nonce}:${ha2}`);
  const q = (v: string): string => `"${v.replace(/(["\\])/g, '\\$1')}"`;
  const parts = [
    `username=${q(credentials.user)}`,
    `realm=${q(challenge.realm)}`,
    `nonce=${q(challenge.nonce)}`,
    `uri=${q(request.uri)}`,
    // MD5 is the default and yoctolib does not name it; MD5-sess must be named.
    ...(challenge.algorithm === 'MD5-sess' ? ['algorithm=MD5-sess'] : []),
    ...(challenge.qop === 'auth' ? [`qop=auth`, `nc=${nc}`, `cnonce=${q(cnonce)}`] : []),
    `response=${q(response)}`,
    ...(challenge.opaque === undefined ? [] : [`opaque=${q(challenge.opaque)}`]),
  ];
  return `Digest ${parts.join(', ')}`;
}

/**
 * Splits the credentials off a hub URL: `http://admin:s3cret@hub:4444/` → base `http://hub:4444` and
 * `{user: 'admin', password: 's3cret'}` (percent-decoded). Node's fetch refuses a URL with credentials, and a URL
 * is quoted in logs and errors: the password must live elsewhere.
 */
export function splitHubUrl(url: string): { base: string; user?: string; password?: string } {
  const { url: base, user, pass } = splitUrlCredentials(url);
  return {
    base: base.replace(/\/+$/, ''),
    ...(user === undefined ? {} : { user }),
    ...(pass === undefined ? {} : { password: pass }),
  };
}
