import {
  normaliseUri,
  parseChassis,
  parseEnvironmentMetrics,
  parsePowerControl,
  parseThermal,
  parseThermalMetrics,
  pickPowerSensors,
  sumPowerSupplyMetrics,
  topLevelChassis,
} from '../../src/redfish/parsers.js';

describe('redfish parsers', () => {
  it('derives the chassis id and Power link when the service omits Id and @odata.id', () => {
    const c = parseChassis({ Power: {} }, '/redfish/v1/Chassis/1/');
    expect(c).toMatchObject({ id: '1', uri: '/redfish/v1/Chassis/1', power: '/redfish/v1/Chassis/1/Power' });
  });

  it('normalises trailing slashes and fragments when comparing URIs', () => {
    expect(normaliseUri('/redfish/v1/Chassis/1/Power/#/PowerControl/0')).toBe('/redfish/v1/Chassis/1/Power');
  });

  it('reports null and wrong-typed EnvironmentMetrics readings differently', () => {
    expect(parseEnvironmentMetrics({ PowerWatts: { Reading: null } }).kind).toBe('missing');
    expect(parseEnvironmentMetrics({ PowerWatts: { Reading: true } })).toMatchObject({ kind: 'invalid' });
    expect(parseEnvironmentMetrics({ PowerWatts: { Reading: '245.5' } })).toEqual({ kind: 'ok', watts: 245.5 });
    expect(parseEnvironmentMetrics([])).toMatchObject({ kind: 'invalid' });
  });

  it('prefers the Chassis-context PowerControl entry when there is one', () => {
    const body = { PowerControl: [{ PhysicalContext: 'CPU', PowerConsumedWatts: 50 }, { PhysicalContext: 'Chassis', PowerConsumedWatts: 200 }] };
    expect(parsePowerControl(body)).toEqual({ kind: 'ok', watts: 200 });
  });

  it('sums non-component PowerControl entries when none is chassis-wide', () => {
    const body = { PowerControl: [{ PowerConsumedWatts: 100 }, { PowerConsumedWatts: 120 }, { PhysicalContext: 'Memory', PowerConsumedWatts: 9 }] };
    expect(parsePowerControl(body)).toEqual({ kind: 'ok', watts: 220 });
  });

  it('treats all-null PowerControl as missing and a non-number as invalid', () => {
    expect(parsePowerControl({ PowerControl: [{ PowerConsumedWatts: null }] }).kind).toBe('missing');
    expect(parsePowerControl({ PowerControl: [{ PowerConsumedWatts: 'abc' }] }).kind).toBe('invalid');
    expect(parsePowerControl({}).kind).toBe('missing');
  });

  it('refuses a partial power-supply sum when one supply reading is null', () => {
    expect(sumPowerSupplyMetrics([{ InputPowerWatts: { Reading: 100 } }, { InputPowerWatts: { Reading: null } }]).kind).toBe('missing');
    expect(sumPowerSupplyMetrics([{ InputPowerWatts: { Reading: 100 } }, { InputPowerWatts: { Reading: 50.5 } }])).toEqual({ kind: 'ok', watts: 150.5 });
  });

  it('picks power-supply input sensors when no sensor is chassis-wide', () => {
    const sensors = [
      { Id: 'PSU0InputPower', ReadingType: 'Power', PhysicalContext: 'PowerSupply', Reading: 60 },
      { Id: 'PSU1InputPower', ReadingType: 'Power', PhysicalContext: 'PowerSupply', Reading: 70 },
      { Id: 'PSU0OutputPower', ReadingType: 'Power', PhysicalContext: 'PowerSupply', Reading: 55 },
    ];
    expect(pickPowerSensors(sensors)).toEqual({ kind: 'ok', watts: 130 });
  });

  it('tells a power sensor reading null (a live meter without a value) from one without a Reading (no meter)', () => {
    const chassisSensor = (extra: Record<string, unknown>): unknown[] => [{ Id: 'Total', ReadingType: 'Power', PhysicalContext: 'Chassis', ...extra }];
    expect(pickPowerSensors(chassisSensor({ Reading: null }))).toMatchObject({ kind: 'missing', nullReading: true });
    const absent = pickPowerSensors(chassisSensor({}));
    expect(absent.kind).toBe('missing');
    expect((absent as { nullReading?: boolean }).nullReading).toBeUndefined();
  });

  it('keeps only enabled temperatures with a number', () => {
    const body = { Temperatures: [{ Name: 'a', ReadingCelsius: 20 }, { Name: 'b', ReadingCelsius: 30, Status: { State: 'Absent' } }, { Name: 'c', ReadingCelsius: null }] };
    expect(parseThermal(body)).toEqual([{ name: 'a', celsius: 20 }]);
    expect(parseThermalMetrics({ TemperatureReadingsCelsius: [{ DataSourceUri: '/x/Sensors/t1/', Reading: 5 }] })).toEqual([{ name: 't1', celsius: 5 }]);
  });

  it('finds top-level chassis from ContainedBy and Contains, and survives a containment cycle', () => {
    const a = parseChassis({ Id: 'a', Links: { Contains: [{ '@odata.id': '/c/b' }] } }, '/c/a');
    const b = parseChassis({ Id: 'b' }, '/c/b');
    const c = parseChassis({ Id: 'c', Links: { ContainedBy: { '@odata.id': '/c/a/' } } }, '/c/c');
    expect(topLevelChassis([a, b, c]).map((x) => x.id)).toEqual(['a']);
    const x = parseChassis({ Id: 'x', Links: { ContainedBy: { '@odata.id': '/c/y' } } }, '/c/x');
    const y = parseChassis({ Id: 'y', Links: { ContainedBy: { '@odata.id': '/c/x' } } }, '/c/y');
    expect(topLevelChassis([x, y]).map((z) => z.id)).toEqual(['x', 'y']);
  });
});
