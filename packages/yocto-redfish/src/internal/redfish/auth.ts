import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';

/** One account of the optional authentication. */
export interface RedfishUser {
  name: string;
  password: string;
}

interface Session {
  id: string;
  token: string;
  user: string;
  lastUsedMs: number;
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** Compares secrets in constant time (hashing first makes the lengths equal). */
function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/** Basic credentials and `X-Auth-Token` sessions (Redfish SessionService), held in memory, at most `maxSessions` (see {@link AuthStore.create}). */
export class AuthStore {
  private readonly users: readonly RedfishUser[];
  private readonly sessions = new Map<string, Session>();

  constructor(
    users: readonly RedfishUser[],
    private readonly timeoutMs: number,
    private readonly clock: () => number,
    private readonly maxSessions: number = Number.POSITIVE_INFINITY,
  ) {
    this.users = users;
  }

  /** Checks a user name and password. */
  check(name: string, password: string): boolean {
    let ok = false;
    // Every user is compared so the time taken does not reveal which names exist.
    for (const u of this.users) if (sameSecret(u.name, name) && sameSecret(u.password, password)) ok = true;
    return ok;
  }

  /** The user behind an `Authorization: Basic` header, or undefined. */
  basic(header: string | undefined): string | undefined {
    if (header === undefined) return undefined;
    const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
    if (m === null) return undefined;
    const decoded = Buffer.from(m[1] ?? '', 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return undefined;
    const name = decoded.slice(0, colon);
    return this.check(name, decoded.slice(colon + 1)) ? name : undefined;
  }

  /** The user of a live session token, or undefined. Using a session extends it. */
  token(token: string | undefined): string | undefined {
    if (token === undefined || token === '') return undefined;
    this.expire();
    for (const s of this.sessions.values()) {
      if (sameSecret(s.token, token)) {
        s.lastUsedMs = this.clock();
        return s.user;
      }
    }
    return undefined;
  }

  /**
   * Opens a session. At `maxSessions` live sessions, one is closed to make room, the least recently used one of:
   * `user`'s own sessions; when `user` has none, the sessions of the account holding the most (as long as it
   * holds more than one). So a client that logs in again and again without logging out only closes its own
   * sessions, and cannot lock the other accounts out; nobody loses their only session to another account.
   * Undefined when no session may be closed (every live session is the only one of its account).
   */
  create(user: string): { id: string; token: string; evicted?: { id: string; user: string } } | undefined {
    this.expire();
    let evicted: Session | undefined;
    if (this.sessions.size >= this.maxSessions) {
      evicted = this.evictable(user);
      if (evicted === undefined) return undefined;
      this.sessions.delete(evicted.id);
    }
    const id = randomUUID();
    const token = randomBytes(32).toString('hex');
    this.sessions.set(id, { id, token, user, lastUsedMs: this.clock() });
    return evicted === undefined ? { id, token } : { id, token, evicted: { id: evicted.id, user: evicted.user } };
  }

  /** Ids of the live sessions of `owner` (accounts have no roles, so nobody sees another's sessions). */
  list(owner: string): Array<{ id: string; user: string }> {
    this.expire();
    return [...this.sessions.values()].filter((s) => s.user === owner).map((s) => ({ id: s.id, user: s.user }));
  }

  /** A live session of `owner`; another account's session is reported as absent. */
  get(id: string, owner: string): { id: string; user: string } | undefined {
    this.expire();
    const s = this.sessions.get(id);
    return s === undefined || s.user !== owner ? undefined : { id: s.id, user: s.user };
  }

  delete(id: string): boolean {
    return this.sessions.delete(id);
  }

  /** The session {@link create} closes at the limit for a login of `user`, or undefined. */
  private evictable(user: string): Session | undefined {
    const counts = new Map<string, number>();
    for (const s of this.sessions.values()) counts.set(s.user, (counts.get(s.user) ?? 0) + 1);
    const most = Math.max(0, ...counts.values());
    const isCandidate = counts.has(user) ? (s: Session): boolean => s.user === user : (s: Session): boolean => most > 1 && counts.get(s.user) === most;
    let oldest: Session | undefined;
    // Ties (same millisecond) go to the session opened first: Map order is insertion order.
    for (const s of this.sessions.values()) if (isCandidate(s) && (oldest === undefined || s.lastUsedMs < oldest.lastUsedMs)) oldest = s;
    return oldest;
  }

  private expire(): void {
    const now = this.clock();
    for (const [id, s] of this.sessions) if (now - s.lastUsedMs > this.timeoutMs) this.sessions.delete(id);
  }
}
