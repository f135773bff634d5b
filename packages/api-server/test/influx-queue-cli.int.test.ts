import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getFreePort, isCi, makeTempDir, peerAvailable, removeDir, startInfluxd, waitFor, type InfluxdPeer } from '@energyrecorder/testkit';
import { nsFromNow, raw, sendJson } from './helpers.js';
import { influxdPid, metric, readingKey, storedReadings } from './influx-queue-support.js';

// The InfluxDB write queue of the API process as deployed (dist/main.js): what it acknowledged survives a kill -9,
// and two processes cannot share its directory.

const main = join(__dirname, '..', 'dist', 'main.js');
const built = existsSync(main);
// Under CI the build runs before the integration tests: a missing dist/main.js is a broken build, not a skip.
if (!built && isCi()) throw new Error('dist/main.js missing: the build did not produce the CLI entry');
if (!built) process.stderr.write('\n!!!!!!!!!! dist/main.js missing: run `npx tsup` in packages/api-server; SKIPPING write queue CLI tests !!!!!!!!!!\n\n');
const haveInflux = peerAvailable('influxd', ['influxd']);

/** An API CLI process started by {@link startCli}. */
interface Cli {
  url: string;
  proc: ChildProcess;
  /** Its stdout and stderr so far. */
  output(): string;
  /** Exit code, or the signal's name. */
  exited: Promise<number | string | null>;
}

/** Runs `dist/main.js --config settings.yaml` in `cwd` on a free loopback port, until `/ping` answers 200 when `ready`. */
async function startCli(cwd: string, ready = true): Promise<Cli> {
  const port = await getFreePort();
  const proc = spawn(process.execPath, [main, '--config', 'settings.yaml', '--port', String(port), '--host', '127.0.0.1'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | string | null>((resolve) => proc.on('exit', (code, signal) => resolve(code ?? signal)));
  const cli = { url: `http://127.0.0.1:${port}`, proc, output: () => out, exited };
  if (ready) {
    const gone = new AbortController();
    void exited.then(() => gone.abort(new Error(`the API CLI exited before it served: ${out}`)));
    await waitFor(async () => (await raw(cli.url, 'GET', '/resources/monitoring/ping')).status === 200, 'the API CLI to serve', 30_000, 100, { signal: gone.signal });
  }
  return cli;
}

(built && haveInflux ? describe : describe.skip)('InfluxDB write queue of the API CLI', () => {
  let dir: string;
  let influx: InfluxdPeer;
  const running: Cli[] = [];

  beforeAll(async () => {
    dir = makeTempDir('api-queue-cli');
    influx = await startInfluxd();
  });
  afterAll(async () => {
    for (const c of running) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
    await influx?.stop();
    removeDir(dir);
  });

  /** A working directory holding `settings.yaml` for the test influxd, database `db`, queue in `queue/`. */
  const workdir = (name: string, db: string): string => {
    const cwd = join(dir, name);
    mkdirSync(cwd);
    writeFileSync(join(cwd, 'settings.yaml'), `INFLUX:\n  host: "${influx.url}"\n  db: "${db}"\n  timeout_ms: 1000\n  queue_dir: queue\n`);
    return cwd;
  };
  const start = async (cwd: string, ready = true): Promise<Cli> => {
    const c = await startCli(cwd, ready);
    running.push(c);
    return c;
  };

  it('stores every batch it acknowledged exactly once after a kill -9 while influxd was stopped, once started again on the same queue directory', async () => {
    const cwd = workdir('crash', 'QCRASH');
    const first = await start(cwd);
    const env = 'q-crash';
    // Stamped a second ago: the API tags such batches from its session timeline of the environment, read just
    // before influxd is stopped (young ones it looks up in influxd, which would hold them up).
    const batchNs = nsFromNow(-1);
    const attempted = new Map<string, number>();
    const acked = new Map<string, number>();
    let n = 0;
    const post = async (url: string): Promise<number> => {
      const i = n++;
      const measurements = ['power', 'fan'].map((sensor, s) => ({ sensor, unit: 'W', value: i * 10 + s, time: batchNs + i * 1000 }));
      for (const m of measurements) attempted.set(readingKey(m.sensor, m.time), m.value);
      const r = await sendJson(url, 'POST', '/resources/equipments/crash-srv/measurements', { environment: env, time: batchNs, measurements }).catch(() => undefined);
      if (r?.status === 200) for (const m of measurements) acked.set(readingKey(m.sensor, m.time), m.value);
      return r?.status ?? 0;
    };
    const pid = influxdPid(influx);
    let stopped = false;
    try {
      expect(await post(first.url)).toBe(200);
      process.kill(pid, 'SIGSTOP');
      stopped = true;
      for (let i = 0; i < 10; i++) expect(await post(first.url)).toBe(200);
      expect(await metric(first.url, 'energyrecorder_influx_queue_batches')).toBeGreaterThan(0);
      // A client goes on posting while the process is killed: batches in flight are not acknowledged.
      let streaming = true;
      const stream = (async () => {
        while (streaming && n < 900) await post(first.url);
      })();
      await new Promise((r) => setTimeout(r, 100));
      first.proc.kill('SIGKILL');
      expect(await first.exited).toBe('SIGKILL');
      streaming = false;
      await stream;
      expect(readdirSync(join(cwd, 'queue')).filter((f) => /^seg-\d{16}\.lp$/.test(f)).length).toBeGreaterThan(0);
      expect(readFileSync(join(cwd, 'queue', 'lock.pid'), 'utf8').trim()).toBe(String(first.proc.pid));
      process.kill(pid, 'SIGCONT');
      stopped = false;
      const second = await start(cwd);
      await waitFor(async () => (await metric(second.url, 'energyrecorder_influx_queue_batches')) === 0, 'the recovered queue to be sent', 30_000, 100);
      const stored = await storedReadings(influx, 'QCRASH', env);
      expect(acked.size).toBeGreaterThanOrEqual(22);
      // Each acknowledged reading once, with its value; anything else stored was at least sent by the client.
      expect([...acked].filter(([key, value]) => stored.get(key) !== value)).toEqual([]);
      expect([...stored].filter(([key, value]) => attempted.get(key) !== value)).toEqual([]);
      second.proc.kill('SIGTERM');
      expect(await second.exited).toBe(0);
      expect(existsSync(join(cwd, 'queue', 'lock.pid'))).toBe(false);
    } finally {
      if (stopped) process.kill(pid, 'SIGCONT');
    }
  });

  it('refuses to start a second API process on the queue directory of a running one, naming INFLUX.queue_dir and the holder', async () => {
    const cwd = workdir('twice', 'QTWICE');
    const first = await start(cwd);
    const second = await start(cwd, false);
    expect(await second.exited).toBe(1);
    expect(second.output()).toContain(`energyrecorder-api cannot start: InfluxDB write queue queue is in use by process ${first.proc.pid}: give each API process its own INFLUX.queue_dir`);
    // The first one still holds the directory and serves.
    expect(readFileSync(join(cwd, 'queue', 'lock.pid'), 'utf8').trim()).toBe(String(first.proc.pid));
    const t = nsFromNow();
    expect((await sendJson(first.url, 'POST', '/resources/equipments/twice-srv/measurements', { environment: 'q-twice', measurements: [{ sensor: 'power', unit: 'W', value: 2, time: t }] })).status).toBe(200);
    await waitFor(async () => (await metric(first.url, 'energyrecorder_influx_queue_batches')) === 0, 'the batch to be sent', 20_000, 50);
    expect(await storedReadings(influx, 'QTWICE', 'q-twice')).toEqual(new Map([[readingKey('power', t), 2]]));
    first.proc.kill('SIGTERM');
    expect(await first.exited).toBe(0);
  });
});
