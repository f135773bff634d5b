import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { builtinAdapters } from '@energyrecorder/adapters';
import { createAdapterRegistry } from '@energyrecorder/core';
import { makeTempDir, removeDir, waitFor } from '@energyrecorder/testkit';
import { createRedfishService, SimulatedMeter, type RedfishService } from '@energyrecorder/yocto-redfish';
import { Collector } from '../src/collector.js';
import { loadCollectorConfigFile } from '../src/internal/config.js';
import { RealApi } from './helpers/api.js';

describe('Collector with the built-in redfish adapter', () => {
  let dir: string;
  let api: RealApi;
  let redfish: RedfishService;
  let collector: Collector | undefined;

  beforeAll(async () => {
    dir = makeTempDir('collector-redfish');
    api = new RealApi(dir);
    await api.start();
    redfish = createRedfishService({
      meters: [
        { meter: new SimulatedMeter({ profile: 'constant:150' }) },
        { meter: new SimulatedMeter({ profile: 'constant:250' }) },
      ],
      sumChassis: true,
      host: '127.0.0.1',
      port: 0,
      pollIntervalMs: 100,
    });
    await redfish.listen();
  });
  afterAll(async () => {
    await collector?.stop(2000);
    await redfish.close();
    await api.stop();
    removeDir(dir);
  });

  it('pushes the whole-device power of a yocto-redfish service when polled through builtinAdapters', async () => {
    const registry = createAdapterRegistry(builtinAdapters);
    const file = join(dir, 'collector-settings.yaml');
    const host = new URL(redfish.url).host;
    writeFileSync(
      file,
      `PODS:
  - environment: LAB
    polling_interval: 0.5
    servers:
      - {id: wattmeter, type: redfish, host: "${host}", user: "", pass: "", scheme: http}
RECORDER_API_SERVER: {base_url: "${api.url}"}
COLLECTOR: {spool_dir: "${join(dir, 'spool')}", flush_interval_ms: 100}
`,
    );
    collector = await Collector.create({ config: await loadCollectorConfigFile(file, registry) });
    await collector.start();
    const power = (): number[] =>
      api.stored.filter((r) => r.equipment === 'wattmeter' && r.sensor === 'power').map((r) => r.value);
    await waitFor(() => power().length >= 2, 'power readings from the redfish service', 20_000);
    expect(power().every((v) => Math.abs(v - 400) < 1)).toBe(true);
    expect(api.stored.every((r) => r.environment === 'LAB')).toBe(true);
  });
});
