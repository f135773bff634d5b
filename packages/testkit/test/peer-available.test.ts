import { isCi, peerAvailable } from '../src/index.js';

const MISSING = 'er-testkit-no-such-binary';

describe('peerAvailable', () => {
  const savedCi = process.env['CI'];
  let stderr: jest.SpyInstance;

  beforeEach(() => {
    stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  });

  afterEach(() => {
    stderr.mockRestore();
    if (savedCi === undefined) delete process.env['CI'];
    else process.env['CI'] = savedCi;
  });

  it('fails with the peer, the missing binary and the install script when a binary is missing under CI=true', () => {
    process.env['CI'] = 'true';
    expect(isCi()).toBe(true);
    expect(() => peerAvailable('fakepeer', ['node', MISSING])).toThrow(
      `PEER MISSING: fakepeer needs ${MISSING} (run scripts/install-peers.sh); CI=true, so this fails instead of skipping`,
    );
  });

  it('returns false and warns loudly on stderr when a binary is missing outside CI', () => {
    for (const value of [undefined, '', 'false', '0']) {
      if (value === undefined) delete process.env['CI'];
      else process.env['CI'] = value;
      expect(isCi()).toBe(false);
      stderr.mockClear();
      expect(peerAvailable('fakepeer', [MISSING])).toBe(false);
      const written = stderr.mock.calls.map((c) => String(c[0])).join('');
      expect(written).toContain(`PEER MISSING: fakepeer needs ${MISSING}`);
      expect(written).toContain('SKIPPING');
    }
  });

  it('returns true without a word when every binary is found', () => {
    process.env['CI'] = 'true';
    expect(peerAvailable('node', ['node'])).toBe(true);
    expect(stderr).not.toHaveBeenCalled();
  });
});
