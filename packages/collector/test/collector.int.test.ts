import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createAdapterRegistry } from '@energyrecorder/core';
import { getFreePort, makeTempDir, removeDir, waitFor } from '@energyrecorder/testkit';
import { Collector } from '../src/collector.js';
import { loadCollectorConfigFile, parseCollectorConfigText } from '../src/internal/config.js';
import type { DeviceStatus } from '../src/internal/scheduler.js';
import { FakeApi } from './helpers/fake-api.js';
import { RealApi } from './helpers/api.js';
import { FakeDevices } from './helpers/fake-devices.js';
import { httpJsonAdapter } from './helpers/http-adapter.js';
import { newScriptState, scriptedAdapter } from './helpers/test-adapters.js';
import { captureLogger, type LogLine } from './helpers/capture-logger.js';

const registry = createAdapterRegistry([httpJsonAdapter]);

/**
 * Checks "every reading once, in order" without depending on machine speed: what the API stored is strictly
 * increasing (no duplicate, no reordering), only holds values the device served, and counts exactly the
 * readings the collector took (a value the device served to a read that timed out was never taken).
 */
function expectOnceInOrder(stored: number[], served: number[] | undefined, taken: number | undefined): void {
  expect(stored.every((v, i) => i === 0 || v > (stored[i - 1] ?? Infinity))).toBe(true);
  const servedSet = new Set(served ?? []);
  expect(stored.filter((v) => !servedSet.has(v))).toEqual([]);
  expect(stored).toHaveLength(taken ?? -1);
}

function readingsTaken(c: Collector, id: string): number | undefined {
  return c.status().environments.flatMap((e) => e.devices).find((d) => d.id === id)?.readings;
}

function settingsYaml(apiUrl: string, spoolDir: string, intervalS: number, devices: Record<string, string>): string {
  const servers = Object.entries(devices)
    .map(([id, url]) => `      - {id: "${id}", type: http-json, url: "${url}"}`)
    .join('\n');
  return `PODS:
  - environment: "POD-A"
    polling_interval: ${intervalS}
    topology: {dc: myDC, rack: rack-B}
    servers:
${servers}
RECORDER_API_SERVER:
  base_url: "${apiUrl}"
  user: ""
  pass: ""
  verify_cert: true
  timeout: 5
COLLECTOR:
  spool_dir: "${spoolDir}"
  flush_interval_ms: 100
`;
}

describe('Collector end to end with the real api-server', () => {
  let dir: string;
  let api: RealApi;
  let devices: FakeDevices;
  let collector: Collector | undefined;

  beforeEach(async () => {
    dir = makeTempDir('collector-e2e');
    api = new RealApi(dir);
    await api.start();
    devices = new FakeDevices();
    await devices.listen();
  });
  afterEach(async () => {
    await collector?.stop(2000);
    collector = undefined;
    await api.stop();
    await devices.close();
    removeDir(dir);
  });

  async function startCollector(intervalS: number, names: string[]): Promise<Collector> {
    const file = join(dir, 'collector-settings.yaml');
    const devs = Object.fromEntries(names.map((n) => [n, devices.url(n)]));
    writeFileSync(file, settingsYaml(api.url, join(dir, 'spool'), intervalS, devs));
    const c = await Collector.create({ config: await loadCollectorConfigFile(file, registry) });
    await c.start();
    collector = c;
    return c;
  }

  it('stores readings tagged with the environment and the running scenario when a scenario runs', async () => {
    await api.startScenario('POD-A', 'vping', 'running');
    const c = await startCollector(0.2, ['srv-1', 'srv 2']);
    await waitFor(() => api.valuesOf('srv 2').length >= 3 && api.valuesOf('srv-1').length >= 3, 'readings of both devices');
    await c.stop(2000);
    const rows = api.stored;
    expect(rows.every((r) => r.environment === 'POD-A' && r.scenario === 'vping' && r.step === 'running')).toBe(true);
    expect(rows.every((r) => r.sensor === 'power')).toBe(true);
    // Own timestamps with sub-second precision: not all on whole seconds as the original sent them.
    expect(rows.some((r) => r.timestampNs % 1e9 !== 0)).toBe(true);
    expectOnceInOrder(api.valuesOf('srv-1'), devices.served.get('srv-1'), readingsTaken(c, 'srv-1'));
  });

  it('delivers every reading once and in order when the API is down for a while during polling', async () => {
    const c = await startCollector(0.2, ['meter']);
    await waitFor(() => api.valuesOf('meter').length >= 3, 'first readings');
    await api.stop();
    const servedAtStop = devices.served.get('meter')?.length ?? 0;
    await waitFor(() => (devices.served.get('meter')?.length ?? 0) >= servedAtStop + 10, 'readings during the outage');
    expect(c.status().push.spoolBatches + c.status().push.pendingBatches).toBeGreaterThan(0);
    await api.start();
    await waitFor(() => c.status().push.apiReachable && c.status().push.spoolBatches === 0, 'spool drained', 30_000);
    // Polling goes on after the restart: wait for a fresh reading so the count below does not race the stop.
    await waitFor(() => api.valuesOf('meter').length > servedAtStop + 10, 'a reading taken after the restart');
    await c.stop(5000);
    expectOnceInOrder(api.valuesOf('meter'), devices.served.get('meter'), readingsTaken(c, 'meter'));
    expect(api.valuesOf('meter').length).toBeGreaterThan(13);
  });

  it('keeps the ticks of healthy devices when hanging, slow and failing devices share their environment', async () => {
    devices.modes.set('hang', 'hang');
    devices.modes.set('slow', 'slow');
    devices.modes.set('fail', 'fail');
    devices.modes.set('garbage', 'garbage');
    devices.modes.set('auth', 'auth');
    devices.slowMs = 250;
    const c = await startCollector(1, ['ok-1', 'hang', 'slow', 'fail', 'garbage', 'auth', 'ok-2']);
    await waitFor(() => (c.status().environments[0]?.ticks ?? 0) >= 6, '6 ticks');
    await c.stop(3000);
    const byId = new Map(c.status().environments[0]?.devices.map((d) => [d.id, d]));
    for (const id of ['ok-1', 'ok-2', 'slow']) {
      const d = byId.get(id);
      expect({ id, reads: d?.reads, failures: d?.failures, missed: d?.missedTicks }).toEqual({
        id,
        reads: d?.ticks,
        failures: 0,
        missed: 0,
      });
      expectOnceInOrder(api.valuesOf(id), devices.served.get(id), d?.readings);
    }
    expect(byId.get('hang')?.failures).toBeGreaterThan(0);
    expect(byId.get('hang')?.lastError).toMatch(/ER_TIMEOUT|abort/i);
    for (const id of ['fail', 'garbage', 'auth']) {
      expect({ id, failing: (byId.get(id)?.failures ?? 0) > 0 }).toEqual({ id, failing: true });
      // Back-off: the failing devices were not hammered on every tick.
      expect({ id, backedOff: (byId.get(id)?.backoffSkips ?? 0) > 0 }).toEqual({ id, backedOff: true });
      expect(api.valuesOf(id)).toEqual([]);
    }
    expect(byId.get('auth')?.lastError).toMatch(/HTTP 401/);
    expect(byId.get('garbage')?.lastError).toMatch(/JSON/);
  });

  it('reads a device that was unreachable at start once it comes up, without a restart', async () => {
    const port = await getFreePort();
    const late = new FakeDevices();
    const file = join(dir, 'collector-settings.yaml');
    const url = `http://127.0.0.1:${port}/dev/late`;
    writeFileSync(file, settingsYaml(api.url, join(dir, 'spool'), 0.2, { up: devices.url('up'), late: url }));
    const c = await Collector.create({ config: await loadCollectorConfigFile(file, registry) });
    collector = c;
    await c.start();
    const lateStatus = (): DeviceStatus | undefined => c.status().environments[0]?.devices.find((d) => d.id === 'late');
    try {
      await waitFor(() => (lateStatus()?.failures ?? 0) >= 2, 'failed reads of the unreachable device');
      expect(lateStatus()?.lastError).toMatch(/unreachable/);
      await late.listen(port);
      await waitFor(() => api.valuesOf('late').length >= 3, 'readings of the device once it is up', 30_000);
      expect(lateStatus()?.consecutiveFailures).toBe(0);
      expect(api.valuesOf('up').length).toBeGreaterThan(api.valuesOf('late').length);
    } finally {
      await late.close();
    }
  });

  it('adds and removes devices without losing queued readings when the configuration is reloaded', async () => {
    const c = await startCollector(0.2, ['a', 'b']);
    await waitFor(() => api.valuesOf('b').length >= 2, 'readings of b');
    await api.stop();
    await waitFor(() => (devices.served.get('a')?.length ?? 0) >= (api.valuesOf('a').length + 5), 'spooled readings');
    const file = join(dir, 'collector-settings.yaml');
    const takenByB = readingsTaken(c, 'b');
    writeFileSync(file, settingsYaml(api.url, join(dir, 'spool'), 0.2, { a: devices.url('a'), c: devices.url('c') }));
    await c.reload(await loadCollectorConfigFile(file, registry));
    await waitFor(() => (devices.served.get('c')?.length ?? 0) >= 3, 'readings of c');
    await api.start();
    await waitFor(() => c.status().push.apiReachable && c.status().push.spoolBatches === 0, 'spool drained', 30_000);
    await c.stop(5000);
    expectOnceInOrder(api.valuesOf('a'), devices.served.get('a'), readingsTaken(c, 'a'));
    // b's count was read before the reload: a read already in flight then may still complete (and be taken)
    // before the reload retires the device, so one more stored reading is fine; one fewer would be a loss.
    const storedB = api.valuesOf('b');
    expectOnceInOrder(storedB, devices.served.get('b'), storedB.length);
    expect(storedB.length - (takenByB ?? -1)).toBeGreaterThanOrEqual(0);
    expect(storedB.length - (takenByB ?? -1)).toBeLessThanOrEqual(1);
    expectOnceInOrder(api.valuesOf('c'), devices.served.get('c'), readingsTaken(c, 'c'));
  });
});

describe('Collector delivery confirmation', () => {
  it('calls the adapter acknowledge() with the readings once the API confirmed them, and not before', async () => {
    const dir = makeTempDir('collector-ack');
    const api = new FakeApi();
    await api.listen();
    const state = newScriptState();
    const reg = createAdapterRegistry([scriptedAdapter(state)]);
    let ok = false;
    api.answer = () => (ok ? { status: 200, body: { status: 'OK' } } : { status: 503, body: { message: 'later' } });
    const config = parseCollectorConfigText(
      `PODS: [{environment: E, polling_interval: 0.1, servers: [{id: csv, type: scripted, name: csv}]}]
RECORDER_API_SERVER: {base_url: "${api.url}"}
COLLECTOR: {spool_dir: "${join(dir, 'spool')}", flush_interval_ms: 50}
`,
      reg,
    );
    const c = await Collector.create({ config });
    try {
      await c.start();
      await waitFor(() => c.status().push.spoolBatches >= 3, 'spooled batches');
      expect(state.acked.get('csv') ?? []).toHaveLength(0);
      ok = true;
      await waitFor(() => (state.acked.get('csv')?.length ?? 0) >= 3, 'acknowledged readings', 30_000);
      const acked = state.acked.get('csv') ?? [];
      expect(acked.every((r) => r.sensor === 'power' && r.unit === 'W' && r.timestampNs > 1e18)).toBe(true);
    } finally {
      await c.stop(2000);
      await api.close();
      removeDir(dir);
    }
  });
});

describe('Collector /healthz and /metrics', () => {
  it('answers 503 DEGRADED while readings are being dropped during an outage, and 200 once the API is back', async () => {
    const dir = makeTempDir('collector-health');
    const api = new FakeApi();
    await api.listen();
    let up = false;
    api.answer = () => (up ? { status: 200, body: { status: 'OK' } } : { status: 503, body: { message: 'influx down' } });
    const servers = ['m1', 'm2', 'm3', 'm4'].map((n) => `{id: ${n}, type: scripted, name: ${n}}`).join(', ');
    const config = parseCollectorConfigText(
      `PODS: [{environment: E, polling_interval: 0.1, servers: [${servers}]}]
RECORDER_API_SERVER: {base_url: "${api.url}"}
COLLECTOR: {spool_dir: "${join(dir, 'spool')}", flush_interval_ms: 50, spool_max_bytes: 20000, http_port: 0}
`,
      createAdapterRegistry([scriptedAdapter(newScriptState())]),
    );
    const c = await Collector.create({ config });
    const health = async (): Promise<{ status: number; body: Record<string, unknown> }> => {
      const res = await fetch(`${c.statusUrl ?? ''}/healthz`);
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const metric = async (name: string): Promise<number> => {
      const line = (await (await fetch(`${c.statusUrl ?? ''}/metrics`)).text()).split('\n').find((l) => l.startsWith(`${name} `));
      return Number(line?.slice(name.length + 1) ?? NaN);
    };
    try {
      await c.start();
      await waitFor(async () => (await metric('energyrecorder_collector_dropped_readings_total')) > 0, 'dropped readings', 30_000);
      // Dropping whole segments takes the spool back under 90 %: health must stay DEGRADED all the same.
      for (let i = 0; i < 10; i++) {
        const h = await health();
        expect(h).toMatchObject({ status: 503, body: { status: 'DEGRADED', apiReachable: false, lastPushError: '503: influx down' } });
        expect(h.body['droppedReadingsThisOutage']).toBeGreaterThan(0);
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(await metric('energyrecorder_collector_spool_bytes')).toBeLessThanOrEqual(20000);
      expect(await metric('energyrecorder_collector_api_up')).toBe(0);
      up = true;
      await waitFor(async () => (await health()).status === 200, '/healthz 200 once the API answers', 30_000);
      expect((await health()).body).toMatchObject({ status: 'OK', apiReachable: true, droppedReadingsThisOutage: 0 });
    } finally {
      await c.stop(2000);
      await api.close();
      removeDir(dir);
    }
  });
});

describe('Collector with an api-server that records only during scenarios (ALWAYS_RECORD false)', () => {
  it('drops the batches sent while nothing runs, without an error, and delivers those of the scenario', async () => {
    const dir = makeTempDir('collector-not-recording');
    const api = new RealApi(dir, { ALWAYS_RECORD: false });
    await api.start();
    const devices = new FakeDevices();
    await devices.listen();
    const lines: LogLine[] = [];
    const yaml = `PODS:
  - environment: "POD-N"
    polling_interval: 0.2
    servers:
      - {id: "m", type: http-json, url: "${devices.url('m')}"}
RECORDER_API_SERVER:
  base_url: "${api.url}"
COLLECTOR:
  spool_dir: "${join(dir, 'spool')}"
  flush_interval_ms: 100
`;
    const c = await Collector.create({ config: parseCollectorConfigText(yaml, registry), logger: captureLogger(lines) });
    try {
      await c.start();
      await waitFor(() => c.status().push.notRecordedReadings >= 3, 'batches sent while nothing runs');
      expect(c.status().push.spoolBatches).toBeLessThanOrEqual(2);
      const res = await fetch(`${api.url}/resources/recorders/environment/POD-N`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ scenario: 'S', step: 'one' }),
      });
      expect(res.status).toBe(200);
      await waitFor(() => api.stored.filter((r) => r.scenario === 'S').length >= 3, 'readings of the scenario');
      expect(api.stored.every((r) => r.scenario === 'S')).toBe(true);
      expect(lines.filter((l) => l.level === 'error' || l.level === 'warn')).toEqual([]);
    } finally {
      await c.stop(2000);
      await api.stop();
      await devices.close();
      removeDir(dir);
    }
  });
});

describe('Collector when the real api-server refuses its settings', () => {
  let dir: string;
  let api: RealApi;
  let devices: FakeDevices;
  let collector: Collector | undefined;
  const lines: LogLine[] = [];

  beforeEach(async () => {
    lines.length = 0;
    dir = makeTempDir('collector-refused');
    api = new RealApi(dir, { AUTH: { users: [{ name: 'col', password: 'S3cret-pw', role: 'writer' }] } });
    await api.start();
    devices = new FakeDevices();
    await devices.listen();
  });
  afterEach(async () => {
    await collector?.stop(2000);
    collector = undefined;
    await api.stop();
    await devices.close();
    removeDir(dir);
  });

  function yamlFor(api: { base_url: string; user?: string; pass?: string }): string {
    const creds = api.user === undefined ? '' : `  user: "${api.user}"\n  pass: "${api.pass ?? ''}"\n`;
    return `PODS:
  - environment: "POD-A"
    polling_interval: 0.2
    servers:
      - {id: "m", type: http-json, url: "${devices.url('m')}"}
RECORDER_API_SERVER:
  base_url: "${api.base_url}"
${creds}  timeout: 5
COLLECTOR:
  spool_dir: "${join(dir, 'spool')}"
  flush_interval_ms: 100
  http_port: 0
`;
  }

  async function health(c: Collector): Promise<{ status: number; body: { problems?: string[] } & Record<string, unknown> }> {
    const res = await fetch(`${c.statusUrl ?? ''}/healthz`);
    return { status: res.status, body: (await res.json()) as { problems?: string[] } & Record<string, unknown> };
  }

  async function refusedThenFixed(
    wrong: { base_url: string; user?: string; pass?: string },
    fixed: { base_url: string; user?: string; pass?: string },
    problem: RegExp,
  ): Promise<Collector> {
    const c = await Collector.create({ config: parseCollectorConfigText(yamlFor(wrong), registry), logger: captureLogger(lines) });
    collector = c;
    await c.start();
    await waitFor(() => c.status().push.spoolBatches >= 5, 'batches kept in the spool');
    const h = await health(c);
    expect(h.status).toBe(503);
    expect(h.body.problems?.join('\n')).toMatch(problem);
    expect(c.status().push).toMatchObject({ rejectedBatches: 0, rejectedReadings: 0, droppedReadings: 0, apiReachable: false });
    expect(api.valuesOf('m')).toEqual([]);
    expect(lines.filter((l) => l.fields['code'] === 'ER_PUSH_REJECTED')).toEqual([]);
    const refused = lines.filter((l) => l.fields['code'] === 'ER_PUSH_REFUSED');
    expect(refused.length).toBeGreaterThan(0);
    // Throttled: the first three, then on powers of two.
    expect(refused.every((l) => [1, 2, 3, 4, 8, 16, 32, 64, 128].includes(Number(l.fields['refusals'])))).toBe(true);
    await c.reload(parseCollectorConfigText(yamlFor(fixed), registry));
    await waitFor(() => c.status().push.spoolBatches === 0 && c.status().push.deliveredBatches >= 5, 'spool delivered', 30_000);
    await waitFor(async () => (await health(c)).status === 200, '/healthz 200 once batches are delivered');
    expect((await health(c)).body['lastPushError']).toBeUndefined();
    await c.stop(5000);
    // Nothing was lost while the settings were wrong: every reading taken arrived once, in order.
    expectOnceInOrder(api.valuesOf('m'), devices.served.get('m'), readingsTaken(c, 'm'));
    return c;
  }

  it('keeps every batch while the password is wrong and delivers them all once a reload fixes it', async () => {
    await refusedThenFixed(
      { base_url: api.url, user: 'col', pass: 'Wr0ng-pw' },
      // The fix puts the credentials in base_url: taken as Basic auth, never logged.
      { base_url: api.url.replace('http://', 'http://col:S3cret-pw@') },
      /answered 401: check RECORDER_API_SERVER\.user and pass/,
    );
    expect(lines.some((l) => l.msg === 'API settings changed' && l.fields['baseUrl'] === api.url)).toBe(true);
    expect(JSON.stringify(lines)).not.toContain('S3cret-pw');
  });

  it('keeps every batch while base_url ends in /resources and delivers them all once a reload fixes it', async () => {
    await refusedThenFixed(
      { base_url: `${api.url}/resources`, user: 'col', pass: 'S3cret-pw' },
      { base_url: api.url, user: 'col', pass: 'S3cret-pw' },
      /answered 404: check RECORDER_API_SERVER\.base_url: it is the server root, without \/resources/,
    );
  });
});
