import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { isCi, getFreePort, makeTempDir, peerAvailable, removeDir, startInfluxd, waitFor, type InfluxdPeer } from '@energyrecorder/testkit';
import { raw } from './helpers.js';

const main = join(__dirname, '..', 'dist', 'main.js');
const built = existsSync(main);
// Under CI the build runs before the integration tests: a missing dist/main.js is a broken build, not a skip.
if (!built && isCi()) throw new Error('dist/main.js missing: the build did not produce the CLI entry');
if (!built) process.stderr.write('\n!!!!!!!!!! dist/main.js missing: run `npx tsup` in packages/api-server; SKIPPING CLI tests !!!!!!!!!!\n\n');
const haveInflux = peerAvailable('influxd', ['influxd']);

function run(args: string[], cwd?: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [main, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...(cwd === undefined ? {} : { cwd }) });
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

  it('takes merge keys and repeated keys as the original (PyYAML) did, warning about the repetition', async () => {
    const f = join(dir, 'merge.yaml');
    writeFileSync(
      f,
      'common: &influx\n  host: "http://127.0.0.1:8086"\n  db: NRG\nINFLUX:\n  <<: *influx\n  db: OTHER\nALWAYS_RECORD: true\nALWAYS_RECORD: false\n',
    );
    const r = await run(['--config', f, '--check-config']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('store: InfluxDB http://127.0.0.1:8086 db OTHER');
    expect(r.out).toContain('ALWAYS_RECORD: false');
    expect(r.out).toMatch(/warning: duplicate key "ALWAYS_RECORD" at line 8 \(first at line 7\)/);
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
    // In a temp working directory: the InfluxDB write queue (on by default) lives in ./influx-queue there.
    const cwd = join(dir, 'sample');
    mkdirSync(cwd);
    expect((await run(['--config', f, '--check-config'], cwd)).code).toBe(0);
    const port = await getFreePort();
    const p = spawn(process.execPath, [main, '--config', f, '--port', String(port), '--host', '127.0.0.1'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
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
      expect(readdirSync(join(cwd, 'influx-queue'))).toEqual([]);
    } finally {
      if (p.exitCode === null) p.kill('SIGKILL');
    }
  });

  it("reads the original's conf/webapp-settings.yaml from the working directory when --config is not given, and says so", async () => {
    const cwd = join(dir, 'migrated');
    mkdirSync(join(cwd, 'conf'), { recursive: true });
    writeFileSync(join(cwd, 'conf', 'webapp-settings.yaml'), `INFLUX:\n  host: "${influx.url}"\n  db: "MIGRATED"\nBIND: "0.0.0.0:8888"\nALWAYS_RECORD: False\n`);
    const check = await run(['--check-config'], cwd);
    expect(check.code).toBe(0);
    expect(check.out).toContain("configuration OK: conf/webapp-settings.yaml (the original's default path");
    expect(check.out).toContain(`store: InfluxDB ${influx.url} db MIGRATED`);
    expect(check.out).toContain('ALWAYS_RECORD: false');
    const port = await getFreePort();
    const p = spawn(process.execPath, [main, '--port', String(port), '--host', '127.0.0.1'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (c: Buffer) => (out += c.toString()));
    p.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((r) => p.on('exit', (code) => r(code)));
    try {
      await waitFor(async () => (await raw(`http://127.0.0.1:${port}`, 'GET', '/resources/monitoring/ping')).status === 200, 'CLI API up', 20_000);
      expect(out).toContain("configuration: conf/webapp-settings.yaml (the original's default path");
      // The data goes to InfluxDB, not to an embedded store in the working directory.
      const dbs = await (await fetch(`${influx.url}/query?q=SHOW%20DATABASES`)).text();
      expect(dbs).toContain('"MIGRATED"');
      expect(existsSync(join(cwd, 'energyrecorder.db'))).toBe(false);
      p.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (p.exitCode === null) p.kill('SIGKILL');
    }
  });

  it('runs on defaults when there is neither --config nor conf/webapp-settings.yaml, and says so', async () => {
    const cwd = join(dir, 'bare');
    mkdirSync(cwd, { recursive: true });
    const r = await run(['--check-config'], cwd);
    expect(r.code).toBe(0);
    expect(r.out).toContain('configuration OK: defaults (no --config, and no conf/webapp-settings.yaml in');
    expect(r.out).toContain('store: embedded ./energyrecorder.db');
  });
});

const haveOpenssl = peerAvailable('openssl', ['openssl']);

(built && haveOpenssl ? describe : describe.skip)('energyrecorder-api CLI: files named by the settings', () => {
  let dir: string;
  let cert: string;
  let key: string;
  let otherKey: string;
  beforeAll(async () => {
    dir = makeTempDir('api-cli-files');
    cert = join(dir, 'cert.pem');
    key = join(dir, 'key.pem');
    otherKey = join(dir, 'other-key.pem');
    const openssl = (args: string[]) => promisify(execFile)('openssl', args);
    await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1']);
    await openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', otherKey]);
    writeFileSync(join(dir, 'not-pem.txt'), 'just text\n');
  });
  afterAll(() => removeDir(dir));

  /** A fresh working directory holding `settings.yaml` with `yaml`. */
  const workdir = (name: string, yaml: string): string => {
    const cwd = join(dir, name);
    mkdirSync(cwd);
    writeFileSync(join(cwd, 'settings.yaml'), yaml);
    return cwd;
  };

  it('lists every unreadable or invalid file with its setting and exits 2, for --check-config and a real start alike', async () => {
    const cwd = workdir(
      'broken',
      [
        'BIND: "127.0.0.1:0"',
        'TLS:',
        `  cert_file: ${join(dir, 'missing-cert.pem')}`,
        `  key_file: ${join(dir, 'not-pem.txt')}`,
        'MQTT:',
        '  host: 127.0.0.1',
        '  tls: true',
        `  ca_file: ${join(dir, 'missing-ca.pem')}`,
        'LOG:',
        `  file: ${join(dir, 'no-such-dir', 'api.log')}`,
        '',
      ].join('\n'),
    );
    for (const args of [['--config', 'settings.yaml', '--check-config'], ['--config', 'settings.yaml']]) {
      const r = await run(args, cwd);
      expect(r.code).toBe(2);
      expect(r.out).toContain('TLS.cert_file: cannot read');
      expect(r.out).toContain('ENOENT');
      expect(r.out).toContain('TLS.key_file: ');
      expect(r.out).toContain('is not an unencrypted PEM private key');
      expect(r.out).toContain('MQTT.ca_file: cannot read');
      expect(r.out).toContain('LOG.file: ');
      expect(r.out).not.toMatch(/^\s+at /m);
      expect(r.out).not.toContain('configuration OK');
      // Nothing was started: the embedded store did not create its file.
      expect(readdirSync(cwd)).toEqual(['settings.yaml']);
    }
  });

  it('exits 2 naming INFLUX.ca_file when it holds no PEM certificate, and the embedded store path when it cannot be created', async () => {
    const cwd = workdir('ca', `INFLUX:\n  host: "https://127.0.0.1:8086"\n  ca_file: ${join(dir, 'not-pem.txt')}\n`);
    const r = await run(['--config', 'settings.yaml', '--check-config'], cwd);
    expect(r.code).toBe(2);
    expect(r.out).toContain('INFLUX.ca_file: ');
    expect(r.out).toContain('holds no PEM certificate');
    const store = await run(['--check-config', '--store', join(dir, 'no-such-dir', 'x.db')], cwd);
    expect(store.code).toBe(2);
    expect(store.out).toContain('--store: ');
  });

  it('exits 2 naming INFLUX.queue_dir when the write queue cannot be created there, for --check-config and a real start alike', async () => {
    writeFileSync(join(dir, 'a-file'), 'not a directory\n');
    const influx = 'INFLUX:\n  host: "http://127.0.0.1:9"\n';
    const isFile = workdir('queue-file', `${influx}  queue_dir: ${join(dir, 'a-file')}\n`);
    for (const args of [['--config', 'settings.yaml', '--check-config'], ['--config', 'settings.yaml', '--port', '0', '--host', '127.0.0.1']]) {
      const r = await run(args, isFile);
      expect(r.code).toBe(2);
      expect(r.out).toContain(`INFLUX.queue_dir: ${join(dir, 'a-file')}: is not a directory`);
      expect(r.out).not.toContain('configuration OK');
    }
    // Created recursively at start: the nearest existing ancestor is what must be a writable directory.
    const under = workdir('queue-under-file', `${influx}  queue_dir: ${join(dir, 'a-file', 'queue', 'deeper')}\n`);
    const u = await run(['--config', 'settings.yaml', '--check-config'], under);
    expect(u.code).toBe(2);
    expect(u.out).toContain(`INFLUX.queue_dir: ${join(dir, 'a-file', 'queue', 'deeper')}: cannot be created: ${join(dir, 'a-file')} is not a directory`);
    // The default, relative to the working directory, and a missing nested one are fine and not created by the check.
    const dflt = workdir('queue-default', influx);
    const d = await run(['--config', 'settings.yaml', '--check-config'], dflt);
    expect(d.out).toContain(`InfluxDB write queue: ./influx-queue (${join(dflt, 'influx-queue')}), at most 1073741824 bytes`);
    expect(d.code).toBe(0);
    const nested = workdir('queue-nested', `${influx}  queue_dir: state/a/b\n  queue_max_bytes: 1000000\n`);
    const n = await run(['--config', 'settings.yaml', '--check-config'], nested);
    expect(n.out).toContain('InfluxDB write queue: state/a/b');
    expect(n.code).toBe(0);
    expect(readdirSync(nested)).toEqual(['settings.yaml']);
    // queue: false writes nothing locally, so the directory is not checked.
    const off = workdir('queue-off', `${influx}  queue: false\n  queue_dir: ${join(dir, 'a-file')}\n`);
    const o = await run(['--config', 'settings.yaml', '--check-config'], off);
    expect(o.out).toContain('InfluxDB write queue: off');
    expect(o.code).toBe(0);
  });

  it('exits 2 when the TLS key is not the certificate\'s, and accepts a matching pair and a PEM CA file', async () => {
    const mismatch = workdir('mismatch', `TLS:\n  cert_file: ${cert}\n  key_file: ${otherKey}\n`);
    const bad = await run(['--config', 'settings.yaml', '--check-config'], mismatch);
    expect(bad.code).toBe(2);
    expect(bad.out).toContain('TLS.key_file: ');
    expect(bad.out).toContain('is not the key of the certificate in TLS.cert_file');
    const good = workdir('good', `TLS:\n  cert_file: ${cert}\n  key_file: ${key}\nMQTT:\n  host: 127.0.0.1\n  ca_file: ${cert}\nLOG:\n  file: api.log\n`);
    const ok = await run(['--config', 'settings.yaml', '--check-config'], good);
    expect(ok.out).toContain('configuration OK: settings.yaml');
    expect(ok.code).toBe(0);
  });
});
