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

  it('leaves out sub-system entries named as such when their PhysicalContext does not say it (Lenovo XCC)', () => {
    // Names and values as a Lenovo HX3720 node reports them; the contexts here are not component ones.
    const body = {
      PowerControl: [
        { MemberId: '0', Name: 'Server Power Control', PhysicalContext: 'Intake', PowerConsumedWatts: 263 },
        { MemberId: '1', Name: 'CPU Sub-system Power', PowerConsumedWatts: 155 },
        { MemberId: '2', Name: 'Memory Sub-system Power', PhysicalContext: 'Intake', PowerConsumedWatts: 49 },
      ],
    };
    expect(parsePowerControl(body)).toEqual({ kind: 'ok', watts: 263 });
    // A storage enclosure's own entry is its whole power, not a part of something else.
    expect(parsePowerControl({ PowerControl: [{ Name: 'Storage Enclosure 1 HSC Power', PowerConsumedWatts: 80 }] })).toEqual({ kind: 'ok', watts: 80 });
  });

  it.each([
    ['the top-level PowerConsumedWatts of the pre-PowerControl HP schema', { PowerConsumedWatts: 187, PowerCapacityWatts: 1000 }, 187],
    ['Inspur Oem.Public.TotalPower beside an empty PowerControl', { PowerControl: [], Oem: { Public: { TotalPower: 321 } } }, 321],
    [
      'Fujitsu iRMC Oem.ts_fujitsu.ChassisPowerConsumption when PowerControl has no value',
      {
        PowerControl: [{ MemberId: '0', Name: 'System Power Control', PowerConsumedWatts: null }],
        Oem: { ts_fujitsu: { ChassisPowerConsumption: { CurrentPowerConsumptionW: 160, Designation: 'Total Power' } } },
      },
      160,
    ],
  ])('reads %s', (_label, body, watts) => {
    expect(parsePowerControl(body)).toEqual({ kind: 'ok', watts });
  });

  it('prefers PowerControl over power found elsewhere in Power, and refuses a wrong-typed value there', () => {
    expect(parsePowerControl({ PowerConsumedWatts: 99, PowerControl: [{ PowerConsumedWatts: 93 }] })).toEqual({ kind: 'ok', watts: 93 });
    expect(parsePowerControl({ PowerControl: [], Oem: { Public: { TotalPower: 'n/a' } } })).toMatchObject({
      kind: 'invalid',
      reason: expect.stringMatching(/Oem\.Public\.TotalPower is "n\/a"/),
    });
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

  it('converts a power sensor in kW or mW and refuses a reading in another unit', () => {
    const total = (units: unknown): unknown[] => [{ Id: 'TotalPower', ReadingType: 'Power', PhysicalContext: 'Chassis', ReadingUnits: units, Reading: 1.2 }];
    expect(pickPowerSensors(total('kW'))).toEqual({ kind: 'ok', watts: 1200 });
    expect(pickPowerSensors(total('W'))).toEqual({ kind: 'ok', watts: 1.2 });
    expect(pickPowerSensors(total('mW'))).toMatchObject({ kind: 'ok' });
    expect(pickPowerSensors(total('A'))).toMatchObject({ kind: 'invalid', reason: expect.stringMatching(/ReadingUnits is "A"/) });
  });

  it('takes PhysicalSubContext Input as a power-supply input sensor whatever its name', () => {
    const sensors = [
      { Id: 'PS1Power', ReadingType: 'Power', PhysicalContext: 'PowerSupply', PhysicalSubContext: 'Input', Reading: 100 },
      { Id: 'PS2Power', ReadingType: 'Power', PhysicalContext: 'PowerSupply', PhysicalSubContext: 'Input', Reading: 110 },
      { Id: 'PS1InputSidePower', ReadingType: 'Power', PhysicalContext: 'PowerSupply', PhysicalSubContext: 'Output', Reading: 90 },
      { Id: 'CPU1Power', ReadingType: 'Power', PhysicalContext: 'CPU', Reading: 50 },
    ];
    expect(pickPowerSensors(sensors)).toEqual({ kind: 'ok', watts: 210 });
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
