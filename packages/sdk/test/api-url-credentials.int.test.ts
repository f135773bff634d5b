import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, removeDir } from '@energyrecorder/testkit';
import { EnergyRecorder } from '../src/index.js';
import { runCli } from '../src/internal/cli-run.js';
import { startRealApi, type RealApi, type RealApiUser } from './support/real-api.js';

// Credentials given in the API URL (`http://user:pass@host/resources`), as the original SDK's `requests` and the
// shell SDK's curl took them, against the real api-server with AUTH on: writes need a writer's Basic auth.
const writer: RealApiUser = { name: 'ci@lab', password: 'w:s3cret/é', role: 'writer' };
const reader: RealApiUser = { name: 'grafana', password: 'r-secret', role: 'reader' };

let api: RealApi;
let dir: string;

beforeAll(async () => {
  api = await startRealApi({ users: [writer, reader] });
  dir = makeTempDir('sdk-url-credentials');
});

afterAll(async () => {
  await api.close();
  removeDir(dir);
});

/** The API URL with `user`'s credentials, percent-encoded as a URL must carry them. */
function urlWith(user: RealApiUser): string {
  return api.apiUrl.replace('http://', `http://${encodeURIComponent(user.name)}:${encodeURIComponent(user.password)}@`);
}

describe('credentials in the API URL against the api-server with AUTH', () => {
  it('refuses a start without credentials (AUTH is on)', async () => {
    const rec = new EnergyRecorder({ environment: 'int-url-none', apiUrl: api.apiUrl });
    await expect(rec.start('anonymous')).resolves.toBe(false);
  });

  it('records a session with its step when ENERGY_RECORDER_API_URL carries a writer', async () => {
    const rec = EnergyRecorder.fromEnv({ NODE_NAME: 'int-url-env', ENERGY_RECORDER_API_URL: urlWith(writer) });
    expect(rec.apiUrl).toBe(api.apiUrl);
    await rec.recording('url-auth', async () => {
      await rec.step('deploy');
      await expect(rec.getCurrentScenario()).resolves.toEqual({ environment: 'int-url-env', scenario: 'url-auth', step: 'deploy' });
    });
    const sessions = (await rec.sessions())?.sessions ?? [];
    expect(sessions.map((s) => [s.scenario, s.running, s.steps.map((st) => st.step)])).toEqual([['url-auth', false, ['running', 'deploy']]]);
  });

  it('uses ENERGY_RECORDER_API_USER and _PASSWORD instead when both are set', async () => {
    const explicitWriter = EnergyRecorder.fromEnv({
      NODE_NAME: 'int-url-explicit',
      ENERGY_RECORDER_API_URL: urlWith(reader),
      ENERGY_RECORDER_API_USER: writer.name,
      ENERGY_RECORDER_API_PASSWORD: writer.password,
    });
    await expect(explicitWriter.start('explicit-wins')).resolves.toBe(true);
    const explicitReader = EnergyRecorder.fromEnv({
      NODE_NAME: 'int-url-explicit',
      ENERGY_RECORDER_API_URL: urlWith(writer),
      ENERGY_RECORDER_API_USER: reader.name,
      ENERGY_RECORDER_API_PASSWORD: reader.password,
    });
    await expect(explicitReader.stop()).resolves.toBe(false);
    await expect(explicitReader.getCurrentScenario()).resolves.toMatchObject({ scenario: 'explicit-wins' });
    await expect(explicitWriter.stop()).resolves.toBe(true);
  });

  it('records through the CLI when the ENERGY_API_URL of energy.conf carries a writer', async () => {
    const conf = join(dir, 'energy.conf');
    writeFileSync(conf, `ENERGY_ENVIRONMENT_NAME=int-url-conf\nENERGY_API_URL='${urlWith(writer)}'\n`);
    let err = '';
    const run = (args: string[]): Promise<number> =>
      runCli([...args, '--config', conf, '--state-file', join(dir, 'state.json')], { out: () => undefined, err: (t) => (err += t) }, {});
    await expect(run(['begin', 'conf-url', '--strict'])).resolves.toBe(0);
    await expect(run(['step', 'install', '--strict'])).resolves.toBe(0);
    await expect(run(['finish', '--strict'])).resolves.toBe(0);
    expect(err).toBe('');
    const rec = new EnergyRecorder({ environment: 'int-url-conf', apiUrl: api.apiUrl, user: writer.name, password: writer.password });
    const sessions = (await rec.sessions())?.sessions ?? [];
    expect(sessions.map((s) => [s.scenario, s.running, s.steps.map((st) => st.step)])).toEqual([['conf-url', false, ['running', 'install']]]);
  });
});
