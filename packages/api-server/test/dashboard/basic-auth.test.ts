import { checkBasicAuth, parseBasicAuth } from '../../src/dashboard/internal/basic-auth.js';

const header = (user: string, pass: string): string => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

describe('dashboard basic auth', () => {
  const users = [{ name: 'ci', password: 'p:w' }, { name: 'viewer', password: 'secret' }];

  it('accepts any configured user when the password matches', () => {
    expect(checkBasicAuth(header('viewer', 'secret'), users)).toBe(true);
    expect(checkBasicAuth(header('ci', 'p:w'), users)).toBe(true);
  });

  it('refuses when the password, the user or the header is wrong', () => {
    expect(checkBasicAuth(header('viewer', 'nope'), users)).toBe(false);
    expect(checkBasicAuth(header('nobody', 'secret'), users)).toBe(false);
    expect(checkBasicAuth(undefined, users)).toBe(false);
    expect(checkBasicAuth('Bearer abc', users)).toBe(false);
    expect(parseBasicAuth('Basic bm9jb2xvbg==')).toBeUndefined();
  });
});
