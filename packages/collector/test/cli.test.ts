import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, removeDir, waitFor } from '@energyrecorder/testkit';
import { runCli, type CliIo } from '../src/cli.js';
import { Collector } from '../src/collector.js';

/** The CLI in this process, its output captured. Signals are sent with `process.emit`, as the kernel would. */
function io(dir: string): CliIo & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, stdout: (t) => void out.push(t), stderr: (t) => void err.push(t), cwd: dir };
}

/** A collector with no device and an API nobody listens on (port 9 on loopback is never contacted: no batch). */
function settings(dir: string, extra = ''): string {
  return `RECORDER_API_SERVER:
  base_url: "http://127.0.0.1:9"
${extra}COLLECTOR:
  spool_dir: "${join(dir, 'spool')}"
  log_file: "${join(dir, 'log', 'collector.log')}"
`;
}

const readLog = (file: string): string => (existsSync(file) ? readFileSync(file, 'utf8') : '');

describe('runCli --check-config', () => {
  let dir: string;
  beforeEach(() => {
    dir = makeTempDir('collector-cli');
  });
  afterEach(() => removeDir(dir));

  it('exits 2 naming ca_file when the CA file the daemon would read cannot be read', async () => {
    const file = join(dir, 'settings.yaml');
    writeFileSync(file, settings(dir, `  ca_file: "${join(dir, 'missing-ca.pem')}"\n`));
    const cli = io(dir);
    expect(await runCli(['--check-config', '-c', file], cli)).toBe(2);
    expect(cli.err.join('')).toMatch(/RECORDER_API_SERVER\.ca_file: cannot read: ENOENT/);
  });

  it('exits 2 naming every device ca_file that cannot be read, with the API\'s, all at once', async () => {
    const file = join(dir, 'settings.yaml');
    const pods = `PODS:
  - environment: lab
    polling_interval: 10
    servers:
      - {id: srv-1, type: redfish, host: 127.0.0.1, ca_file: "${join(dir, 'missing-1.pem')}"}
      - {id: srv-2, type: ilo, host: 127.0.0.2, ca_file: relative/missing-2.pem}
      - {id: srv-3, type: redfish, host: 127.0.0.3, ca_file: "${join(dir, 'ok.pem')}"}
`;
    writeFileSync(join(dir, 'ok.pem'), '-----BEGIN CERTIFICATE-----\n');
    writeFileSync(file, pods + settings(dir, `  verify_cert: "${join(dir, 'missing-api.pem')}"\n`));
    const cli = io(dir);
    expect(await runCli(['--check-config', '-c', file], cli)).toBe(2);
    const err = cli.err.join('');
    expect(err).toContain(`RECORDER_API_SERVER.ca_file: cannot read: ENOENT (${join(dir, 'missing-api.pem')})`);
    expect(err).toContain(`PODS.0.servers.0.ca_file: cannot read: ENOENT (${join(dir, 'missing-1.pem')})`);
    // Relative to the working directory, as the adapter reads it.
    expect(err).toContain(`PODS.0.servers.1.ca_file: cannot read: ENOENT (${join(dir, 'relative', 'missing-2.pem')})`);
    expect(err).not.toContain('PODS.0.servers.2');
  });

  it('exits 2 naming log_file and spool_dir when they cannot be created', async () => {
    const blocker = join(dir, 'a-file');
    writeFileSync(blocker, 'x');
    const file = join(dir, 'settings.yaml');
    writeFileSync(
      file,
      `RECORDER_API_SERVER: {base_url: "http://127.0.0.1:9"}
COLLECTOR: {spool_dir: "${join(blocker, 'spool')}", log_file: "${join(blocker, 'collector.log')}"}
`,
    );
    const cli = io(dir);
    expect(await runCli(['--check-config', '-c', file], cli)).toBe(2);
    expect(cli.err.join('')).toMatch(/COLLECTOR\.log_file: cannot be created: .*a-file is not a directory/);
    expect(cli.err.join('')).toMatch(/COLLECTOR\.spool_dir: cannot be created: .*a-file is not a directory/);
  });

  it('exits 0 when every file it names can be read or created', async () => {
    const ca = join(dir, 'ca.pem');
    writeFileSync(ca, '-----BEGIN CERTIFICATE-----\n');
    const file = join(dir, 'settings.yaml');
    writeFileSync(file, settings(dir, `  ca_file: "${ca}"\n`));
    const cli = io(dir);
    expect(await runCli(['--check-config', '-c', file], cli)).toBe(0);
    expect(cli.out.join('')).toContain('OK (0 environments, 0 devices)');
  });
});

describe('runCli signals', () => {
  let dir: string;
  beforeEach(() => {
    dir = makeTempDir('collector-cli-signals');
  });
  afterEach(() => {
    jest.restoreAllMocks();
    removeDir(dir);
  });

  /** Holds `Collector.start` until the returned `release` is called. */
  function holdStart(): { release(): void; starting(): boolean } {
    const gate = { open: (): void => undefined, started: false };
    const opened = new Promise<void>((r) => (gate.open = r));
    const realStart = Collector.prototype.start;
    jest.spyOn(Collector.prototype, 'start').mockImplementation(async function (this: Collector) {
      gate.started = true;
      await opened;
      return realStart.call(this);
    });
    return { release: () => gate.open(), starting: () => gate.started };
  }

  it('reloads once started when SIGHUP comes while the collector is starting, instead of dying of it', async () => {
    const start = holdStart();
    const reload = jest.spyOn(Collector.prototype, 'reload');
    const file = join(dir, 'settings.yaml');
    writeFileSync(file, settings(dir));
    const before = process.listenerCount('SIGHUP');
    const exit = runCli(['-c', file], io(dir));
    try {
      await waitFor(() => start.starting(), 'collector starting', 5000, 5);
      // Without a handler, SIGHUP's default action would kill the process here.
      expect(process.listenerCount('SIGHUP')).toBe(before + 1);
      process.emit('SIGHUP', 'SIGHUP');
      expect(reload).not.toHaveBeenCalled();
      start.release();
      await waitFor(() => reload.mock.calls.length === 1, 'the reload asked for during start', 5000, 5);
    } finally {
      start.release();
      process.emit('SIGTERM', 'SIGTERM');
      expect(await exit).toBe(0);
    }
    expect(process.listenerCount('SIGHUP')).toBe(before);
  });

  it('stops once started and exits 0 when SIGTERM comes while the collector is starting', async () => {
    const start = holdStart();
    const file = join(dir, 'settings.yaml');
    writeFileSync(file, settings(dir));
    const exit = runCli(['-c', file], io(dir));
    await waitFor(() => start.starting(), 'collector starting', 5000, 5);
    expect(process.listenerCount('SIGTERM')).toBeGreaterThan(0);
    process.emit('SIGTERM', 'SIGTERM');
    start.release();
    expect(await exit).toBe(0);
    const logFile = join(dir, 'log', 'collector.log');
    await waitFor(() => readLog(logFile).includes('"msg":"collector stopped"'), 'stopped in the log', 5000, 10);
    expect(readLog(logFile)).toContain('"signal":"SIGTERM"');
  });

  it('reopens log_file on SIGHUP so lines go to a new file once logrotate moved the old one', async () => {
    const file = join(dir, 'settings.yaml');
    writeFileSync(file, settings(dir));
    const logFile = join(dir, 'log', 'collector.log');
    const exit = runCli(['-c', file], io(dir));
    try {
      await waitFor(() => readLog(logFile).includes('"msg":"running"'), 'daemon running', 5000, 10);
      renameSync(logFile, `${logFile}.1`);
      process.emit('SIGHUP', 'SIGHUP');
      await waitFor(() => readLog(logFile).includes('"msg":"configuration reloaded"'), 'reload logged in the new file', 5000, 10);
      expect(readLog(`${logFile}.1`)).not.toContain('configuration reloaded');
    } finally {
      process.emit('SIGTERM', 'SIGTERM');
      expect(await exit).toBe(0);
    }
  });
});
