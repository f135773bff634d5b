import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { isCi } from '@energyrecorder/testkit';
import { EnergyRecorder } from '../src/index.js';
import { startRealApi, type RealApi } from './support/real-api.js';

// A real Mocha run with only `--require @energyrecorder/sdk/mocha` (the built root-hook plugin), against the
// api-server: each spec file must be stored as a session, each test as a step.
const plugin = join(__dirname, '../dist/mocha.cjs');
const built = existsSync(plugin);
if (!built) {
  if (isCi()) throw new Error(`${plugin} is missing; CI=true, so this fails instead of skipping (turbo builds before test:int)`);
  process.stderr.write(`\n!!!!!!!!!! ${plugin} not built (npx tsup): SKIPPING the Mocha run !!!!!!!!!!\n\n`);
}

let api: RealApi;

beforeAll(async () => {
  api = await startRealApi();
});

afterAll(async () => {
  await api.close();
});

function runMocha(env: Record<string, string>): Promise<{ code: number; output: string }> {
  const projectDir = join(__dirname, 'fixtures/mocha-project');
  const mochaBin = require.resolve('mocha/bin/mocha.js');
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [mochaBin, '--require', plugin, '--sort', 'cart.spec.cjs', 'login.spec.cjs'],
      { cwd: projectDir, env: { ...process.env, ...env }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, output: `${stdout}${stderr}` }),
    );
  });
}

describe('@energyrecorder/sdk/mocha', () => {
  (built ? it : it.skip)('records each spec file as a session and each test as a step when Mocha requires the plugin', async () => {
    const run = await runMocha({ NODE_NAME: 'int-mocha', ENERGY_RECORDER_API_URL: api.apiUrl });
    expect(run.output).toContain('3 passing');
    expect(run.code).toBe(0);
    const rec = new EnergyRecorder({ environment: 'int-mocha', apiUrl: api.apiUrl });
    const sessions = (await rec.sessions())?.sessions ?? [];
    expect(sessions.map((s) => [s.scenario, s.running, s.steps.map((st) => st.step)])).toEqual([
      ['login.spec.cjs', false, ['running', 'login accepts a password']],
      ['cart.spec.cjs', false, ['running', 'cart adds an item', 'cart empties']],
    ]);
    await expect(rec.getCurrentScenario()).resolves.toBeNull();
  });
});
