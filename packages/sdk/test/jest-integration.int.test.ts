import { EnergyRecorder } from '../src/index.js';
import { runFixtureJest as runJest } from './support/child-jest.js';
import { startRealApi, type RealApi } from './support/real-api.js';

let api: RealApi;

beforeAll(async () => {
  api = await startRealApi();
});

afterAll(async () => {
  await api.close();
});

describe('@energyrecorder/sdk/jest', () => {
  it('records the test file as a scenario and each test as a step when listed in setupFilesAfterEnv', async () => {
    const run = await runJest({ NODE_NAME: 'int-jest', ENERGY_RECORDER_API_URL: api.apiUrl });
    expect(run.output).toContain('2 passed');
    expect(run.code).toBe(0);
    const rec = new EnergyRecorder({ environment: 'int-jest', apiUrl: api.apiUrl });
    const sessions = await rec.sessions();
    expect(sessions?.sessions).toHaveLength(1);
    expect(sessions?.sessions[0]).toMatchObject({ scenario: 'math.spec.js', running: false });
    expect(sessions?.sessions[0]?.steps.map((s) => s.step)).toEqual(['running', 'math adds', 'math multiplies']);
  });

  it('lets the tests pass and warns once when NODE_NAME is not set', async () => {
    const run = await runJest({ NODE_NAME: '', ENERGY_RECORDER_API_URL: api.apiUrl });
    expect(run.code).toBe(0);
    expect(run.output).toContain('energy recording disabled');
  });
});
