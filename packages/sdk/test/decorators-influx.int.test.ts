import { peerAvailable, startInfluxd, type InfluxdPeer } from '@energyrecorder/testkit';
import { EnergyRecorder, enableRecording, setDefaultRecorder, setStep } from '../src/index.js';
import { influxRows, postPower, startRealApi, type RealApi } from './support/real-api.js';

// Runs under both jest configs (TC39 and experimentalDecorators): the decorators against the api-server backed by
// a real influxd, checking the points the original's schema stores (RunningScenarios, SensorMeasurement tags).
const MODE = process.env['SDK_DECORATORS'] ?? 'standard';
const ENV = `influx-deco-${MODE}`;
const have = peerAvailable('influxd', ['influxd']);

let influx: InfluxdPeer;
let api: RealApi;

class Suite {
  case_name = `vping_ssh-${MODE}`;

  @enableRecording()
  async run(label: string, extra: { n: number }): Promise<string> {
    await this.load();
    return `${label}:${extra.n}`;
  }

  @setStep('load')
  async load(): Promise<void> {
    const t0 = Date.now() * 1e6;
    await postPower(api.apiUrl, ENV, 'srv-9', [0, 1].map((i) => ({ timeNs: t0 + i * 1e6, watts: 123 })));
  }
}

(have ? describe : describe.skip)(`decorators against the api-server on influxd (${MODE})`, () => {
  beforeAll(async () => {
    influx = await startInfluxd();
    api = await startRealApi({ influx });
    setDefaultRecorder(new EnergyRecorder({ environment: ENV, apiUrl: api.apiUrl }));
  });

  afterAll(async () => {
    setDefaultRecorder(undefined);
    await api?.close();
    await influx?.stop();
  });

  it('stores the session points and tags the readings with scenario and step when a decorated method runs', async () => {
    const outer = new EnergyRecorder({ environment: ENV, apiUrl: api.apiUrl });
    await outer.submitScenario('ci-job', 'tests');

    await expect(new Suite().run('ok', { n: 2 })).resolves.toBe('ok:2');

    const points = await influxRows(
      influx,
      `SELECT "scenario", "step", "started" FROM "running_scenarios_rp"."RunningScenarios" WHERE "environment" = '${ENV}'`,
    );
    expect(points.map((p) => [p['scenario'], p['step'], p['started']])).toEqual([
      ['ci-job', 'tests', 1],
      [`vping_ssh-${MODE}`, 'running', 1],
      [`vping_ssh-${MODE}`, 'load', 1],
      ['ci-job', 'tests', 1],
    ]);
    const readings = await influxRows(
      influx,
      `SELECT "value", "scenario", "step", "equipement", "sensor", "unit" FROM "SensorMeasurement" WHERE "environment" = '${ENV}'`,
    );
    expect(readings).toHaveLength(2);
    for (const r of readings) {
      expect(r).toMatchObject({ value: 123, scenario: `vping_ssh-${MODE}`, step: 'load', equipement: 'srv-9', sensor: 'power', unit: 'W' });
    }

    await outer.stop();
    const last = await influxRows(influx, `SELECT last("started"), "scenario", "step" FROM "running_scenarios_rp"."RunningScenarios" WHERE "environment" = '${ENV}'`);
    expect(last[0]).toMatchObject({ last: 0, scenario: 'ci-job', step: 'tests' });
  });
});
