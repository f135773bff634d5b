import { AdapterError, noopLogger, type Reading } from '@energyrecorder/core';
import { SnmpAdapter } from '../../src/snmp/adapter.js';
import { snmpConfigSchema } from '../../src/snmp/config.js';
import { startFakeSnmpAgent, type FakeSnmpAgent } from './fake-snmp-agent.js';

const BASE = '1.3.6.1.4.1.99998';
/** Ten outlet power OIDs, 1.3.6.1.4.1.99998.1.<n>.0 → n * 10 W. */
const OUTLETS = Array.from({ length: 10 }, (_, i) => i + 1);
const VALUES = new Map(OUTLETS.map((n) => [`${BASE}.1.${n}.0`, n * 10]));
const SENSORS = OUTLETS.map((n) => ({ name: `outlet${n}`, oid: `${BASE}.1.${n}.0`, unit: 'W' }));

function adapterFor(agent: FakeSnmpAgent, entry: Record<string, unknown> = {}, timeoutMs = 1000, growProbeEvery?: number): SnmpAdapter {
  const config = snmpConfigSchema.parse({ id: 'pdu-1', type: 'snmp', host: agent.host, port: agent.port, sensors: SENSORS, ...entry });
  return new SnmpAdapter(config, { logger: noopLogger, timeoutMs, growProbeEvery });
}

function values(readings: readonly Reading[]): Array<[string, number]> {
  return readings.map((r) => [r.sensor, r.value]);
}

/** The sensor values of `n` more polls, in order. */
async function pollValues(adapter: SnmpAdapter, n: number): Promise<Array<Array<[string, number]>>> {
  const polls: Array<Array<[string, number]>> = [];
  for (let i = 0; i < n; i++) polls.push(values(await adapter.read(new AbortController().signal)));
  return polls;
}

const EXPECTED = OUTLETS.map((n): [string, number] => [`outlet${n}`, n * 10]);

async function readError(p: Promise<unknown>): Promise<AdapterError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof AdapterError) return err;
    throw err;
  }
  throw new Error('expected the read to fail');
}

describe('snmp adapter against an agent that answers tooBig', () => {
  const closers: Array<() => Promise<void>> = [];

  afterAll(async () => {
    for (const close of closers.reverse()) await close();
  });

  async function agentWith(maxVarbinds: number, oversized?: ReadonlySet<string>): Promise<FakeSnmpAgent> {
    const agent = await startFakeSnmpAgent({ values: VALUES, maxVarbinds, oversized });
    closers.push(() => agent.close());
    return agent;
  }

  it('splits the GET in halves and keeps the sensors in order when the agent takes 3 OIDs per GET', async () => {
    const agent = await agentWith(3);
    const adapter = adapterFor(agent);
    closers.push(() => adapter.close());

    const readings = await adapter.read(new AbortController().signal);

    expect(values(readings)).toEqual(EXPECTED);
    // 10 refused → 5 refused → 3 + 2; then the second 5 refused → 3 + 2.
    expect(agent.requests).toEqual([10, 5, 3, 2, 5, 3, 2]);
    expect(adapter.oidsPerGet).toBe(3);
  });

  it('asks in remembered chunks without any refused GET when it polls again', async () => {
    const agent = await agentWith(3);
    const adapter = adapterFor(agent);
    closers.push(() => adapter.close());
    await adapter.read(new AbortController().signal);
    const firstPoll = agent.requests.length;

    const second = await adapter.read(new AbortController().signal);
    const third = await adapter.read(new AbortController().signal);

    expect(values(second)).toEqual(EXPECTED);
    expect(values(third)).toEqual(EXPECTED);
    expect(agent.requests.slice(firstPoll)).toEqual([3, 3, 3, 1, 3, 3, 3, 1]);
  });

  it('keeps the learnt size when a failed poll made it rebuild the session', async () => {
    const agent = await agentWith(3);
    const adapter = adapterFor(agent, { retries: 0 }, 200);
    closers.push(() => adapter.close());
    await adapter.read(new AbortController().signal);
    agent.silent = true;
    const err = await readError(adapter.read(new AbortController().signal));
    agent.silent = false;
    const beforeRecovery = agent.requests.length;

    const readings = await adapter.read(new AbortController().signal);

    expect(err.code).toBe('ER_SNMP_TIMEOUT');
    expect(values(readings)).toEqual(EXPECTED);
    expect(agent.requests.slice(beforeRecovery)).toEqual([3, 3, 3, 1]);
  });

  it('fails with ER_SNMP_TOO_BIG naming the OID when a single OID is still too big', async () => {
    const agent = await agentWith(10, new Set([`${BASE}.1.7.0`]));
    const adapter = adapterFor(agent);
    closers.push(() => adapter.close());

    const err = await readError(adapter.read(new AbortController().signal));

    expect(err.code).toBe('ER_SNMP_TOO_BIG');
    expect(err.retryable).toBe(false);
    expect(err.message).toContain(`single OID ${BASE}.1.7.0`);
    // 10 refused → 1-5 answered; 6-10 refused → 6-8 refused → 6-7 refused → 6 answered, 7 refused.
    expect(agent.requests).toEqual([10, 5, 5, 3, 2, 1, 1]);
  });

  it('splits SNMPv1 GETs too and still skips an OID unknown to the agent', async () => {
    const agent = await agentWith(2);
    const adapter = adapterFor(agent, {
      version: 'v1',
      sensors: [...SENSORS.slice(0, 3), { name: 'missing', oid: `${BASE}.9.0`, unit: 'W' }, ...SENSORS.slice(3, 4)],
    });
    closers.push(() => adapter.close());

    const readings = await adapter.read(new AbortController().signal);

    expect(values(readings)).toEqual(EXPECTED.slice(0, 4));
    expect(adapter.oidsPerGet).toBe(2);
  });

  it('grows the GET size back, doubling every growProbeEvery polls, when the agent takes larger GETs again', async () => {
    const agent = await agentWith(3);
    const adapter = adapterFor(agent, {}, 1000, 2);
    closers.push(() => adapter.close());
    await adapter.read(new AbortController().signal);
    agent.maxVarbinds = 10;
    const before = agent.requests.length;

    const polls = await pollValues(adapter, 5);

    for (const p of polls) expect(p).toEqual(EXPECTED);
    // learnt 3 → 1 poll at 3 → probe 6 answered (+ the 4 left) → 1 poll at 6 → probe 10 answered → no limit.
    expect(agent.requests.slice(before)).toEqual([3, 3, 3, 1, 6, 4, 6, 4, 10, 10]);
    expect(adapter.oidsPerGet).toBeUndefined();
  });

  it('keeps the learnt size, with one refused GET per probe, when the agent still answers tooBig', async () => {
    const agent = await agentWith(3);
    const adapter = adapterFor(agent, {}, 1000, 2);
    closers.push(() => adapter.close());
    await adapter.read(new AbortController().signal);
    const before = agent.requests.length;

    const polls = await pollValues(adapter, 3);

    for (const p of polls) expect(p).toEqual(EXPECTED);
    // The refused probe of 6 is followed by the learnt chunks of 3, not by halves that would shrink the size.
    expect(agent.requests.slice(before)).toEqual([3, 3, 3, 1, 6, 3, 3, 3, 1, 3, 3, 3, 1]);
    expect(adapter.oidsPerGet).toBe(3);
  });

  it('waits growProbeEvery polls again after a tooBig made the size shrink', async () => {
    const agent = await agentWith(10);
    const adapter = adapterFor(agent, {}, 1000, 2);
    closers.push(() => adapter.close());
    await adapter.read(new AbortController().signal);
    agent.maxVarbinds = 5;
    await adapter.read(new AbortController().signal);
    const before = agent.requests.length;

    await adapter.read(new AbortController().signal);
    await adapter.read(new AbortController().signal);

    expect(adapter.oidsPerGet).toBe(5);
    // One poll at 5, then the probe of 10 (refused) and 5 + 5.
    expect(agent.requests.slice(before)).toEqual([5, 5, 10, 5, 5]);
  });
});
