import { execFile } from 'node:child_process';
import { AdapterError, noopLogger } from '@energyrecorder/core';
import { peerAvailable } from '@energyrecorder/testkit';
import { createIpmiAdapter, ipmiConfigSchema, IpmiErrorCode } from '../../src/ipmi/index.js';
import { FakeBmc } from './fake-bmc.js';

const haveIpmitool = peerAvailable('ipmitool (suite 17 cross-check)', ['ipmitool']);
const describeTool = haveIpmitool ? describe : describe.skip;

function ipmitool(port: number, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'ipmitool',
      ['-I', 'lanplus', '-H', '127.0.0.1', '-p', String(port), '-U', 'admin', '-P', 'sha256-secret', ...args],
      { timeout: 20_000 },
      (err, stdout, stderr) => (err === null ? resolve(stdout) : reject(new Error(stderr, { cause: err }))),
    );
  });
}

describeTool('cipher suite 17 (HMAC-SHA256, AES-CBC-128) against a fake RMCP+ BMC checked by ipmitool', () => {
  const bmc = new FakeBmc(new Map([['admin', 'sha256-secret']]));
  let port = 0;
  const ctx = { logger: noopLogger, requestTimeoutMs: 3000, equipmentId: 'fake' };
  const config = (extra: Record<string, unknown> = {}) =>
    ipmiConfigSchema.parse({
      type: 'ipmi',
      id: 'fake',
      host: '127.0.0.1',
      port,
      user: 'admin',
      pass: 'sha256-secret',
      cipher_suite: 17,
      ...extra,
    });

  beforeAll(async () => {
    port = await bmc.start();
  });

  afterAll(async () => {
    await bmc.stop();
  });

  it('lets ipmitool -C 17 open a session and read DCMI power from the fake BMC', async () => {
    // ipmitool is the independent implementation: if it accepts the fake's RAKP 2/4 and encrypted answers, the
    // fake's suite 17 crypto is right, and so is the client that talks to the same fake below.
    bmc.powerWatts = 287;
    const out = await ipmitool(port, ['-C', '17', 'dcmi', 'power', 'reading']);
    expect(out).toMatch(/Instantaneous power reading:\s+287 Watts/);
  });

  it('reads DCMI power natively with suite 17', async () => {
    bmc.powerWatts = 311;
    const before = bmc.sessionCount;
    const adapter = createIpmiAdapter(config(), ctx);
    try {
      const readings = await adapter.read(AbortSignal.timeout(10_000));
      expect(readings.map((r) => [r.sensor, r.unit, r.value, r.source])).toEqual([['power', 'W', 311, 'dcmi']]);
    } finally {
      await adapter.close();
    }
    expect(bmc.sessionCount).toBe(before);
  });

  it('reads natively with suite 3 on the same fake', async () => {
    const adapter = createIpmiAdapter(config({ cipher_suite: 3 }), ctx);
    try {
      expect((await adapter.read(AbortSignal.timeout(10_000)))[0]?.value).toBe(bmc.powerWatts);
    } finally {
      await adapter.close();
    }
  });

  it('reopens the session when the BMC forgot it', async () => {
    const adapter = createIpmiAdapter(config({ timeout: 1 }), ctx);
    try {
      await adapter.read(AbortSignal.timeout(10_000));
      bmc.forgetSessions();
      bmc.powerWatts = 199;
      expect((await adapter.read(AbortSignal.timeout(10_000)))[0]?.value).toBe(199);
    } finally {
      await adapter.close();
    }
  });

  it('fails with ER_IPMI_BAD_PASSWORD on a wrong password with suite 17', async () => {
    const adapter = createIpmiAdapter(config({ pass: 'wrong' }), ctx);
    await expect(adapter.read(AbortSignal.timeout(10_000))).rejects.toMatchObject({
      code: IpmiErrorCode.BAD_PASSWORD,
    });
    await adapter.close();
  });

  it('falls back to IPMI v1.5 when the BMC does not announce v2.0 and ipmi_version is auto', async () => {
    bmc.announceV20 = false;
    const adapter = createIpmiAdapter(config(), ctx);
    try {
      // The fake has no v1.5 sessions: the Get Session Challenge it refuses shows the fallback was taken.
      await expect(adapter.read(AbortSignal.timeout(10_000))).rejects.toThrow(/Get Session Challenge failed/);
    } finally {
      bmc.announceV20 = true;
      await adapter.close();
    }
  });

  it('fails with ER_IPMI_ABORTED when the signal fires', async () => {
    bmc.silent = true;
    const adapter = createIpmiAdapter(config({ timeout: 30 }), ctx);
    try {
      const err = await adapter.read(AbortSignal.timeout(300)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AdapterError);
      expect((err as AdapterError).code).toBe(IpmiErrorCode.ABORTED);
    } finally {
      bmc.silent = false;
      await adapter.close();
    }
  });
});

describeTool('power source choice against the fake BMC (DCMI measurement active or not, one SDR power sensor)', () => {
  const bmc = new FakeBmc(new Map([['admin', 'source-secret']]));
  let port = 0;
  const ctx = { logger: noopLogger, requestTimeoutMs: 3000, equipmentId: 'fake' };
  const adapterFor = (driver: 'native' | 'ipmitool') =>
    createIpmiAdapter(
      ipmiConfigSchema.parse({ type: 'ipmi', id: 'fake', host: '127.0.0.1', port, user: 'admin', pass: 'source-secret', driver }),
      ctx,
    );
  const read = async (adapter: ReturnType<typeof createIpmiAdapter>) =>
    (await adapter.read(AbortSignal.timeout(20_000))).map((r) => [r.sensor, r.unit, r.value, r.source]);
  const tool = (args: string[]) =>
    new Promise<string>((resolve, reject) => {
      execFile(
        'ipmitool',
        ['-I', 'lanplus', '-H', '127.0.0.1', '-p', String(port), '-U', 'admin', '-P', 'source-secret', '-C', '3', ...args],
        { timeout: 20_000 },
        (err, stdout, stderr) => (err === null ? resolve(stdout) : reject(new Error(stderr, { cause: err }))),
      );
    });

  beforeAll(async () => {
    port = await bmc.start();
  });

  afterAll(async () => {
    await bmc.stop();
  });

  it('reads the SDR power sensor when DCMI answers with the measurement inactive, as ipmitool sees them', async () => {
    bmc.dcmiActive = false;
    bmc.powerWatts = 400;
    bmc.sensorRaw = 100;
    const adapter = adapterFor('native');
    try {
      expect(await read(adapter)).toEqual([['power', 'W', 2 * 100 + 50, 'sdr']]);
      // ipmitool, the independent implementation, reads the fake's SDR and DCMI state the same way.
      expect(await tool(['sensor', 'reading', 'PS1 Input Power'])).toMatch(/^PS1 Input Power\s+\|\s*250$/m);
      expect(await tool(['dcmi', 'power', 'reading'])).toMatch(/Power reading state is:\s+deactivated/);
    } finally {
      bmc.dcmiActive = true;
      await adapter.close();
    }
  });

  it.each(['native', 'ipmitool'] as const)(
    'falls back to the SDR sensor (%s driver) when DCMI measurement stops being active',
    async (driver) => {
      bmc.dcmiActive = true;
      bmc.powerWatts = 311;
      bmc.sensorRaw = 120;
      const adapter = adapterFor(driver);
      try {
        expect(await read(adapter)).toEqual([['power', 'W', 311, 'dcmi']]);
        const sessions = bmc.sessionCount;
        bmc.dcmiActive = false;
        expect(await read(adapter)).toEqual([['power', 'W', 2 * 120 + 50, 'sdr']]);
        bmc.sensorRaw = 130;
        expect(await read(adapter)).toEqual([['power', 'W', 2 * 130 + 50, 'sdr']]);
        // The native driver keeps its session (ipmitool closes one per run).
        if (driver === 'native') expect(bmc.sessionCount).toBe(sessions);
      } finally {
        bmc.dcmiActive = true;
        await adapter.close();
      }
    },
  );
});
