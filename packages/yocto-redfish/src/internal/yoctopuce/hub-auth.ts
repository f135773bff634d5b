import { randomBytes } from 'node:crypto';
import { splitUrlCredentials } from '@energyrecorder/core';
import { basicAuthorization, buildDigestAuthorization, offersBasic, parseDigestChallenge, type DigestChallenge } from '@energyrecorder/core/http-auth';

/** What a hub asked for in its `WWW-Authenticate` header. */
export type HubChallenge = { scheme: 'basic' } | { scheme: 'digest'; digest: DigestChallenge };

/**
 * Parses a `WWW-Authenticate` header. Digest (MD5, the only algorithm the Yoctopuce VirtualHub and YoctoHubs
 * use, in its RFC 2069 form without qop) is preferred when offered; Basic otherwise. Undefined for anything else.
 */
export function parseChallenge(header: string | null | undefined): HubChallenge | undefined {
  const digest = parseDigestChallenge(header);
  if (digest !== undefined) return { scheme: 'digest', digest };
  return offersBasic(header) ? { scheme: 'basic' } : undefined;
}

/**
 * The `Authorization` header answering `challenge` for one request. `nc` is the nonce count of this request
 * (1 for the first use of the nonce); `cnonce` is random unless given (tests).
 */
export function authorizationHeader(
  challenge: HubChallenge,
  credentials: { user: string; password: string },
  request: { method: string; uri: string; nc: number; cnonce?: string },
): string {
  if (challenge.scheme === 'basic') return basicAuthorization(credentials.user, credentials.password);
  return buildDigestAuthorization({
    challenge: challenge.digest,
    user: credentials.user,
    pass: credentials.password,
    method: request.method,
    uri: request.uri,
    nc: request.nc,
    cnonce: request.cnonce ?? randomBytes(8).toString('hex'),
  });
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
