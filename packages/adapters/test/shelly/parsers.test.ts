import { parseShellyGen1Status, parseShellyGen2SwitchStatus, parseShellyGeneration } from '../../src/shelly/parsers.js';
import { httpFixture } from '../fakes/http-devices.js';

const T = 1_700_000_000_000_000_000;
const fx = (name: string): unknown => JSON.parse(httpFixture(name));

describe('shelly parsers', () => {
  it('tells Gen1 from Gen2+ by the /shelly gen field', () => {
    expect(parseShellyGeneration(fx('shelly-plug-s-gen1-20230913-info.json'))).toBe(1);
    expect(parseShellyGeneration(fx('shelly-plus-plug-s-gen2-1.0.8-info.json'))).toBe(2);
  });

  it('reads Gen1 temperature and meters[0].power with the original units', () => {
    expect(parseShellyGen1Status(fx('shelly-plug-s-gen1-20230913.json'), T)).toEqual([
      { sensor: 'temperature', unit: '°C', value: 31.2, timestampNs: T, source: 'status' },
      { sensor: 'power', unit: 'W', value: 23.45, timestampNs: T, source: 'status' },
    ]);
  });

  it('reads Gen2 apower, aenergy.total and temperature.tC', () => {
    const r = parseShellyGen2SwitchStatus(fx('shelly-plus-plug-s-gen2-1.0.8.json'), T);
    expect(r.map((x) => [x.sensor, x.unit, x.value])).toEqual([
      ['temperature', '°C', 38.4],
      ['power', 'W', 118.6],
      ['energy', 'Wh', 5123.456],
    ]);
  });

  it('refuses a status without a numeric power', () => {
    expect(() => parseShellyGen1Status({ meters: [{ power: 'x' }] }, T)).toThrow(/meters\[0\]\.power is "x", not a number/);
    expect(() => parseShellyGen2SwitchStatus({ apower: null }, T)).toThrow(/apower is absent or null/);
  });
});
