import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isCi, getFreePort, makeTempDir, peerAvailable, removeDir, startInfluxd, waitFor, type InfluxdPeer } from '@energyrecorder/testkit';
import { raw } from './helpers.js';

const main = join(__dirname, '..', 'dist', 'main.js');
const built = existsSync(main);
// Under CI the build runs before the integration tests: a missing dist/main.js is a broken build, not a skip.
if (!built && isCi()) throw new Error('dist/main.js missing: the build did not produce the CLI entry');
if (!built) process.stderr.write('\n!!!!!!!!!! dist/main.js missing: run `npx tsup` in packages/api-server; SKIPPING CLI tests !!!!!!!!!!\n\n');
const haveInflux = peerAvailable('influxd', ['influxd']);

function run(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [main, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (c: Buffer) => (out += c.toString()));
    p.stderr.on('data', (c: Buffer) => (out += c.toString()));
    p.on('exit', (code) => resolve({ code, out }));
  });
}

(built && haveInflux ? describe : describe.skip)('energyrecorder-api CLI', () => {
  let dir: string;
  let influx: InfluxdPeer;
  beforeAll(async () => {
    dir = makeTempDir('api-cli');
    influx = await startInfluxd();
  });
  afterAll(async () => {
    await influx?.stop();
    removeDir(dir);
  });

  it('prints help when asked', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('--check-config');
  });

  it('exits 2 naming the key when the config is invalid', async () => {
    const f = join(dir, 'bad.yaml');
    writeFileSync(f, 'INFLUX:\n  host: "not a url"\nALWAYS_RECORD: "maybe"\n');
    const r = await run(['--config', f, '--check-config']);
    expect(r.code).toBe(2);
    expect(r.out).toContain('INFLUX.host');
    expect(r.out).toContain('ALWAYS_RECORD');
  });

  it('warns about unknown keys (typos) but accepts the file, as the original ignored them', async () => {
    const f = join(dir, 'typo.yaml');
    writeFileSync(f, 'ALWAYS_RECORDS: false\nSTORE:\n  retension: INF\n');
    const r = await run(['--config', f, '--check-config']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('warning: unknown setting ALWAYS_RECORDS ignored');
    expect(r.out).toContain('warning: unknown setting STORE.retension ignored');
  });

  it('reads yes/no/on/off as booleans, as the original (PyYAML) did, and numeric passwords as text', async () => {
    const f = join(dir, 'yaml11.yaml');
    writeFileSync(f, 'ALWAYS_RECORD: no\nINFLUX:\n  host: "http://127.0.0.1:8086"\n  user: admin\n  pass: 123456\n  verify_cert: off\n');
    const r = await run(['--config', f, '--check-config']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('ALWAYS_RECORD: false');
    writeFileSync(f, 'ALWAYS_RECORD: maybe\n');
    const odd = await run(['--config', f, '--check-config']);
    expect(odd.code).toBe(2);
    expect(odd.out).toContain('ALWAYS_RECORD');
  });

  it('exits 2 when a section is written in another case, since AUTH or TLS would silently be off', async () => {
    const f = join(dir, 'case.yaml');
    writeFileSync(f, 'auth:\n  users:\n    - user: u\n      pass: p\n      role: writer\nTls:\n  cert_file: c.pem\n  key_file: k.pem\n');
    const r = await run(['--config', f, '--check-config']);
    expect(r.code).toBe(2);
    expect(r.out).toContain('auth: write it AUTH');
    expect(r.out).toContain('Tls: write it TLS');
    expect(r.out).not.toContain('configuration OK');
  });

  it('loads the original sample unchanged and exits 0 on SIGTERM after serving', async () => {
    const f = join(dir, 'webapp-settings.yaml');
    // The original's sample file, with the InfluxDB host pointed at the test peer.
    writeFileSync(f, `INFLUX:\n  host: "${influx.url}"\n  db: "NRG"\n  user: ""\n  pass: ""\nBIND: "0.0.0.0:8888"\nALWAYS_RECORD: True\n`);
    expect((await run(['--config', f, '--check-config'])).code).toBe(0);
    const port = await getFreePort();
    const p = spawn(process.execPath, [main, '--config', f, '--port', String(port), '--host', '127.0.0.1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (c: Buffer) => (out += c.toString()));
    p.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((r) => p.on('exit', (code) => r(code)));
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitFor(async () => (await raw(url, 'GET', '/resources/monitoring/ping')).status === 200, 'CLI API up', 20_000);
      p.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(out).toContain('"msg":"recording API listening"');
    } finally {
      if (p.exitCode === null) p.kill('SIGKILL');
    }
  });
});
