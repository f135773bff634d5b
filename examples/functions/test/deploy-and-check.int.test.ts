import { createApiServer, type ApiServer } from '@energyrecorder/api-server';
import { EnergyRecorder } from '@energyrecorder/sdk';
import { deployAndCheck } from '../src/deploy-and-check.js';

// The peer is the real recording API in this process (in-memory embedded store, free port).
describe('deployAndCheck', () => {
  let api: ApiServer;
  let apiUrl: string;

  beforeAll(async () => {
    api = createApiServer({ port: 0, host: '127.0.0.1' });
    apiUrl = `${await api.listen()}/resources`;
  });

  afterAll(async () => {
    await api.close();
  });

  it('records one scenario with a step per phase when the API is up', async () => {
    const recorder = new EnergyRecorder({ environment: 'example-fn', apiUrl });
    const result = await deployAndCheck(recorder, ['nova', 'neutron']);
    expect(result).toEqual({ deployed: ['nova', 'neutron'], checks: 2 });
    await recorder.flush();
    const s = (await recorder.sessions())?.sessions[0];
    expect(s?.scenario).toBe('deploy-and-check');
    expect(s?.steps.map((st) => st.step)).toEqual(['running', 'deploy', 'smoke']);
    expect(await recorder.getCurrentScenario()).toBeNull();
  });

  it('restores the outer scenario and step when it runs inside another recording', async () => {
    const recorder = new EnergyRecorder({ environment: 'example-fn-nested', apiUrl });
    await recorder.start('nightly');
    await recorder.setStep('prepare');
    await deployAndCheck(recorder, ['heat']);
    await recorder.flush();
    expect(await recorder.getCurrentScenario()).toEqual({ environment: 'example-fn-nested', scenario: 'nightly', step: 'prepare' });
  });

  it('still runs the harness and returns its result when the API is unreachable', async () => {
    const recorder = new EnergyRecorder({ environment: 'example-fn', apiUrl: 'http://127.0.0.1:9/resources', timeoutMs: 500 });
    await expect(deployAndCheck(recorder, ['glance'])).resolves.toEqual({ deployed: ['glance'], checks: 1 });
  });
});
