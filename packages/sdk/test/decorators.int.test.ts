import { EnergyRecorder, enableRecording, setDefaultRecorder, setStep } from '../src/index.js';
import { startRealApi, type RealApi } from './support/real-api.js';

// Runs under both jest configs (TC39 and experimentalDecorators) against the real api-server.
const MODE = process.env['SDK_DECORATORS'] ?? 'standard';
const ENV = `int-deco-${MODE}`;

let api: RealApi;
let rec: EnergyRecorder;

beforeAll(async () => {
  api = await startRealApi();
  rec = new EnergyRecorder({ environment: ENV, apiUrl: api.apiUrl });
  setDefaultRecorder(rec);
});

afterAll(async () => {
  setDefaultRecorder(undefined);
  await api.close();
});

class Functest {
  case_name = `vping-${MODE}`;

  @enableRecording()
  async run(arg: string): Promise<string> {
    await this.deploy();
    await this.check();
    return `ran ${arg}`;
  }

  @setStep('deploy')
  async deploy(): Promise<void> {}

  @setStep('check')
  async check(): Promise<void> {
    throw new Error('check failed');
  }
}

class Nightly {
  @enableRecording('nightly')
  async run(): Promise<void> {
    await new Functest().run('inside').catch(() => undefined);
  }
}

describe(`decorators against the api-server (${MODE})`, () => {
  it('stores a session named after case_name with one step per @setStep and rethrows the failure', async () => {
    await expect(new Functest().run('x')).rejects.toThrow('check failed');
    const sessions = await rec.sessions({ limit: 1 });
    expect(sessions?.sessions[0]).toMatchObject({ scenario: `vping-${MODE}`, running: false });
    expect(sessions?.sessions[0]?.steps.map((s) => s.step)).toEqual(['running', 'deploy', 'check']);
  });

  it('returns to the enclosing decorated scenario when decorated methods nest', async () => {
    await new Nightly().run();
    await expect(rec.getCurrentScenario()).resolves.toBeNull();
    const sessions = await rec.sessions({ limit: 2 });
    // Newest-started first: the inner scenario, inside the outer one, which is one session (the restore confirmed it).
    const [inner, outer] = sessions?.sessions ?? [];
    expect([inner?.scenario, outer?.scenario]).toEqual([`vping-${MODE}`, 'nightly']);
    expect(inner?.parent).toEqual({ scenario: 'nightly', startNs: outer?.startNs });
    expect(outer).toMatchObject({ running: false, steps: [{ step: 'running' }] });
    expect(outer?.startNs).toBeLessThan(inner?.startNs ?? 0);
    expect(outer?.endNs).toBeGreaterThanOrEqual(inner?.endNs ?? Infinity);
  });
});
