import { createHash, timingSafeEqual } from 'node:crypto';
import type { ApiUser } from '@energyrecorder/core';

/** What a request needs. */
export type Access = 'public' | 'read' | 'write';

/** Outcome of an access check. */
export type AuthOutcome = { ok: true; user?: string } | { ok: false; status: 401 | 403; message: string };

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/**
 * Checks HTTP Basic credentials against the configured users. Writers may read and write, readers only read.
 * Passwords are compared through fixed-length digests in constant time.
 */
export function createAuthChecker(users: readonly ApiUser[] | undefined, protectReads: boolean) {
  const table = new Map((users ?? []).map((u) => [u.name, { digest: digest(u.password), role: u.role }]));
  return (access: Access, header: string | undefined): AuthOutcome => {
    if (users === undefined || access === 'public' || (access === 'read' && !protectReads)) return { ok: true };
    if (header === undefined || !/^basic /i.test(header)) {
      return { ok: false, status: 401, message: 'Authentication required' };
    }
    const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const name = colon < 0 ? decoded : decoded.slice(0, colon);
    const pass = colon < 0 ? '' : decoded.slice(colon + 1);
    const entry = table.get(name);
    const given = digest(pass);
    const expected = entry?.digest ?? digest(`\u0000no-such-user${pass}`);
    if (!timingSafeEqual(given, expected) || entry === undefined) {
      return { ok: false, status: 401, message: 'Invalid credentials' };
    }
    if (access === 'write' && entry.role !== 'writer') {
      return { ok: false, status: 403, message: `User "${name}" may not write` };
    }
    return { ok: true, user: name };
  };
}
