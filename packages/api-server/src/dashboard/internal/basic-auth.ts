import { createAuthChecker } from '../../internal/auth.js';

/** A user allowed to read the dashboard and its live stream. */
export interface DashboardUser {
  name: string;
  password: string;
}

/**
 * The API's own Basic check, asked for `read` access: the page and its stream accept exactly the credentials
 * (and answer exactly the 401s) that the REST routes the page calls do, so the browser is never asked twice.
 */
export function createDashboardAuthCheck(
  users: readonly DashboardUser[],
  protectReads: boolean,
): (header: string | undefined) => { ok: true } | { ok: false; message: string } {
  // Any configured user may look: the role only matters for writes, which the dashboard never does.
  const check = createAuthChecker(
    users.length === 0 ? undefined : users.map((u) => ({ name: u.name, password: u.password, role: 'reader' as const })),
    protectReads,
  );
  return (header) => {
    const outcome = check('read', header);
    return outcome.ok ? { ok: true } : { ok: false, message: outcome.message };
  };
}
