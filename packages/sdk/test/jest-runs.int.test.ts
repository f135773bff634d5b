import { createServer, type Server } from 'node:http';
import { EnergyRecorder } from '../src/index.js';
import { fixtureDir, runFixtureJest } from './support/child-jest.js';
import { startRealApi, type RealApi } from './support/real-api.js';

// Real child Jest runs of the fixture projects, with the SDK's setup module and nothing else.

let api: RealApi;

beforeAll(async () => {
  api = await startRealApi();
});

afterAll(async () => {
  await api.close();
});

/** An API that accepts connections and never answers; counts the pings it got. */
async function hangingApi(): Promise<{ url: string; pings: () => number; close: () => Promise<void> }> {
  let pings = 0;
  const server: Server = createServer((req) => {
    if (req.url?.endsWith('/monitoring/ping') === true) pings += 1;
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/resources`,
    pings: () => pings,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe('@energyrecorder/sdk/jest with a hanging API', () => {
  it('probes once for the whole run and warns once, not once per test file', async () => {
    const hang = await hangingApi();
    try {
      const run = await runFixtureJest(
        { NODE_NAME: 'int-jest-hang', ENERGY_RECORDER_API_URL: hang.url, ENERGY_RECORDER_TIMEOUT_MS: '1500', ENERGY_RECORDER_LOG_LEVEL: 'warn' },
        { dir: fixtureDir('jest-hang') },
      );
      expect(run.output).toContain('4 passed');
      expect(run.code).toBe(0);
      expect(run.output.match(/recording API unavailable/g)).toHaveLength(1);
      expect(hang.pings()).toBe(1);
    } finally {
      await hang.close();
    }
  });
});

describe('@energyrecorder/sdk/jest with parallel workers', () => {
  it('leaves no file scenario running and restores the outer job when two workers overlap on one environment', async () => {
    const rec = new EnergyRecorder({ environment: 'int-jest-par', apiUrl: api.apiUrl });
    await rec.submitScenario('nightly', 'deploy');
    const run = await runFixtureJest(
      { NODE_NAME: 'int-jest-par', ENERGY_RECORDER_API_URL: api.apiUrl },
      { dir: fixtureDir('jest-parallel'), args: ['--maxWorkers=2'] },
    );
    expect(run.output).toContain('2 passed');
    expect(run.code).toBe(0);
    await expect(rec.getCurrentScenario()).resolves.toEqual({ environment: 'int-jest-par', scenario: 'nightly', step: 'deploy' });
    const sessions = (await rec.sessions())?.sessions ?? [];
    const files = sessions.filter((s) => s.scenario.endsWith('.spec.js'));
    expect(files.map((s) => [s.scenario, s.running]).sort()).toEqual([
      ['a.spec.js', false],
      ['b.spec.js', false],
    ]);
  });
});

describe('@energyrecorder/sdk/jest with titles the API refuses as they are', () => {
  it('records every test as a step, control characters turned into spaces and a long title cut to 1024', async () => {
    const run = await runFixtureJest({ NODE_NAME: 'int-jest-names', ENERGY_RECORDER_API_URL: api.apiUrl }, { dir: fixtureDir('jest-names') });
    expect(run.output).toContain('3 passed');
    expect(run.code).toBe(0);
    const rec = new EnergyRecorder({ environment: 'int-jest-names', apiUrl: api.apiUrl });
    const steps = (await rec.sessions())?.sessions[0]?.steps.map((s) => s.step) ?? [];
    expect(steps.slice(0, 3)).toEqual(['running', 'plain', 'parses {   "a": 1 }']);
    expect(steps[3]).toHaveLength(1024);
    expect(steps[3]).toMatch(/^x+…[0-9a-f]{12}$/);
    expect(steps).toHaveLength(4);
  });
});
