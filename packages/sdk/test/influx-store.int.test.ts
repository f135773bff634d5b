import { join } from 'node:path';
import { makeTempDir, peerAvailable, removeDir, startInfluxd, type InfluxdPeer } from '@energyrecorder/testkit';
import { runCli } from '../src/internal/cli-run.js';
import { runFixtureJest } from './support/child-jest.js';
import { influxRows, postPower, startRealApi, type RealApi } from './support/real-api.js';

// The CLI and the Jest integration against the api-server backed by a real influxd: the points the original's
// schema stores must be there, and readings taken during a step must carry its tags.
const have = peerAvailable('influxd', ['influxd']);

(have ? describe : describe.skip)('CLI and Jest integration against the api-server on influxd', () => {
  let influx: InfluxdPeer;
  let api: RealApi;
  let dir: string;

  beforeAll(async () => {
    influx = await startInfluxd();
    api = await startRealApi({ influx });
    dir = makeTempDir('sdk-influx-int');
  });

  afterAll(async () => {
    await api?.close();
    await influx?.stop();
    if (dir !== undefined) removeDir(dir);
  });

  const scenarioPoints = async (env: string): Promise<unknown[][]> =>
    (
      await influxRows(influx, `SELECT "scenario", "step", "started" FROM "running_scenarios_rp"."RunningScenarios" WHERE "environment" = '${env}'`)
    ).map((p) => [p['scenario'], p['step'], p['started']]);

  it('stores begin/step/finish points and tags readings with the CLI step when a shell harness uses it', async () => {
    const env = { NODE_NAME: 'influx-cli', ENERGY_RECORDER_API_URL: api.apiUrl, ENERGY_RECORDER_STATE_FILE: join(dir, 'state.json') };
    const cli = (args: string[]): Promise<number> => runCli(args, { out: () => undefined, err: () => undefined }, env);
    expect(await cli(['begin', 'shell-suite'])).toBe(0);
    expect(await cli(['step', 'install'])).toBe(0);
    await postPower(api.apiUrl, 'influx-cli', 'pdu-1', [{ timeNs: Date.now() * 1e6, watts: 77 }]);
    expect(await cli(['finish'])).toBe(0);

    expect(await scenarioPoints('influx-cli')).toEqual([
      ['shell-suite', 'running', 1],
      ['shell-suite', 'install', 1],
      ['shell-suite', 'install', 0],
    ]);
    const readings = await influxRows(influx, `SELECT "value", "scenario", "step" FROM "SensorMeasurement" WHERE "environment" = 'influx-cli'`);
    expect(readings.map((r) => [r['scenario'], r['step'], r['value']])).toEqual([['shell-suite', 'install', 77]]);
  });

  it('stores a scenario per test file and a step per test when Jest runs with the setup module', async () => {
    const run = await runFixtureJest({ NODE_NAME: 'influx-jest', ENERGY_RECORDER_API_URL: api.apiUrl });
    expect(run.code).toBe(0);
    expect(await scenarioPoints('influx-jest')).toEqual([
      ['math.spec.js', 'running', 1],
      ['math.spec.js', 'math adds', 1],
      ['math.spec.js', 'math multiplies', 1],
      ['math.spec.js', 'math multiplies', 0],
    ]);
  });
});
