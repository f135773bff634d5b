import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, removeDir } from '@energyrecorder/testkit';
import { CLI_USAGE, runCli } from '../src/internal/cli-run.js';
import { FakeApi } from './support/fake-api.js';

let api: FakeApi;
let dir: string;
let n = 0;

interface Run {
  code: number;
  out: string;
  err: string;
}

async function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  let out = '';
  let err = '';
  const code = await runCli(
    args,
    { out: (t) => (out += t), err: (t) => (err += t) },
    { NODE_NAME: `cli-${n}`, ENERGY_RECORDER_API_URL: api.url, ENERGY_RECORDER_STATE_FILE: join(dir, 'state.json'), ...env },
  );
  return { code, out, err };
}

beforeEach(async () => {
  n += 1;
  api = new FakeApi();
  await api.listen();
  dir = makeTempDir('sdk-cli');
});

afterEach(async () => {
  await api.close();
  removeDir(dir);
});

describe('energyrecorder CLI', () => {
  it('prints the usage and exits 0 when given --help', async () => {
    const run = await cli(['--help']);
    expect(run.code).toBe(0);
    expect(run.out).toContain('begin <scenario>');
  });

  it('exits 2 with the usage when the command is unknown or misses its argument', async () => {
    expect((await cli(['launch'])).code).toBe(2);
    expect((await cli(['begin'])).code).toBe(2);
    expect((await cli(['stop', 'extra'])).code).toBe(2);
    expect((await cli(['report', '--format', 'xml'])).code).toBe(2);
  });

  it('exits 2 naming NODE_NAME when no environment is configured', async () => {
    const run = await cli(['status'], { NODE_NAME: '' });
    expect(run.code).toBe(2);
    expect(run.err).toContain('NODE_NAME: required');
  });

  it('restores the outer session saved by begin when finish runs', async () => {
    api.setRunning(`cli-${n}`, 'nightly', 'deploy');
    expect((await cli(['begin', 'smoke'])).code).toBe(0);
    expect(api.current(`cli-${n}`)).toEqual({ scenario: 'smoke', step: 'running' });
    expect((await cli(['step', 'boot'])).code).toBe(0);
    expect((await cli(['status'])).out).toBe('smoke\tboot\n');
    expect((await cli(['finish'])).code).toBe(0);
    expect(api.current(`cli-${n}`)).toEqual({ scenario: 'nightly', step: 'deploy' });
    expect(JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8'))).toEqual({ version: 2, environments: {} });
  });

  it('nests begin/finish pairs and stops at the last finish when nothing ran before', async () => {
    await cli(['begin', 'outer']);
    await cli(['begin', 'inner']);
    await cli(['finish']);
    expect(api.current(`cli-${n}`)).toEqual({ scenario: 'outer', step: 'running' });
    await cli(['finish']);
    expect(api.current(`cli-${n}`)).toBeUndefined();
    expect(api.calls().at(-1)).toMatch(/^DELETE /);
  });

  it('leaves the outer session alone at finish when its begin ran while the API was down', async () => {
    api.setRunning(`cli-${n}`, 'nightly', 'deploy');
    api.pingMode = 'ko';
    // No back-off, so the API counts as back as soon as it answers again.
    const env = { ENERGY_RECORDER_RETRY_AFTER_MS: '0', ENERGY_RECORDER_LOG_LEVEL: 'info' };
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect((await cli(['begin', 'smoke'], env)).code).toBe(0);
      api.pingMode = 'ok';
      expect((await cli(['finish'], env)).code).toBe(0);
      expect(stderr.mock.calls.map((c) => String(c[0])).join('')).toContain('energyrecorder info: the matching begin did not reach the recording API');
    } finally {
      stderr.mockRestore();
    }
    expect(api.current(`cli-${n}`)).toEqual({ scenario: 'nightly', step: 'deploy' });
    expect(api.calls().filter((c) => !c.startsWith('GET '))).toEqual([]);
  });

  it('restores the saved session when a failed finish --strict is retried', async () => {
    api.setRunning(`cli-${n}`, 'nightly', 'deploy');
    await cli(['begin', 'smoke']);
    api.failStatus = 500;
    expect((await cli(['finish', '--strict', '--quiet'])).code).toBe(1);
    api.failStatus = undefined;
    expect((await cli(['finish', '--strict'])).code).toBe(0);
    expect(api.current(`cli-${n}`)).toEqual({ scenario: 'nightly', step: 'deploy' });
  });

  it('keeps one stack per environment when two environments share the state file', async () => {
    api.setRunning('shared-1', 'nightly-1', 'deploy');
    api.setRunning('shared-2', 'nightly-2', 'test');
    await cli(['begin', 'suite-a', '--env', 'shared-1']);
    await cli(['begin', 'suite-b', '--env', 'shared-2']);
    await cli(['finish', '--env', 'shared-1']);
    expect(api.current('shared-1')).toEqual({ scenario: 'nightly-1', step: 'deploy' });
    expect(api.current('shared-2')).toEqual({ scenario: 'suite-b', step: 'running' });
    await cli(['finish', '--env', 'shared-2']);
    expect(api.current('shared-2')).toEqual({ scenario: 'nightly-2', step: 'test' });
  });

  it('reads a state file in the single-environment format of earlier versions', async () => {
    writeFileSync(join(dir, 'state.json'), JSON.stringify({ environment: `cli-${n}`, saved: [{ scenario: 'nightly', step: 'deploy' }] }));
    await cli(['start', 'smoke']);
    expect((await cli(['finish'])).code).toBe(0);
    expect(api.current(`cli-${n}`)).toEqual({ scenario: 'nightly', step: 'deploy' });
  });

  it('exits 1 from status when nothing runs, and prints JSON when asked', async () => {
    expect((await cli(['status'])).code).toBe(1);
    await cli(['start', 'x']);
    const run = await cli(['status', '--format', 'json']);
    expect(JSON.parse(run.out)).toEqual({ environment: `cli-${n}`, scenario: 'x', step: 'running' });
  });

  it('exits 3 from status, not 1, when the API cannot be reached', async () => {
    api.pingMode = 'ko';
    const run = await cli(['status', '--quiet']);
    expect(run.code).toBe(3);
    expect(run.out).toBe('');
    expect(run.err).toMatch(/unreachable/);
  });

  it('exits 0 without --strict and 1 with it when the API is down', async () => {
    api.pingMode = 'ko';
    expect((await cli(['start', 's', '--quiet'])).code).toBe(0);
    expect((await cli(['start', 's', '--quiet', '--strict'])).code).toBe(1);
    expect(existsSync(join(dir, 'state.json'))).toBe(false);
  });

  it('prints the report as a table, JSON or the API CSV', async () => {
    await cli(['begin', 'rep']);
    await cli(['finish']);
    const table = await cli(['report']);
    expect(table.code).toBe(0);
    expect(table.out).toContain('rep');
    expect(table.out).toContain('srv-1');
    const json = await cli(['report', '--format', 'json', '--scenario', 'rep']);
    expect(JSON.parse(json.out)).toMatchObject({ scenario: 'rep', totals: { energyWh: 1 } });
    const csv = await cli(['report', '--format', 'csv']);
    expect(csv.out.split('\n')[0]).toBe('scope,step,equipment,energy_j,energy_wh,avg_w,peak_w,min_w,duration_s,coverage_pct,samples,longest_gap_s');
    expect((await cli(['report', '--scenario', 'none'])).code).toBe(1);
  });

  it('reads energy.conf and accepts the shell SDK command names when run as the old energy.sh harness did', async () => {
    const conf = join(dir, 'energy.conf');
    writeFileSync(
      conf,
      [
        '# energy.conf of the shell SDK',
        'ENERGY_LOG_LEVEL=$LOG_ERROR',
        'export ENERGY_ENVIRONMENT_NAME="legacy-pod"',
        `ENERGY_API_URL='${api.url}'`,
        'ENERGY_API_USER=ci',
        'ENERGY_API_PASSWORD=s3cret # trailing comment',
        '',
      ].join('\n'),
    );
    api.setRunning('legacy-pod', 'nightly', 'deploy');
    expect((await cli(['begin-session', 'shell-case', '--config', conf])).code).toBe(0);
    expect((await cli(['set-step', 'boot', '--config', conf])).code).toBe(0);
    expect((await cli(['get-current-scenario', '--config', conf])).out).toBe('shell-case\tboot\n');
    expect((await cli(['finish-session', '--config', conf])).code).toBe(0);
    expect(api.current('legacy-pod')).toEqual({ scenario: 'nightly', step: 'deploy' });
    expect((await cli(['submit-scenario', 'other', 'phase-2', '--config', conf])).code).toBe(0);
    expect(api.current('legacy-pod')).toEqual({ scenario: 'other', step: 'phase-2' });
    expect(api.current(`cli-${n}`)).toBeUndefined();
    const auth = `Basic ${Buffer.from('ci:s3cret').toString('base64')}`;
    expect(api.requests.filter((r) => !r.path.endsWith('/ping')).every((r) => r.authorization === auth)).toBe(true);
  });

  it('exits 2 naming the file and line when energy.conf is unreadable or malformed', async () => {
    const unreadable = await cli(['status', '--config', dir]);
    expect(unreadable.code).toBe(2);
    expect(unreadable.err).toContain(`${dir}: cannot read`);
    const conf = join(dir, 'bad.conf');
    writeFileSync(conf, 'ENERGY_API_URL=http://127.0.0.1:1/resources\nnot an assignment\nENERGY_LOG_LEVEL=loud\n');
    const bad = await cli(['status', '--config', conf]);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('bad.conf:2: expected KEY=value');
    expect(bad.err).toContain('bad.conf:3: ENERGY_LOG_LEVEL must be');
  });

  it('reads a quoted energy.conf value followed by a comment as bash does', async () => {
    const conf = join(dir, 'energy.conf');
    writeFileSync(
      conf,
      [
        'ENERGY_ENVIRONMENT_NAME="quoted-pod"   # lab pod',
        `ENERGY_API_URL='${api.url}' # local API`,
        'ENERGY_API_USER="ci"bot',
        'ENERGY_API_PASSWORD="p\\"w d"  ',
        '',
      ].join('\n'),
    );
    expect((await cli(['start', 'conf-case', '--config', conf])).code).toBe(0);
    expect(api.current('quoted-pod')).toEqual({ scenario: 'conf-case', step: 'running' });
    const auth = `Basic ${Buffer.from('cibot:p"w d').toString('base64')}`;
    expect(api.requests.filter((r) => r.method === 'POST').map((r) => r.authorization)).toEqual([auth]);
    writeFileSync(conf, 'ENERGY_API_URL=http://a/resources extra words\n');
    const bad = await cli(['status', '--config', conf]);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('energy.conf:1');
  });

  it('sends the credentials of ENERGY_API_URL in energy.conf as Basic auth when the file gives no user or password', async () => {
    const conf = join(dir, 'energy.conf');
    writeFileSync(conf, [`ENERGY_ENVIRONMENT_NAME=url-cred-pod`, `ENERGY_API_URL='${api.url.replace('http://', 'http://ci:s3%40cret@')}'`, ''].join('\n'));
    const run = await cli(['start', 'conf-url-case', '--config', conf]);
    expect(run).toMatchObject({ code: 0, err: '' });
    expect(api.current('url-cred-pod')).toEqual({ scenario: 'conf-url-case', step: 'running' });
    const auth = `Basic ${Buffer.from('ci:s3@cret').toString('base64')}`;
    expect(api.requests.map((r) => r.authorization)).toEqual(api.requests.map(() => auth));
  });

  it('exits 2 without echoing them when --api-url carries credentials, which the process list would show', async () => {
    const run = await cli(['status', '--api-url', api.url.replace('http://', 'http://ci:s3cret@')]);
    expect(run.code).toBe(2);
    expect(run.err).toContain('--api-url must not carry credentials');
    expect(run.err).not.toContain('s3cret');
    expect(api.requests).toEqual([]);
  });

  it('turns recording off with a warning, not a usage error, when the --config file is missing', async () => {
    const missing = join(dir, 'nope.conf');
    const begin = await cli(['begin', 'x', '--config', missing]);
    expect(begin.code).toBe(0);
    expect((await cli(['finish', '--config', missing])).code).toBe(0);
    expect((await cli(['step', 's', '--config', missing, '--strict', '--quiet'])).code).toBe(1);
    expect((await cli(['status', '--config', missing, '--quiet'])).code).toBe(3);
    expect(api.calls()).toEqual([]);
  });

  it('sends no step after a begin that did not reach the API, leaving the outer job step alone', async () => {
    // Each command is a process of its own; in-process, the back-off is turned off to match.
    const env = { ENERGY_RECORDER_RETRY_AFTER_MS: '0' };
    api.pingMode = 'ko';
    expect((await cli(['begin', 'my-suite', '--quiet'], env)).code).toBe(0);
    api.pingMode = 'ok';
    api.setRunning(`cli-${n}`, 'nightly', 'deploy');
    expect((await cli(['step', 'install'], env)).code).toBe(0);
    expect(api.current(`cli-${n}`)).toEqual({ scenario: 'nightly', step: 'deploy' });
    expect((await cli(['finish'], env)).code).toBe(0);
    expect(api.current(`cli-${n}`)).toEqual({ scenario: 'nightly', step: 'deploy' });
    // With the begin finished, steps are sent again.
    expect((await cli(['step', 'later'], env)).code).toBe(0);
    expect(api.current(`cli-${n}`)).toEqual({ scenario: 'nightly', step: 'later' });
  });

  it('exits 3 from status, not 1, when the ping answers but the lookup fails or hangs', async () => {
    api.failStatus = 500;
    const failed = await cli(['status', '--quiet']);
    expect(failed.code).toBe(3);
    expect(failed.err).toMatch(/answered 500/);
    api.failStatus = undefined;
    api.hangCalls = true;
    const hung = await cli(['status', '--quiet', '--timeout-ms', '300']);
    expect(hung.code).toBe(3);
    expect(hung.err).toMatch(/did not answer/);
  });

  it('submits a scenario at a given step and refuses submit with one argument', async () => {
    expect((await cli(['submit', 'scn', 'step-3'])).code).toBe(0);
    expect(api.current(`cli-${n}`)).toEqual({ scenario: 'scn', step: 'step-3' });
    expect((await cli(['submit', 'scn'])).err).toContain('exactly 2 arguments');
  });
});

describe('energyrecorder CLI documentation', () => {
  it('documents in the README every option that --help lists', () => {
    const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
    const options = [...CLI_USAGE.matchAll(/^\s+(--[a-z-]+)/gm)].map((m) => m[1] as string);
    expect(options.length).toBeGreaterThanOrEqual(10);
    expect(options.filter((o) => o !== '--help' && !readme.includes(`\`${o}`))).toEqual([]);
  });
});
