import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, createAdapterRegistry } from '@energyrecorder/core';
import { makeTempDir, removeDir, waitFor } from '@energyrecorder/testkit';
import { Collector } from '../src/collector.js';
import { parseCollectorConfigText } from '../src/internal/config.js';
import type { ApiTransport } from '../src/internal/transport.js';
import { newScriptState, scriptedAdapter, type ScriptState } from './helpers/test-adapters.js';
import { captureLogger, type LogLine } from './helpers/capture-logger.js';
import { FakeClock } from './helpers/fake-clock.js';

/** An API that is never reachable, without any network traffic: every batch stays in the spool. */
const downTransport = (): ApiTransport => ({
  post: async () => ({ kind: 'retry', message: 'ECONNREFUSED' }),
  close: async () => undefined,
});

function config(
  state: ScriptState,
  spoolDir: string,
  opts: { devices?: string[]; api?: string; collector?: string } = {},
): ReturnType<typeof parseCollectorConfigText> {
  const registry = createAdapterRegistry([scriptedAdapter(state)]);
  const servers = (opts.devices ?? ['m1']).map((d) => `{id: ${d}, type: scripted, name: ${d}}`).join(', ');
  return parseCollectorConfigText(
    `PODS:
  - environment: E
    polling_interval: 0.1
    servers: [${servers}]
RECORDER_API_SERVER: {base_url: "http://127.0.0.1:9"${opts.api ?? ''}}
COLLECTOR: {spool_dir: "${spoolDir}", flush_interval_ms: 60000${opts.collector ?? ''}}
`,
    registry,
  );
}

const deviceIds = (c: Collector): string[] => c.status().environments.flatMap((e) => e.devices.map((d) => d.id));

describe('Collector', () => {
  let dir: string;
  beforeEach(() => {
    dir = makeTempDir('collector-unit');
  });
  afterEach(() => removeDir(dir));

  it('releases the spool lock when create fails after opening the spool', async () => {
    const state = newScriptState();
    const failing = (): ApiTransport => {
      throw new ConfigError([{ path: 'RECORDER_API_SERVER.ca_file', message: 'cannot read' }]);
    };
    await expect(Collector.create({ config: config(state, dir), createTransport: failing })).rejects.toMatchObject({
      code: 'ER_CONFIG',
    });
    expect(existsSync(join(dir, 'lock.pid'))).toBe(false);
    const c = await Collector.create({ config: config(state, dir), createTransport: downTransport, spoolFsync: false });
    await c.stop(100);
  });

  it('spools the queued batches before waiting for an adapter whose close() never settles when stopped', async () => {
    const state = newScriptState();
    state.hangClose.add('m1');
    const c = await Collector.create({
      config: config(state, dir),
      createTransport: downTransport,
      spoolFsync: false,
      adapterCloseTimeoutMs: 2000,
    });
    await c.start();
    await waitFor(() => c.status().push.pendingBatches >= 2, 'readings queued in memory', 5000, 20);
    const started = Date.now();
    let stopped = false;
    const stopping = c.stop(1000).then(() => void (stopped = true));
    await waitFor(
      () => c.status().push.pendingBatches === 0 && c.status().push.spoolBatches > 0,
      'queued batches in the spool',
      5000,
      20,
    );
    // Spooled while the adapter's close was still being waited for.
    expect(Date.now() - started).toBeLessThan(2000);
    expect(stopped).toBe(false);
    await stopping;
    expect(Date.now() - started).toBeLessThan(4000);
    expect(state.closed.get('m1')).toBe(1);
  });

  it('ends with the newest configuration when a second reload comes while the first waits for the old transport', async () => {
    const state = newScriptState();
    let releaseFirst: () => void = () => undefined;
    const built: { timeout: number; closed: boolean }[] = [];
    const makeTransport = (settings: { timeout: number }): ApiTransport => {
      const entry = { timeout: settings.timeout, closed: false };
      built.push(entry);
      // The first transport has a POST in flight: closing it waits until the API answers.
      const closing = built.length === 1 ? new Promise<void>((r) => (releaseFirst = r)) : Promise.resolve();
      return {
        post: async () => ({ kind: 'retry', message: 'ECONNREFUSED' }),
        close: async () => {
          await closing;
          entry.closed = true;
        },
      };
    };
    const c = await Collector.create({ config: config(state, dir), createTransport: makeTransport, spoolFsync: false });
    try {
      const x = c.reload(config(state, dir, { devices: ['m1', 'mX'], api: ', timeout: 31' }));
      await new Promise((r) => setImmediate(r));
      // Devices are applied before the old transport is waited for.
      expect(deviceIds(c)).toEqual(['m1', 'mX']);
      const y = c.reload(config(state, dir, { devices: ['m1', 'mY'], api: ', timeout: 32' }));
      await new Promise((r) => setImmediate(r));
      releaseFirst();
      await Promise.all([x, y]);
      expect(deviceIds(c)).toEqual(['m1', 'mY']);
      expect(built.map((b) => b.timeout)).toEqual([30, 31, 32]);
      expect(built.map((b) => b.closed)).toEqual([true, true, false]);
    } finally {
      await c.stop(100);
    }
  });

  it('applies only the latest of several reloads waiting behind a running one', async () => {
    const state = newScriptState();
    const c = await Collector.create({ config: config(state, dir), createTransport: downTransport, spoolFsync: false });
    try {
      const reloads = ['a', 'b', 'c'].map((d) => c.reload(config(state, dir, { devices: ['m1', d] })));
      await Promise.all(reloads);
      expect(deviceIds(c)).toEqual(['m1', 'c']);
    } finally {
      await c.stop(100);
    }
  });

  it('keeps the running COLLECTOR settings and names the changed keys when a reload changes them', async () => {
    const state = newScriptState();
    const lines: LogLine[] = [];
    const c = await Collector.create({
      config: config(state, dir),
      createTransport: downTransport,
      spoolFsync: false,
      logger: captureLogger(lines),
    });
    try {
      await c.start();
      await waitFor(() => c.status().push.pendingBatches >= 2, 'readings queued', 5000, 20);
      await c.flush();
      expect(c.status().push).toMatchObject({ apiReachable: false });
      expect(c.health().ok).toBe(true);
      await c.reload(config(state, dir, { collector: ', spool_max_bytes: 10, log_level: debug' }));
      const warned = lines.find((l) => /only on restart/.test(l.msg));
      expect(warned?.fields['keys']).toEqual(['COLLECTOR.spool_max_bytes', 'COLLECTOR.log_level']);
      // The spool still has its 256 MiB bound: /healthz measures against it, not against the 10 bytes not applied.
      expect(c.health().ok).toBe(true);
    } finally {
      await c.stop(100);
    }
  });

  it('never logs the credentials of base_url when a reload changes the API settings', async () => {
    const state = newScriptState();
    const lines: LogLine[] = [];
    const c = await Collector.create({
      config: config(state, dir),
      createTransport: downTransport,
      spoolFsync: false,
      logger: captureLogger(lines),
    });
    try {
      const next = config(state, dir);
      next.settings.RECORDER_API_SERVER.base_url = 'http://col:S3cret%21@127.0.0.1:9/recorder';
      await c.reload(next);
      expect(lines.find((l) => l.msg === 'API settings changed')?.fields['baseUrl']).toBe('http://127.0.0.1:9/recorder');
      expect(JSON.stringify(lines)).not.toMatch(/S3cret/);
    } finally {
      await c.stop(100);
    }
  });

  it('reports on /healthz when batches have waited over max(5 min, 10 flush intervals) without a delivery', async () => {
    const state = newScriptState();
    const clock = new FakeClock(1_763_000_000_000);
    const c = await Collector.create({ config: config(state, dir), createTransport: downTransport, spoolFsync: false, clock });
    try {
      await c.start();
      for (let i = 0; i < 50 && c.status().push.pendingBatches === 0; i++) {
        await clock.advance(100);
        await new Promise((r) => setTimeout(r, 2));
      }
      expect(c.status().push.pendingBatches).toBeGreaterThan(0);
      // flush_interval_ms is 60 s here: 10 of them (600 s) is the bound, not 5 min.
      clock.jump(599_000);
      expect(c.health().ok).toBe(true);
      clock.jump(2000);
      const h = c.health();
      expect(h.ok).toBe(false);
      expect(h.body).toMatchObject({ status: 'DEGRADED', problems: [expect.stringMatching(/no batch delivered for 60\d s/)] });
    } finally {
      await c.stop(100);
    }
  });

  it('reports on /healthz that readings are not being spooled when the spool directory is replaced by a file', async () => {
    const state = newScriptState();
    const lines: LogLine[] = [];
    const spoolDir = join(dir, 'spool');
    const c = await Collector.create({
      config: config(state, spoolDir, { devices: ['m1', 'm2', 'm3', 'm4'], collector: ', spool_max_bytes: 16000' }),
      createTransport: downTransport,
      spoolFsync: false,
      logger: captureLogger(lines),
    });
    try {
      await c.start();
      await waitFor(() => c.status().push.pendingBatches > 0, 'readings queued', 5000, 20);
      await c.flush();
      expect(c.health().ok).toBe(true);
      rmSync(spoolDir, { recursive: true, force: true });
      // A removed directory is recreated at the next append; a file in its place makes that impossible.
      writeFileSync(spoolDir, '');
      for (let i = 0; i < 200 && c.health().ok; i++) {
        await new Promise((r) => setTimeout(r, 20));
        await c.flush();
      }
      const h = c.health();
      expect(h.ok).toBe(false);
      expect(h.body).toMatchObject({ problems: [expect.stringMatching(/^spool: append failed: .*spool directory lost: EEXIST/)] });
      // Keeps failing at every flush, logged as an error only the first three times, then on powers of two.
      for (let i = 0; i < 10; i++) await c.flush();
      const failed = lines.filter((l) => /spool append failed/.test(l.msg));
      expect(failed.length).toBeGreaterThanOrEqual(10);
      expect(failed.filter((l) => l.level === 'error').map((l) => l.fields['failures'])).toEqual(
        failed.map((l) => l.fields['failures']).filter((n) => [1, 2, 3, 4, 8, 16, 32, 64, 128].includes(Number(n))),
      );
    } finally {
      await c.stop(100);
    }
  });
});
