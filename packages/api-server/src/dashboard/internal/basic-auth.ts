import { timingSafeEqual, createHash } from 'node:crypto';

/** A user allowed to read the dashboard and its live stream. */
export interface DashboardUser {
  name: string;
  password: string;
}

// Hashing both sides first gives equal-length buffers, so the comparison time says nothing about the length.
const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** Parses an `Authorization: Basic` header into name and password, or undefined when absent or malformed. */
export function parseBasicAuth(header: string | undefined): { name: string; password: string } | undefined {
  if (header === undefined) return undefined;
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (match === null) return undefined;
  const decoded = Buffer.from(match[1] as string, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { name: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** True when the header names one of `users` with the right password. Checks every user (no early exit). */
export function checkBasicAuth(header: string | undefined, users: readonly DashboardUser[]): boolean {
  const creds = parseBasicAuth(header);
  if (creds === undefined) return false;
  const name = digest(creds.name);
  const password = digest(creds.password);
  let ok = false;
  for (const user of users) {
    const nameOk = timingSafeEqual(name, digest(user.name));
    const passOk = timingSafeEqual(password, digest(user.password));
    if (nameOk && passOk) ok = true;
  }
  return ok;
}
