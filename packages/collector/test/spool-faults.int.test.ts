import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createAdapterRegistry } from '@energyrecorder/core';
import { makeTempDir, removeDir, waitFor } from '@energyrecorder/testkit';
import { Collector } from '../src/collector.js';
import { loadCollectorConfigFile } from '../src/internal/config.js';
import { RealApi } from './helpers/api.js';
import { FakeDevices } from './helpers/fake-devices.js';
import { httpJsonAdapter } from './helpers/http-adapter.js';
import { captureLogger, type LogLine } from './helpers/capture-logger.js';
import { smallDisk, type SmallDisk } from './helpers/small-disk.js';

const registry = createAdapterRegistry([httpJsonAdapter]);

/** What the API stored is each value once, in order, and only values the device served. */
function expectOnceInOrder(stored: number[], served: number[] | undefined, taken: number | undefined): void {
  expect(stored.every((v, i) => i === 0 || v > (stored[i - 1] ?? Infinity))).toBe(true);
  const servedSet = new Set(served ?? []);
  expect(stored.filter((v) => !servedSet.has(v))).toEqual([]);
  expect(stored).toHaveLength(taken ?? -1);
}

describe('Collector with the real api-server when its spool cannot be written', () => {
  let dir: string;
  let spoolDir: string;
  let api: RealApi;
  let devices: FakeDevices;
  let collector: Collector | undefined;
  let disk: SmallDisk | undefined;
  const lines: LogLine[] = [];

  beforeEach(async () => {
    dir = makeTempDir('collector-spool-faults');
    spoolDir = join(dir, 'spool');
    api = new RealApi(dir);
    await api.start();
    devices = new FakeDevices();
    await devices.listen();
    lines.length = 0;
  });
  afterEach(async () => {
    await collector?.stop(2000);
    collector = undefined;
    disk?.restore();
    disk = undefined;
    await api.stop();
    await devices.close();
    removeDir(dir);
  });

  async function startCollector(names: string[]): Promise<Collector> {
    const file = join(dir, 'collector-settings.yaml');
    const servers = names.map((n) => `      - {id: "${n}", type: http-json, url: "${devices.url(n)}"}`).join('\n');
    writeFileSync(
      file,
      `PODS:
  - environment: "POD-A"
    polling_interval: 0.2
    servers:
${servers}
RECORDER_API_SERVER:
  base_url: "${api.url}"
  timeout: 5
COLLECTOR:
  spool_dir: "${spoolDir}"
  flush_interval_ms: 100
`,
    );
    const c = await Collector.create({ config: await loadCollectorConfigFile(file, registry), logger: captureLogger(lines) });
    await c.start();
    collector = c;
    return c;
  }

  const readingsOf = (c: Collector, id: string): number | undefined =>
    c.status().environments.flatMap((e) => e.devices).find((d) => d.id === id)?.readings;

  it('keeps delivering every reading once, in order, while the disk is full, and spools again once it has room', async () => {
    const c = await startCollector(['m1', 'm2']);
    await waitFor(() => api.valuesOf('m1').length >= 3 && api.valuesOf('m2').length >= 3, 'first readings');
    // Capacity 0: full whatever the spool deletes, as when another process keeps taking the space freed.
    disk = await smallDisk(spoolDir, 0);
    const before = api.valuesOf('m1').length;
    await waitFor(() => c.status().push.spoolError !== undefined, 'the spool error');
    await waitFor(() => api.valuesOf('m1').length >= before + 10, '10 more readings delivered while the disk is full');
    const h = c.health();
    expect(h.ok).toBe(false);
    expect(JSON.stringify(h.body)).toMatch(/ENOSPC/);
    expect(c.status().push).toMatchObject({ apiReachable: true, droppedReadings: 0 });
    expect(c.status().push.pendingBatches).toBeLessThanOrEqual(4);
    disk.capacity = 1 << 30;
    await waitFor(() => c.status().push.spoolError === undefined, 'appends working again');
    await c.stop(5000);
    collector = undefined;
    for (const id of ['m1', 'm2']) expectOnceInOrder(api.valuesOf(id), devices.served.get(id), readingsOf(c, id));
    expect(lines.filter((l) => /readings lost/.test(l.msg))).toEqual([]);
  });

  it('delivers what it had spooled and what it reads next when the spool directory is removed while running', async () => {
    const c = await startCollector(['m1']);
    await waitFor(() => api.valuesOf('m1').length >= 3, 'first readings');
    await api.stop();
    await waitFor(() => c.status().push.spoolBatches >= 5, 'batches spooled during an API outage');
    rmSync(spoolDir, { recursive: true, force: true });
    await api.start();
    const atRestart = devices.served.get('m1')?.length ?? 0;
    await waitFor(
      () => c.status().push.spoolBatches === 0 && api.valuesOf('m1').length > atRestart + 3,
      'spool drained and new readings delivered',
      30_000,
    );
    expect(c.status().push.droppedReadings).toBe(0);
    expect(c.status().push.spoolError).toBeUndefined();
    await c.stop(5000);
    collector = undefined;
    expectOnceInOrder(api.valuesOf('m1'), devices.served.get('m1'), readingsOf(c, 'm1'));
    expect(lines.some((l) => l.level === 'error' && /directory or segment removed/.test(l.msg))).toBe(true);
  });
});
