import type { PowerAdapter } from '@energyrecorder/core';
import { createRedfishService, SimulatedMeter, type RedfishService } from '@energyrecorder/yocto-redfish';
import { redfishAdapter } from '../../src/redfish/adapter.js';
import { captureLogger } from '../fakes/capture-logger.js';

// Contract test: the redfish adapter reads the yocto-redfish server (the USB-meter bridge) as it really runs.
function create(entry: Record<string, unknown>): PowerAdapter {
  const config = redfishAdapter.configSchema.parse({ id: 'meter', type: 'redfish', ...entry });
  return redfishAdapter.create(config, { logger: captureLogger(), requestTimeoutMs: 5000, equipmentId: 'meter' });
}

describe('redfish adapter against @energyrecorder/yocto-redfish', () => {
  let service: RedfishService | undefined;
  let adapter: PowerAdapter | undefined;
  afterEach(async () => {
    await adapter?.close();
    await service?.close();
    adapter = undefined;
    service = undefined;
  });

  it('reads one chassis per meter and sums them when two meters are served', async () => {
    service = createRedfishService({
      meters: [
        { id: 'a', meter: new SimulatedMeter({ profile: 'constant:200' }) },
        { id: 'b', meter: new SimulatedMeter({ profile: 'constant:150' }) },
      ],
    });
    const url = await service.listen();
    adapter = create({ host: url, temperature: false });
    const readings = await adapter.read(new AbortController().signal);
    const byName = Object.fromEntries(readings.map((r) => [r.sensor, r.value]));
    expect(byName['power']).toBeCloseTo(350, 0);
    expect(byName['a/power']).toBeCloseTo(200, 0);
    expect(byName['b/power']).toBeCloseTo(150, 0);
  });

  it('reads the summed yoko2redfish-style chassis through a session and logs out on close', async () => {
    service = createRedfishService({
      meters: [
        { meter: new SimulatedMeter({ profile: 'constant:120' }) },
        { meter: new SimulatedMeter({ profile: 'constant:80' }) },
      ],
      sumChassis: true,
      users: [{ name: 'operator', password: 'meter-pass-1' }],
    });
    const url = await service.listen();
    adapter = create({ host: url, user: 'operator', pass: 'meter-pass-1' });
    const first = await adapter.read(new AbortController().signal);
    const second = await adapter.read(new AbortController().signal);
    for (const readings of [first, second]) {
      expect(readings.find((r) => r.sensor === 'power')?.value).toBeCloseTo(200, 0);
    }
  });

  it('is refused with ER_ADAPTER_AUTH when the password is wrong', async () => {
    service = createRedfishService({
      meters: [{ meter: new SimulatedMeter({ profile: 'constant:10' }) }],
      users: [{ name: 'operator', password: 'meter-pass-1' }],
    });
    const url = await service.listen();
    adapter = create({ host: url, user: 'operator', pass: 'wrong-pass' });
    await expect(adapter.read(new AbortController().signal)).rejects.toMatchObject({ code: 'ER_ADAPTER_AUTH' });
  });
});
