import { AdapterError, noopLogger, type PowerAdapter } from '@energyrecorder/core';
import { waitFor } from '@energyrecorder/testkit';
import { createIpmiAdapter, type IpmiAdapterOptions, ipmiConfigSchema, IpmiErrorCode } from '../../src/ipmi/index.js';
import { FakeBmc } from './fake-bmc.js';

/**
 * Sessions a BMC closes after its inactivity timeout (60 s on real BMCs), with the collector's deadline as the
 * read's abort signal. The fake BMC and the driver share a clock the tests move forward, so no test waits a minute.
 */
describe('ipmi native driver and BMC session timeouts', () => {
  const bmc = new FakeBmc(new Map([['admin', 'idle-secret']]));
  let port = 0;
  let clock = 1_000_000;
  const adapters: PowerAdapter[] = [];
  const adapterFor = (
    requestTimeoutMs: number,
    extra: Record<string, unknown> = {},
    options: IpmiAdapterOptions = {},
  ): PowerAdapter => {
    const config = ipmiConfigSchema.parse({
      type: 'ipmi',
      id: 'fake',
      host: '127.0.0.1',
      port,
      user: 'admin',
      pass: 'idle-secret',
      ...extra,
    });
    const adapter = createIpmiAdapter(
      config,
      { logger: noopLogger, requestTimeoutMs, equipmentId: 'fake' },
      { now: () => clock, ...options },
    );
    adapters.push(adapter);
    return adapter;
  };
  /** Reads as the collector does: the read is aborted at `deadlineMs`. */
  const timedRead = async (adapter: PowerAdapter, deadlineMs: number): Promise<{ values: number[]; ms: number }> => {
    const t0 = Date.now();
    const readings = await adapter.read(AbortSignal.timeout(deadlineMs));
    return { values: readings.map((r) => r.value), ms: Date.now() - t0 };
  };

  beforeAll(async () => {
    bmc.now = () => clock;
    port = await bmc.start();
  });

  beforeEach(() => {
    bmc.powerWatts = 260;
    bmc.idleTimeoutMs = 60_000;
    bmc.unknownSessionPackets = 0;
  });

  afterEach(async () => {
    for (const a of adapters.splice(0)) await a.close();
    bmc.forgetSessions();
  });

  afterAll(async () => {
    await bmc.stop();
  });

  it('opens a new session before reading when the BMC timed the idle one out (poll every 70 s)', async () => {
    const adapter = adapterFor(4000);
    for (let poll = 0; poll < 3; poll++) {
      const { values, ms } = await timedRead(adapter, 4000);
      expect(values).toEqual([260]);
      // Not one retransmission to the dead session: with 4 tries of 500 ms the read would take 2 s.
      expect(ms).toBeLessThan(1000);
      clock += 70_000;
    }
    // Only the best-effort Close Session of each dead session reached the BMC for a session it had forgotten.
    await waitFor(() => bmc.unknownSessionPackets === 2, 'the Close Session of the timed-out sessions');
    expect(bmc.unknownSessionPackets).toBe(2);
  });

  it('closes the idle session it replaces while the BMC still holds it', async () => {
    const before = bmc.sessionCount;
    const adapter = adapterFor(4000);
    expect((await timedRead(adapter, 4000)).values).toEqual([260]);
    const opened = bmc.sessionsOpened;
    clock += 29_000;
    expect((await timedRead(adapter, 4000)).values).toEqual([260]);
    expect(bmc.sessionsOpened).toBe(opened);
    clock += 45_000;
    expect((await timedRead(adapter, 4000)).values).toEqual([260]);
    expect(bmc.sessionsOpened).toBe(opened + 1);
    // The old session got Close Session: one session on the BMC, not two.
    await waitFor(() => bmc.sessionCount === before + 1, 'the idle session closed');
    clock += 10_000;
    expect((await timedRead(adapter, 4000)).values).toEqual([260]);
    expect(bmc.sessionCount).toBe(before + 1);
    expect(bmc.unknownSessionPackets).toBe(0);
  });

  it('reopens within the read when a dropped session is found only by its silence (no timeout key)', async () => {
    // The idle check cannot see a BMC that dropped the session early (restart, shorter timeout).
    const adapter = adapterFor(2000, {}, { idleReopenMs: Number.POSITIVE_INFINITY });
    expect((await timedRead(adapter, 2000)).values).toEqual([260]);
    bmc.forgetSessions();
    bmc.powerWatts = 261;
    // The tries to the dead session get half the collector's deadline, the new session the other half.
    expect((await timedRead(adapter, 2000)).values).toEqual([261]);
    expect((await timedRead(adapter, 2000)).values).toEqual([261]);
  });

  it('starts the next read with a new session when a read was aborted waiting for the BMC', async () => {
    // A `timeout` longer than the collector's deadline: the read is aborted before its retransmissions end.
    const adapter = adapterFor(10_000, { timeout: 8 }, { idleReopenMs: Number.POSITIVE_INFINITY });
    expect((await timedRead(adapter, 2000)).values).toEqual([260]);
    bmc.forgetSessions();
    const err = await adapter.read(AbortSignal.timeout(300)).then(
      () => new Error('read succeeded but an abort was expected'),
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AdapterError);
    expect((err as AdapterError).code).toBe(IpmiErrorCode.ABORTED);
    bmc.powerWatts = 262;
    // Not sent to the dead session again (tries of 2 s each): a new session answers at once.
    const { values, ms } = await timedRead(adapter, 1500);
    expect(values).toEqual([262]);
    expect(ms).toBeLessThan(1000);
  });
});
