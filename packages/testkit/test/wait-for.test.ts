import { PeerExitedError, describeExit, waitFor } from '../src/index.js';

async function rejectionOf(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('waitFor', () => {
  it('rejects with the signal reason when the signal fires while a check is pending', async () => {
    const controller = new AbortController();
    const reason = new Error('peer died');
    let calls = 0;
    const waiting = rejectionOf(
      waitFor(
        () => {
          calls++;
          // Never settles: only the signal can end this wait.
          return new Promise<boolean>(() => undefined);
        },
        'never',
        600_000,
        1,
        { signal: controller.signal },
      ),
    );
    // The first check hangs for ever, so the signal is fired from outside.
    controller.abort(reason);

    expect(await waiting).toBe(reason);
    expect(calls).toBe(1);
  });

  it('rejects before the first check when the signal has already fired', async () => {
    const controller = new AbortController();
    controller.abort(new Error('gone'));
    let calls = 0;
    const err = await rejectionOf(waitFor(() => ++calls > 0, 'x', 600_000, 1, { signal: controller.signal }));

    expect((err as Error).message).toBe('gone');
    expect(calls).toBe(0);
  });

  it('keeps polling through failing checks and resolves when one succeeds', async () => {
    let calls = 0;
    await waitFor(
      () => {
        calls++;
        if (calls < 3) throw new Error('not yet');
        return true;
      },
      'third call',
      600_000,
      1,
    );

    expect(calls).toBe(3);
  });

  it('times out naming what it waited for, with the last check error as cause', async () => {
    const err = await rejectionOf(
      waitFor(
        () => {
          throw new Error('connection refused');
        },
        'the widget',
        30,
        5,
      ),
    );

    expect((err as Error).message).toBe('timed out after 30 ms waiting for the widget');
    expect(((err as Error).cause as Error).message).toBe('connection refused');
  });
});

describe('PeerExitedError', () => {
  it('names the binary, the exit and the output tail when built from an exit', () => {
    const err = new PeerExitedError('/usr/sbin/x', { code: 2, signal: null }, 'a\nb', 'before it was ready');

    expect(err.message).toBe('/usr/sbin/x exited with code 2 before it was ready; last lines of its output:\na\nb');
    expect(err.code).toBe('PEER_EXITED');
    expect(err.retryable).toBe(false);
  });

  it('says the program printed nothing when its output is empty', () => {
    expect(new PeerExitedError('x', { code: null, signal: 'SIGSEGV' }, '').message).toBe('x was killed by SIGSEGV; it printed nothing');
  });
});

describe('describeExit', () => {
  it('prefers the spawn error when the program never ran', () => {
    expect(describeExit({ code: null, signal: null, spawnError: 'spawn x ENOENT' })).toBe('could not be started: spawn x ENOENT');
  });
});
