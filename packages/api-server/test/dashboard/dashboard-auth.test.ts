import { createDashboardAuthCheck } from '../../src/dashboard/internal/basic-auth.js';
import { basic } from './support.js';

describe('dashboard auth check', () => {
  const users = [
    { name: 'ci', password: 'p:w' },
    { name: 'viewer', password: 'secret' },
  ];

  it('accepts any configured user when the password matches', () => {
    const check = createDashboardAuthCheck(users, true);
    expect(check(basic('viewer', 'secret'))).toEqual({ ok: true });
    // Only the first colon separates the name from the password (RFC 7617).
    expect(check(basic('ci', 'p:w'))).toEqual({ ok: true });
  });

  it('refuses with the API message when the password, the user or the header is wrong', () => {
    const check = createDashboardAuthCheck(users, true);
    expect(check(basic('viewer', 'nope'))).toEqual({ ok: false, message: 'Invalid credentials' });
    expect(check(basic('nobody', 'secret'))).toEqual({ ok: false, message: 'Invalid credentials' });
    expect(check(undefined)).toEqual({ ok: false, message: 'Authentication required' });
    expect(check('Bearer abc')).toEqual({ ok: false, message: 'Authentication required' });
  });

  it('lets everyone look when reads are not protected or no user is configured', () => {
    expect(createDashboardAuthCheck(users, false)(undefined)).toEqual({ ok: true });
    expect(createDashboardAuthCheck([], true)(undefined)).toEqual({ ok: true });
  });
});
