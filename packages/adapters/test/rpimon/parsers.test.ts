import { parseRpiMonitor, RPIMON_UNITS } from '../../src/rpimon/adapter.js';
import { httpFixture } from '../fakes/http-devices.js';

const T = 1_700_000_000_000_000_000;

describe('parseRpiMonitor', () => {
  it('keeps exactly the twelve known keys with their units when all are present', () => {
    const r = parseRpiMonitor(JSON.parse(httpFixture('rpi-monitor-2.13-raspbian.json')), T);
    expect(r).toHaveLength(12);
    expect(r.find((x) => x.sensor === 'soc_temp')).toMatchObject({ unit: 'deg. C', value: 48.686 });
    expect(r.find((x) => x.sensor === 'cpu_voltage')).toMatchObject({ unit: 'V', value: 0.8563 });
    for (const x of r) expect(x.unit).toBe(RPIMON_UNITS[x.sensor]);
  });

  it('skips non-numeric values and fails when nothing is left', () => {
    expect(parseRpiMonitor({ load1: 'high', uptime: 5 }, T).map((x) => x.sensor)).toEqual(['uptime']);
    expect(() => parseRpiMonitor({ load1: 'high' }, T)).toThrow(/has none of/);
    expect(() => parseRpiMonitor([], T)).toThrow(/not a JSON object/);
  });
});
