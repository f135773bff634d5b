import { EnergyRecorder, recording, setDefaultRecorder, step } from '../src/index.js';
import { FakeApi } from './support/fake-api.js';

let api: FakeApi;
let rec: EnergyRecorder;
let counter = 0;

beforeEach(async () => {
  api = new FakeApi();
  await api.listen();
  counter += 1;
  rec = new EnergyRecorder({ environment: `fn-${counter}`, apiUrl: api.url });
  setDefaultRecorder(rec);
});

afterEach(async () => {
  setDefaultRecorder(undefined);
  await api.close();
});

describe('recording and step', () => {
  it('records the scenario with its steps on the default recorder and restores the outer one when used without classes', async () => {
    api.setRunning(rec.environment, 'ci-job', 'tests');
    const result = await recording('deploy-and-check', async () => {
      const deployed = await step('deploy', () => api.current(rec.environment)?.step);
      const sent = await step('check');
      return { deployed, sent, now: api.current(rec.environment) };
    });
    expect(result).toEqual({ deployed: 'deploy', sent: true, now: { scenario: 'deploy-and-check', step: 'check' } });
    expect(api.current(rec.environment)).toEqual({ scenario: 'ci-job', step: 'tests' });
  });

  it('rethrows the error of fn and still restores when fn fails', async () => {
    const failure = new TypeError('boom');
    await expect(recording('failing', () => Promise.reject(failure))).rejects.toBe(failure);
    expect(api.current(rec.environment)).toBeUndefined();
  });
});
