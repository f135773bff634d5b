import { writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { getFreePort, makeTempDir, ManagedProcess, removeDir, waitFor } from '@energyrecorder/testkit';
import { RealApi } from './helpers/api.js';
import { SHUTDOWN_DEADLINE_MS } from '../src/cli.js';
import { bundleCli } from './helpers/bundle-cli.js';
import { FakeDevices } from './helpers/fake-devices.js';

const ADAPTERS = join(__dirname, 'fixtures', 'http-json-adapter.mjs');

function yaml(apiUrl: string, spoolDir: string, httpPort: number, devices: Record<string, string>, timeoutS = 5): string {
  const servers = Object.entries(devices)
    .map(([id, url]) => `      - {id: "${id}", type: http-json, url: "${url}"}`)
    .join('\n');
  return `PODS:
  - environment: "POD-CLI"
    polling_interval: 0.25
    servers:
${servers}
RECORDER_API_SERVER:
  base_url: "${apiUrl}"
  timeout: ${timeoutS}
COLLECTOR:
  spool_dir: "${spoolDir}"
  flush_interval_ms: 100
  http_port: ${httpPort}
`;
}

/** Sum of a metric over all its label sets, read from the collector's `/metrics`. */
async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const lines = text.split('\n').filter((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return lines.length === 0 ? NaN : lines.reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

async function run(main: string, args: string[]): Promise<{ code: number | null; out: string }> {
  const p = new ManagedProcess(process.execPath, [main, ...args]);
  const code = await p.waitExit();
  return { code, out: p.logs };
}

describe('energyrecorder-collector CLI', () => {
  let main: string;
  let dir: string;

  beforeAll(async () => {
    main = await bundleCli();
  });
  beforeEach(() => {
    dir = makeTempDir('collector-cli');
  });
  afterEach(() => removeDir(dir));

  it('prints the usage and exits 0 when given --help', async () => {
    const { code, out } = await run(main, ['--help']);
    expect(code).toBe(0);
    expect(out).toContain('--check-config');
    expect(out).toContain('Built-in adapter types:');
  });

  it('lists every problem and exits 2 when --check-config finds an invalid file', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      'PODS:\n  - environment: E\n    servers:\n      - {id: x, type: nosuch}\n      - {id: y, type: http-json}\nRECORDER_API_SERVER: {timeout: -1}\n',
    );
    const { code, out } = await run(main, ['--check-config', '--config', file, '--adapters', ADAPTERS]);
    expect(code).toBe(2);
    expect(out).toMatch(/PODS\.0\.servers\.0\.type: unknown adapter type "nosuch"; valid types: .*http-json/);
    expect(out).toMatch(/PODS\.0\.servers\.1\.url: /);
    expect(out).toMatch(/RECORDER_API_SERVER\.base_url: /);
    expect(out).toMatch(/RECORDER_API_SERVER\.timeout: /);
  });

  it('accepts a valid file and exits 0 when given --check-config', async () => {
    const file = join(dir, 'ok.yaml');
    writeFileSync(file, yaml('http://127.0.0.1:9', join(dir, 'spool'), 0, { m: 'http://127.0.0.1:9/x' }));
    const { code, out } = await run(main, ['--check-config', '-c', file, '--adapters', ADAPTERS]);
    expect(code).toBe(0);
    expect(out).toContain('OK (1 environments, 1 devices)');
  });

  it('loses nothing spooled when killed with SIGKILL, reloads on SIGHUP and exits 0 on SIGTERM', async () => {
    const api = new RealApi(dir);
    await api.start();
    await api.stop(); // keep its port for later, start with the API down
    const devices = new FakeDevices();
    await devices.listen();
    const httpPort = await getFreePort();
    const file = join(dir, 'collector-settings.yaml');
    writeFileSync(file, yaml(api.url, join(dir, 'spool'), httpPort, { m1: devices.url('m1') }));
    const args = [main, '--config', file, '--adapters', ADAPTERS];
    let proc = new ManagedProcess(process.execPath, args);
    try {
      await waitFor(async () => (await metric(httpPort, 'energyrecorder_collector_spool_batches')) >= 10, 'spooled batches');
      // The API is down but the spool has room: healthy, and says why it is spooling.
      const health = await fetch(`http://127.0.0.1:${httpPort}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ status: 'OK', apiReachable: false });
      // Freeze the device so the set of readings is known, wait until all of it sits in the spool, then crash.
      devices.modes.set('m1', 'fail');
      // A failed read proves the last good one (reads of a device never overlap) has reached the queue.
      await waitFor(async () => (await metric(httpPort, 'energyrecorder_collector_read_failures_total')) >= 1, 'a failed read');
      await waitFor(
        async () =>
          (await metric(httpPort, 'energyrecorder_collector_queue_batches')) ===
          (await metric(httpPort, 'energyrecorder_collector_spool_batches')),
        'queue flushed to the spool',
      );
      const servedBeforeKill = [...(devices.served.get('m1') ?? [])];
      const takenBeforeKill = await metric(httpPort, 'energyrecorder_collector_readings_total');
      await proc.kill();
      expect(proc.child.signalCode).toBe('SIGKILL');

      await api.start();
      devices.modes.set('m1', 'ok');
      proc = new ManagedProcess(process.execPath, args);
      const lastBeforeKill = Math.max(0, ...servedBeforeKill);
      const replayed = (): number[] => api.valuesOf('m1').filter((v) => v <= lastBeforeKill);
      await waitFor(() => replayed().length >= takenBeforeKill, 'spooled readings replayed', 30_000);
      // Exactly the readings the killed process had taken, no more (no duplicate from the replay).
      expect(replayed()).toHaveLength(takenBeforeKill);

      writeFileSync(file, yaml(api.url, join(dir, 'spool'), httpPort, { m1: devices.url('m1'), m2: devices.url('m2') }));
      proc.child.kill('SIGHUP');
      await waitFor(() => api.valuesOf('m2').length >= 3, 'readings of the device added by SIGHUP');
      // A broken file on reload is refused with its problems logged, and polling goes on with the old settings.
      writeFileSync(file, 'PODS: [{environment: X, servers: [{id: z, type: nosuch}]}]\n');
      proc.child.kill('SIGHUP');
      await waitFor(() => proc.logs.includes('reload refused'), 'reload refused in the log');
      expect(proc.logs).toMatch(/PODS\.0\.servers\.0\.type: unknown adapter type/);
      const m2Count = api.valuesOf('m2').length;
      await waitFor(() => api.valuesOf('m2').length >= m2Count + 3, 'polling after the refused reload');
      proc.child.kill('SIGUSR1');
      await waitFor(() => proc.logs.includes('push status'), 'status dump in the log');

      proc.child.kill('SIGTERM');
      const code = await proc.waitExit();
      expect(code).toBe(0);
      // Every reading either process took arrived exactly once and in order, across the crash.
      const stopped = proc.logs.split('\n').find((l) => l.includes('"collector stopped"'));
      const takenAfterRestart = (JSON.parse(stopped ?? '{}') as { readings?: number }).readings ?? -1;
      const stored = [...api.valuesOf('m1'), ...api.valuesOf('m2')];
      expect(stored).toHaveLength(takenBeforeKill + takenAfterRestart);
      for (const id of ['m1', 'm2']) {
        const v = api.valuesOf(id);
        expect(v.every((x, i) => i === 0 || x > (v[i - 1] ?? Infinity))).toBe(true);
      }
      expect(proc.logs).not.toContain('"pass"');
    } finally {
      await proc.kill();
      await api.stop();
      await devices.close();
    }
  });
  it('exits 0 within the shutdown deadline on SIGINT while a POST hangs, and the next start delivers what it took', async () => {
    // An API that accepts connections and never answers: the worst case for a bounded shutdown.
    const held = new Set<Socket>();
    let connections = 0;
    const hanging = createServer((socket) => {
      connections++;
      held.add(socket);
      socket.on('close', () => held.delete(socket));
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    const hangingPort = (hanging.address() as { port: number }).port;
    const api = new RealApi(dir);
    const devices = new FakeDevices();
    await devices.listen();
    const httpPort = await getFreePort();
    const file = join(dir, 'collector-settings.yaml');
    const spool = join(dir, 'spool');
    // A 60 s read timeout: only the shutdown deadline can end the hanging POST.
    writeFileSync(file, yaml(`http://127.0.0.1:${hangingPort}`, spool, httpPort, { m1: devices.url('m1') }, 60));
    const args = [main, '--config', file, '--adapters', ADAPTERS];
    let proc = new ManagedProcess(process.execPath, args);
    try {
      await waitFor(async () => (await metric(httpPort, 'energyrecorder_collector_readings_total')) >= 5, 'readings');
      await waitFor(() => connections > 0, 'a POST to the hanging API');
      const t0 = Date.now();
      proc.child.kill('SIGINT');
      const code = await proc.waitExit();
      const elapsed = Date.now() - t0;
      expect(code).toBe(0);
      // The daemon's own budget, plus its hard-exit margin (2 s) and the exit of a loaded machine.
      expect(elapsed).toBeLessThan(SHUTDOWN_DEADLINE_MS + 3500);
      const stopped = proc.logs.split('\n').find((l) => l.includes('"collector stopped"'));
      const stoppedFields = JSON.parse(stopped ?? '{}') as { readings?: number; deliveredReadings?: number };
      const taken = stoppedFields.readings ?? -1;
      expect(taken).toBeGreaterThanOrEqual(5);
      expect(stoppedFields.deliveredReadings).toBe(0);

      // Restart against a real API with the device frozen: exactly what the first process took arrives, in order.
      devices.modes.set('m1', 'fail');
      await api.start();
      writeFileSync(file, yaml(api.url, spool, httpPort, { m1: devices.url('m1') }));
      proc = new ManagedProcess(process.execPath, args);
      await waitFor(() => api.valuesOf('m1').length >= taken, 'spooled readings replayed', 30_000);
      proc.child.kill('SIGTERM');
      expect(await proc.waitExit()).toBe(0);
      const stored = api.valuesOf('m1');
      expect(stored).toHaveLength(taken);
      expect(stored.every((x, i) => i === 0 || x > (stored[i - 1] ?? Infinity))).toBe(true);
      const served = new Set(devices.served.get('m1') ?? []);
      expect(stored.filter((v) => !served.has(v))).toEqual([]);
    } finally {
      await proc.kill();
      for (const socket of held) socket.destroy();
      await new Promise<void>((resolve) => hanging.close(() => resolve()));
      await api.stop();
      await devices.close();
    }
  });
});
