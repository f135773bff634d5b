import { createApiServer, type ApiServer } from '@energyrecorder/api-server';
import { EnergyRecorder, setDefaultRecorder } from '@energyrecorder/sdk';
import { VpingSsh } from '../src/vping-suite.js';

// The peer is the real recording API, in this process, on an in-memory embedded store and a free port.
describe('VpingSsh (standard decorators)', () => {
  let api: ApiServer;
  let recorder: EnergyRecorder;

  beforeAll(async () => {
    api = createApiServer({ port: 0, host: '127.0.0.1' });
    const url = await api.listen();
    recorder = new EnergyRecorder({ environment: 'example-std', apiUrl: `${url}/resources` });
    setDefaultRecorder(recorder);
  });

  afterAll(async () => {
    await api.close();
  });

  it('records the case as a scenario with its steps when the decorated method runs', async () => {
    const suite = new VpingSsh();
    await expect(suite.run('vm-1', { retries: 3 })).resolves.toBe(0);
    expect(suite.log).toEqual(['boot vm-1', 'ping vm-1 x3']);
    await recorder.flush();
    const sessions = (await recorder.sessions())?.sessions ?? [];
    const s = sessions.find((x) => x.scenario === 'vping_ssh');
    expect(s?.steps.map((st) => st.step)).toEqual(['running', 'boot', 'ping']);
    expect(s?.running).toBe(false);
  });

  it('passes the error through and stops recording when the case throws', async () => {
    await expect(new VpingSsh().broken()).rejects.toThrow('no route to host');
    await recorder.flush();
    expect(await recorder.getCurrentScenario()).toBeNull();
    const s = (await recorder.sessions())?.sessions.find((x) => x.scenario === 'vping_broken');
    expect(s?.steps.map((st) => st.step)).toEqual(['running', 'boot']);
  });
});
