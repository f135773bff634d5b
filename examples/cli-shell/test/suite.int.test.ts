import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createApiServer, type ApiServer } from '@energyrecorder/api-server';
import { EnergyRecorder } from '@energyrecorder/sdk';

const run = promisify(execFile);
const root = join(__dirname, '..', '..', '..');
const binDir = join(root, 'node_modules', '.bin');

// Peers: the real recording API in this process (in-memory store, free port) and the built `energyrecorder`
// CLI, which npm links into node_modules/.bin (turbo builds it before test:int).
describe('suite.sh', () => {
  let api: ApiServer;
  let apiUrl: string;
  const stateDir = mkdtempSync(join(tmpdir(), 'er-shell-'));

  beforeAll(async () => {
    api = createApiServer({ port: 0, host: '127.0.0.1' });
    apiUrl = `${await api.listen()}/resources`;
  });

  afterAll(async () => {
    await api.close();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('records the shell suite with its steps and restores the outer scenario when it ends', async () => {
    if (!existsSync(join(binDir, 'energyrecorder'))) throw new Error('energyrecorder CLI missing: build packages/sdk and run npm install');
    const env = { ...process.env, PATH: `${binDir}:${process.env['PATH'] ?? ''}`, NODE_NAME: 'example-shell', ENERGY_RECORDER_API_URL: apiUrl, STEP_SLEEP: '0.1', ENERGY_RECORDER_STATE_FILE: join(stateDir, 'state.json') };
    const recorder = new EnergyRecorder({ environment: 'example-shell', apiUrl });
    await recorder.start('nightly');

    const { stdout } = await run('bash', [join(__dirname, '..', 'suite.sh')], { env, timeout: 60_000 });

    expect(stdout).toMatch(/now running: shell-suite\s+teardown/);
    const s = (await recorder.sessions())?.sessions.find((x) => x.scenario === 'shell-suite');
    expect(s?.steps.map((st) => st.step)).toEqual(['running', 'install', 'functional', 'teardown']);
    expect(await recorder.getCurrentScenario()).toEqual({ environment: 'example-shell', scenario: 'nightly', step: 'running' });
  });

  it('fails when NODE_NAME is missing, before marking anything', async () => {
    const env = { ...process.env, PATH: `${binDir}:${process.env['PATH'] ?? ''}`, NODE_NAME: '', ENERGY_RECORDER_API_URL: apiUrl };
    await expect(run('bash', [join(__dirname, '..', 'suite.sh')], { env, timeout: 30_000 })).rejects.toMatchObject({ code: 1 });
  });
});
