import {
  parseShellyEm1Status,
  parseShellyEmStatus,
  parseShellyGen1Status,
  parseShellyGen2SwitchStatus,
  parseShellyGeneration,
  parseShellyPm1Status,
  pickShellyComponent,
} from '../../src/shelly/parsers.js';
import { shellyJson } from './fake-shelly.js';
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

  it('reads meters[channel] and refuses a channel beyond the meters', () => {
    const status = shellyJson('shelly-25-gen1-20230913.json');
    expect(parseShellyGen1Status(status, T, { channel: 1 }).find((r) => r.sensor === 'power')?.value).toBe(250);
    expect(() => parseShellyGen1Status(status, T, { channel: 2 })).toThrow(/channel 2 does not exist/);
  });

  it('reads Gen1 emeters: one clamp of an EM, the three phases and their sum on a 3EM', () => {
    expect(parseShellyGen1Status(shellyJson('shelly-em-gen1-20230913.json'), T, { channel: 1 }).map((r) => [r.sensor, r.value])).toEqual([
      ['power', 1420.85],
      ['energy', 902311.7],
    ]);
    expect(parseShellyGen1Status(shellyJson('shelly-3em-gen1-20230913.json'), T).map((r) => r.sensor)).toEqual(['power', 'power_a', 'power_b', 'power_c', 'energy']);
  });

  it('never turns an is_valid: false meter into a 0 W reading', () => {
    const warn = jest.fn();
    expect(() => parseShellyGen1Status({ meters: [{ power: 0, is_valid: false }], temperature: 30 }, T, { warn })).toThrow(/meters\[0\] flagged invalid/);
    const status = { meters: [{ power: 0, is_valid: false }, { power: 5, is_valid: true }] };
    expect(parseShellyGen1Status(status, T, { channel: 1, warn }).map((r) => r.value)).toEqual([5]);
    expect(warn).not.toHaveBeenCalled();
  });

  it('reads the Gen2+ EM, EM1 and PM1 statuses', () => {
    expect(parseShellyEmStatus(shellyJson('shelly-pro-3em-1.4.4-em-status.json'), T).map((r) => [r.sensor, r.value])).toEqual([
      ['power', 1234.5],
      ['power_a', 400.1],
      ['power_b', 205.4],
      ['power_c', 629],
    ]);
    expect(parseShellyEm1Status({ id: 0, act_power: 501.8 }, T).map((r) => r.value)).toEqual([501.8]);
    expect(() => parseShellyEm1Status({ id: 0, act_power: 0, errors: ['out_of_range:active_power'] }, T)).toThrow(/flagged invalid/);
    expect(parseShellyPm1Status(shellyJson('shelly-pm-mini-g3-1.4.4-pm1-status.json'), T).map((r) => [r.sensor, r.value])).toEqual([
      ['power', 55.5],
      ['energy', 10234.127],
    ]);
  });

  it('picks the metering component numbered channel from Shelly.GetStatus', () => {
    const all = { 'switch:0': { id: 0, output: true }, 'em1:0': { id: 0, act_power: 1 }, 'em1:1': { id: 1, act_power: 2 }, sys: {} };
    expect(pickShellyComponent(all, 1)).toMatchObject({ kind: 'EM1', status: { act_power: 2 } });
    expect(pickShellyComponent({ 'switch:0': { apower: 3 } }, 0).kind).toBe('Switch');
    expect(() => pickShellyComponent(all, 2, 'ProEM')).toThrow(/channel 2 does not exist: this ProEM meters power with em1:0, em1:1/);
    expect(() => pickShellyComponent({ 'switch:0': { output: true }, 'input:0': {} }, 0)).toThrow(/no power-metering component.*switch:0, input:0/);
  });
});
