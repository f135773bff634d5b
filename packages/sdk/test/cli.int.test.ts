import { join } from 'node:path';
import { makeTempDir, removeDir } from '@energyrecorder/testkit';
import { EnergyRecorder } from '../src/index.js';
import { runCli } from '../src/internal/cli-run.js';
import { postPower, startRealApi, type RealApi } from './support/real-api.js';

let api: RealApi;
let dir: string;

beforeAll(async () => {
  api = await startRealApi();
  dir = makeTempDir('sdk-cli-int');
});

afterAll(async () => {
  await api.close();
  removeDir(dir);
});

async function cli(args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await runCli(args, { out: (t) => (out += t), err: () => undefined }, {
    NODE_NAME: 'int-cli',
    ENERGY_RECORDER_API_URL: api.apiUrl,
    ENERGY_RECORDER_STATE_FILE: join(dir, 'state.json'),
  });
  return { code, out };
}

describe('energyrecorder CLI against the api-server', () => {
  it('records begin/step/finish as one session, restores the outer one, and reports it', async () => {
    expect((await cli(['start', 'pipeline'])).code).toBe(0);
    expect((await cli(['begin', 'shell-tests'])).code).toBe(0);
    expect((await cli(['step', 'install'])).code).toBe(0);
    const t0 = Date.now() * 1e6;
    await new Promise((r) => setTimeout(r, 250));
    await postPower(api.apiUrl, 'int-cli', 'pdu-3', [0, 1, 2].map((i) => ({ timeNs: t0 + i * 100e6, watts: 50 })));
    expect((await cli(['status'])).out).toBe('shell-tests\tinstall\n');
    expect((await cli(['finish'])).code).toBe(0);
    expect((await cli(['status'])).out).toBe('pipeline\trunning\n');

    const rec = new EnergyRecorder({ environment: 'int-cli', apiUrl: api.apiUrl });
    const sessions = await rec.sessions();
    const shell = sessions?.sessions.find((s) => s.scenario === 'shell-tests');
    expect(shell?.steps.map((s) => s.step)).toEqual(['running', 'install']);

    const json = await cli(['report', '--scenario', 'shell-tests', '--format', 'json']);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.out) as { steps: { step: string; equipments: { equipment: string }[] }[] };
    expect(report.steps.find((s) => s.step === 'install')?.equipments.map((e) => e.equipment)).toEqual(['pdu-3']);
    const table = await cli(['report', '--scenario', 'shell-tests']);
    expect(table.out).toMatch(/install\s+pdu-3/);
    const csv = await cli(['report', '--scenario', 'shell-tests', '--format', 'csv']);
    expect(csv.out).toContain('step,install,pdu-3,');
    expect((await cli(['stop'])).code).toBe(0);
    expect((await cli(['status'])).code).toBe(1);
  });
});
