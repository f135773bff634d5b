import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { peerAvailable, startMosquitto, startSnmpd } from '../src/index.js';

// The README promises that the temp dir of a peer that failed to start is removed, also when the failure comes
// before the peer runs (a config the harness or a helper program rejects). Other test files create and remove
// er-* dirs in the real temp dir at the same time, so instead of counting those, each start here gets a temp
// dir of its own (os.tmpdir() pointed at a fresh dir) that must be empty afterwards.

const haveSnmpd = peerAvailable('snmpd', ['snmpd']);
const haveMosquitto = peerAvailable('mosquitto', ['mosquitto', 'mosquitto_passwd']);

/** Runs `start`, which must reject, with os.tmpdir() pointing to a fresh dir; what it left in that dir. */
async function leftBehind(start: () => Promise<unknown>): Promise<{ error: unknown; madeTempDirs: number; left: string[] }> {
  const root = mkdtempSync(join(os.tmpdir(), 'er-testkit-tmp-'));
  const spy = jest.spyOn(os, 'tmpdir').mockReturnValue(root);
  let error: unknown;
  let madeTempDirs = 0;
  try {
    await start().then(
      () => {
        throw new Error('expected the start to fail');
      },
      (err: unknown) => {
        error = err;
      },
    );
    madeTempDirs = spy.mock.calls.length;
  } finally {
    spy.mockRestore();
  }
  const left = readdirSync(root);
  rmSync(root, { recursive: true, force: true });
  return { error, madeTempDirs, left };
}

(haveSnmpd ? describe : describe.skip)('startSnmpd temp dir', () => {
  it('is removed when a v3 user is rejected before snmpd runs', async () => {
    const { error, madeTempDirs, left } = await leftBehind(() =>
      startSnmpd({ values: [['1.3.6.1.4.1.99.1.0', 'integer', 1]], v3User: { user: 'u', authProtocol: 'SHA', authKey: 'short' } }),
    );

    expect((error as Error).message).toContain('snmpd authKey of u: 8+ characters');
    expect(madeTempDirs).toBeGreaterThan(0);
    expect(left).toEqual([]);
  });

  it('is removed when a value is rejected', async () => {
    const { error, left } = await leftBehind(() => startSnmpd({ values: [['1.3.6.1.4.1.99.1.0', 'string', 'two\nlines']] }));

    expect((error as Error).message).toContain('snmpd values cannot contain newlines');
    expect(left).toEqual([]);
  });
});

(haveMosquitto ? describe : describe.skip)('startMosquitto temp dir', () => {
  it('is removed when mosquitto_passwd rejects a user', async () => {
    const { error, madeTempDirs, left } = await leftBehind(() =>
      startMosquitto({
        users: [
          { user: 'fine', pass: 'p' },
          { user: 'a:b', pass: 'p' },
        ],
      }),
    );

    expect((error as Error).message).toContain('mosquitto_passwd failed');
    expect(madeTempDirs).toBeGreaterThan(0);
    expect(left).toEqual([]);
  });
});
