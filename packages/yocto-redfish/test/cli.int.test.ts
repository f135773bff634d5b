import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, removeDir } from '@energyrecorder/testkit';
import { runCli } from '../src/cli.js';

function capture(): { io: { out: (s: string) => void; err: (s: string) => void }; out: () => string; err: () => string } {
  let o = '';
  let e = '';
  return { io: { out: (s) => void (o += s), err: (s) => void (e += s) }, out: () => o, err: () => e };
}

describe('yocto-redfish CLI', () => {
  let dir = '';
  beforeAll(() => {
    dir = makeTempDir('yrf-cli');
  });
  afterAll(() => removeDir(dir));

  it('prints usage and exits 0 when given --help', async () => {
    const c = capture();
    expect(await runCli(['--help'], c.io)).toBe(0);
    expect(c.out()).toMatch(/--simulate <prof>/);
  });

  it('exits 2 and prints path: message when --check-config finds problems', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'BIND: "x"\nPOWERMETERS:\n  - dev: /dev/usbtmc1\n');
    const c = capture();
    expect(await runCli(['--check-config', '--config', file], c.io)).toBe(2);
    expect(c.err()).toMatch(/BIND: expected "host:port"/);
    expect(c.err()).toMatch(/POWERMETERS\.0\.pmtype/);
  });

  it('lists missing TLS and csv files with the schema problems when --check-config reads a file with both', async () => {
    const file = join(dir, 'bad-files.yaml');
    const csv = join(dir, 'absent.csv');
    const cert = join(dir, 'absent-cert.pem');
    writeFileSync(
      file,
      `BIND: "x"\nPOWERMETERS:\n  - {driver: simulated, profile: "csv:${csv}"}\nTLS: {cert_file: "${cert}", key_file: "${cert}"}\n`,
    );
    const c = capture();
    expect(await runCli(['--check-config', '--config', file], c.io)).toBe(2);
    expect(c.err()).toMatch(/BIND: expected "host:port"/);
    expect(c.err()).toContain(`TLS.cert_file: cannot read ${cert}: ENOENT`);
    expect(c.err()).toContain(`TLS.key_file: cannot read ${cert}: ENOENT`);
    expect(c.err()).toMatch(/POWERMETERS\.0\.profile: .*ENOENT/);
  });

  it('warns on stderr about each unknown key and still exits 0 when --check-config reads a file with typos', async () => {
    const file = join(dir, 'typos.yaml');
    writeFileSync(file, 'SUM_CHASIS: true\nPOWERMETERS:\n  - {driver: yoctopuce, serial: Y-1, hub_url: "http://127.0.0.1:4444", password: x}\n');
    const c = capture();
    expect(await runCli(['--check-config', '--config', file], c.io)).toBe(0);
    expect(c.err()).toMatch(/warning: unknown setting SUM_CHASIS ignored/);
    expect(c.err()).toMatch(/warning: unknown setting POWERMETERS\[0\]\.password ignored/);
  });

  it('exits 2 when AUTH or TLS is written in lower case, which would start the service open and in plain HTTP', async () => {
    const file = join(dir, 'lower.yaml');
    writeFileSync(file, 'POWERMETERS:\n  - {driver: simulated, profile: "constant:200"}\nauth: {users: [{name: admin, password: change-me-please}]}\n');
    const c = capture();
    expect(await runCli(['--check-config', '--config', file], c.io)).toBe(2);
    expect(c.err()).toMatch(/auth: unknown key: keys are case-sensitive, write AUTH/);
  });

  it('exits 2 naming BIND when its port is above 65535', async () => {
    const file = join(dir, 'port.yaml');
    writeFileSync(file, 'BIND: "127.0.0.1:99999"\nPOWERMETERS:\n  - {driver: simulated, profile: "constant:200"}\n');
    const c = capture();
    expect(await runCli(['--config', file], c.io)).toBe(2);
    expect(c.err()).toMatch(/BIND: the port must be 0\.\.65535/);
    expect(c.err()).not.toMatch(/--port/);
  });

  it('exits 0 when --check-config reads the original settings file', async () => {
    const file = join(dir, 'ok.yaml');
    writeFileSync(file, 'BIND: "0.0.0.0:8889"\nYOKOTOOL_PATH: /opt/yoko\nPOWERMETERS:\n  - {dev: /dev/usbtmc1, pmtype: wt310}\n');
    const c = capture();
    expect(await runCli(['--check-config', '-c', file], c.io)).toBe(0);
    expect(c.out()).toMatch(/1 meter/);
  });

  it('serves a simulated meter with no config when given --simulate, and stops on SIGTERM', async () => {
    const c = capture();
    const done = runCli(['--simulate', 'constant:200', '--host', '127.0.0.1', '--port', '0'], c.io);
    const deadline = Date.now() + 10_000;
    while (!/listening on/.test(c.out()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const root = /listening on (\S+)/.exec(c.out())?.[1] ?? '';
    const res = await fetch(`${root}Chassis/1/Power`, { signal: AbortSignal.timeout(5000) });
    const body = (await res.json()) as { PowerControl: Array<{ PowerConsumedWatts: number }> };
    expect(body.PowerControl[0]?.PowerConsumedWatts).toBe(200);
    process.emit('SIGTERM');
    expect(await done).toBe(0);
  });

  it('exits 2 when the simulate profile is invalid', async () => {
    const c = capture();
    expect(await runCli(['--simulate', 'wobble:3'], c.io)).toBe(2);
    expect(c.err()).toMatch(/POWERMETERS\.0\.profile/);
  });

  it('exits 2 with path: message when the TLS files or a replay CSV cannot be read', async () => {
    const file = join(dir, 'files.yaml');
    writeFileSync(
      file,
      [
        'TLS: {cert_file: /nonexistent/cert.pem, key_file: /nonexistent/key.pem}',
        'POWERMETERS:',
        `  - {driver: simulated, profile: "csv:${join(dir, 'missing.csv')}"}`,
        '',
      ].join('\n'),
    );
    const c = capture();
    expect(await runCli(['--check-config', '--config', file], c.io)).toBe(2);
    expect(c.err()).toMatch(/TLS\.cert_file: cannot read \/nonexistent\/cert\.pem: ENOENT/);
    expect(c.err()).toMatch(/TLS\.key_file: cannot read/);
    expect(c.err()).toMatch(/POWERMETERS\.0\.profile: .*missing\.csv/);
  });

  it('exits 2 when --simulate names a replay CSV with a bad row', async () => {
    const csv = join(dir, 'bad.csv');
    writeFileSync(csv, 'seconds,watts\n0,100\n1,abc\n');
    const c = capture();
    expect(await runCli(['--simulate', `csv:${csv}`, '--check-config'], c.io)).toBe(2);
    expect(c.err()).toMatch(/POWERMETERS\.0\.profile: .*bad\.csv:3/);
  });
});
