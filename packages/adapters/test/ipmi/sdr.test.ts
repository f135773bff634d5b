import {
  convertReading,
  parseFullSensorRecord,
  selectPowerSensors,
  unconvertibleReason,
  type FullSensorRecord,
} from '../../src/ipmi/sdr.js';

// "PS1 Input Power" as Debian's sdrcomp (OpenIPMI 2.0.33) compiles it with `sdrcomp -r`: Watts, M=2, B=5, Bexp=1.
const SDRCOMP_PS1 = Buffer.from(
  '010051013a2000020a01000003010000000000000006000002000501010100000000ff000000000000000000000000cf50533120496e70757420506f776572',
  'hex',
);

/** A hand-built full sensor record: 2's complement, M=-3, B=-100, Bexp=1, Rexp=-2, Volts. */
function syntheticNegativeRecord(): Buffer {
  const r = Buffer.alloc(48 + 9);
  r.writeUInt16LE(7, 0);
  r[2] = 0x51;
  r[3] = 0x01;
  r[4] = r.length - 5;
  r[5] = 0x20;
  r[7] = 7;
  r[12] = 0x02;
  r[13] = 0x01;
  r[20] = 0x80; // 2's complement
  r[21] = 4; // Volts
  const m = -3 & 0x3ff;
  r[24] = m & 0xff;
  r[25] = (m >> 8) << 6;
  const b = -100 & 0x3ff;
  r[26] = b & 0xff;
  r[27] = (b >> 8) << 6;
  r[29] = ((-2 & 0x0f) << 4) | (1 & 0x0f);
  r[47] = 0xc0 | 9;
  r.write('Neg Volts', 48, 'latin1');
  return r;
}

describe('parseFullSensorRecord', () => {
  it('decodes the factors, unit and name when given sdrcomp output', () => {
    expect(parseFullSensorRecord(SDRCOMP_PS1)).toEqual({
      recordId: 1,
      ownerId: 0x20,
      ownerLun: 0,
      channel: 0,
      sensorNumber: 2,
      sensorType: 0x03,
      readingType: 0x01,
      analogFormat: 'unsigned',
      baseUnit: 6,
      linearization: 0,
      m: 2,
      b: 5,
      bExp: 1,
      rExp: 0,
      name: 'PS1 Input Power',
    });
  });

  it('sign-extends 10-bit M and B and 4-bit exponents when they are negative', () => {
    expect(parseFullSensorRecord(syntheticNegativeRecord())).toMatchObject({
      analogFormat: 'twos-complement',
      m: -3,
      b: -100,
      rExp: -2,
      bExp: 1,
      name: 'Neg Volts',
    });
  });

  it('returns undefined when the record is not a full sensor record', () => {
    const compact = Buffer.from(SDRCOMP_PS1);
    compact[3] = 0x02;
    expect(parseFullSensorRecord(compact)).toBeUndefined();
    expect(parseFullSensorRecord(SDRCOMP_PS1.subarray(0, 20))).toBeUndefined();
  });
});

describe('convertReading', () => {
  const ps1 = parseFullSensorRecord(SDRCOMP_PS1) as FullSensorRecord;
  const neg = parseFullSensorRecord(syntheticNegativeRecord()) as FullSensorRecord;

  it('applies y = (M·x + B·10^Bexp)·10^Rexp when the sensor is linear', () => {
    expect(convertReading(ps1, 0)).toBe(50);
    expect(convertReading(ps1, 125)).toBe(300);
    expect(convertReading(ps1, 255)).toBe(560);
  });

  it('reads the raw byte as 2s complement and keeps decimals when Rexp is negative', () => {
    // x = 0xF6 = -10: (-3·-10 + -100·10)·10^-2 = -9.7
    expect(convertReading(neg, 0xf6)).toBe(-9.7);
    // x = 5: (-15 - 1000)/100 = -10.15
    expect(convertReading(neg, 5)).toBe(-10.15);
  });

  it('applies the §36.3 linearization function to the linear result when the sensor is not linear', () => {
    // raw 25: 2·25 + 50 = 100 before the function, as ipmitool computes it.
    const at = (linearization: number): number | undefined => convertReading({ ...ps1, linearization }, 25);
    expect(at(0)).toBe(100);
    expect(at(1)).toBeCloseTo(Math.log(100), 9);
    expect(at(2)).toBe(2);
    expect(at(3)).toBeCloseTo(Math.log2(100), 9);
    expect((at(4) ?? 0) / Math.exp(100)).toBeCloseTo(1, 11);
    expect(at(5)).toBe(1e100);
    expect((at(6) ?? 0) / 2 ** 100).toBeCloseTo(1, 11);
    expect(at(7)).toBe(0.01);
    expect(at(8)).toBe(10_000);
    expect(at(9)).toBe(1_000_000);
    expect(at(10)).toBe(10);
    expect(at(11)).toBeCloseTo(Math.cbrt(100), 9);
    // Rounding to 12 significant digits removes the functions' binary noise: log10(1000) is 2.9999999999999996.
    expect(convertReading({ ...ps1, linearization: 2, m: 10, b: 0 }, 100)).toBe(3);
    // In the raw unit of a sensor reporting watts through sqr(x): (1·x)²
    expect(convertReading({ ...ps1, linearization: 8, m: 1, b: 0, bExp: 0 }, 12)).toBe(144);
  });

  it('returns undefined when the function has no finite value there', () => {
    // raw 0 with B = 0: ln 0 and 1/0.
    expect(convertReading({ ...ps1, b: 0, linearization: 1 }, 0)).toBeUndefined();
    expect(convertReading({ ...ps1, b: 0, linearization: 7 }, 0)).toBeUndefined();
  });

  it('returns undefined with a reason when the linearization code is unknown or the sensor has no analog reading', () => {
    expect(convertReading({ ...ps1, linearization: 0x0c }, 10)).toBeUndefined();
    expect(convertReading({ ...ps1, linearization: 0x70 }, 10)).toBeUndefined();
    expect(convertReading({ ...ps1, analogFormat: 'none' }, 10)).toBeUndefined();
    expect(unconvertibleReason({ ...ps1, linearization: 0x0c })).toBe('unknown linearization code 0x0c');
    expect(unconvertibleReason({ ...ps1, linearization: 0x70 })).toMatch(/^non-linear sensor \(linearization 0x70\)/);
    expect(unconvertibleReason({ ...ps1, analogFormat: 'none' })).toMatch(/no analog reading/);
    for (let code = 0; code <= 11; code++) expect(unconvertibleReason({ ...ps1, linearization: code })).toBeUndefined();
  });
});

describe('selectPowerSensors', () => {
  const base = parseFullSensorRecord(SDRCOMP_PS1) as FullSensorRecord;
  const records: FullSensorRecord[] = [
    base,
    { ...base, sensorNumber: 3, name: 'PS2 Input Power' },
    { ...base, sensorNumber: 4, name: 'PS3 Input Current', baseUnit: 5 },
    { ...base, sensorNumber: 5, name: 'Pwr Consumption' },
    { ...base, sensorNumber: 6, name: 'Power1' },
  ];

  it('uses the original manufacturer table when no sensors are listed', () => {
    expect(selectPowerSensors(records, 343, undefined).map((r) => r.name)).toEqual(['PS1 Input Power', 'PS2 Input Power']);
    expect(selectPowerSensors(records, 674, undefined).map((r) => r.name)).toEqual(['Pwr Consumption']);
    expect(selectPowerSensors(records, 2011, undefined).map((r) => r.name)).toEqual(['Power1']);
  });

  it('returns nothing when the manufacturer is unknown', () => {
    expect(selectPowerSensors(records, 99999, undefined)).toEqual([]);
  });

  it('takes exactly the listed names when sensors are given', () => {
    expect(selectPowerSensors(records, 99999, ['Power1', 'PS3 Input Current']).map((r) => r.sensorNumber)).toEqual([4, 6]);
  });
});
