import {
  decodeChannelAuthCapabilities,
  decodeDcmiPowerReading,
  decodeDeviceId,
  decodeSensorReading,
  encodeDcmiGetPowerReading,
  encodeGetSdr,
} from '../../src/ipmi/internal/commands.js';
import {
  classifyIpmitoolFailure,
  parseIpmitoolDcmi,
  parseIpmitoolManufacturerId,
  parseIpmitoolSensorList,
  parseIpmitoolSensorReadings,
} from '../../src/ipmi/internal/ipmitool-driver.js';

describe('IPMI command payloads', () => {
  it('sees IPMI v2.0 support when ipmi_sim answers Get Channel Auth Capabilities', () => {
    expect(decodeChannelAuthCapabilities(Buffer.from('019704030000000000', 'hex'))).toEqual({
      channel: 1,
      ipmi20: true,
      ipmi15: true,
      md5: true,
    });
  });

  it('decodes the manufacturer id and versions when given a Get Device ID answer', () => {
    expect(decodeDeviceId(Buffer.from('2001021002bf570100f20f', 'hex'))).toEqual({
      deviceId: 0x20,
      firmware: '2.10',
      ipmiVersion: '2.0',
      manufacturerId: 343,
      productId: 0x0ff2,
    });
  });

  it('decodes DCMI Get Power Reading and its active flag', () => {
    const data = Buffer.alloc(18);
    data[0] = 0xdc;
    data.writeUInt16LE(317, 1);
    data.writeUInt16LE(100, 3);
    data.writeUInt16LE(400, 5);
    data.writeUInt16LE(250, 7);
    data.writeUInt32LE(1_700_000_000, 9);
    data.writeUInt32LE(1000, 13);
    data[17] = 0x40;
    expect(decodeDcmiPowerReading(data)).toEqual({
      currentWatts: 317,
      minimumWatts: 100,
      maximumWatts: 400,
      averageWatts: 250,
      timestampS: 1_700_000_000,
      periodMs: 1000,
      active: true,
    });
    data[17] = 0x00;
    expect(decodeDcmiPowerReading(data).active).toBe(false);
    expect(() => decodeDcmiPowerReading(Buffer.from([0xdc, 1]))).toThrow(/malformed/);
  });

  it('encodes DCMI and Get SDR requests byte for byte', () => {
    expect(encodeDcmiGetPowerReading().toString('hex')).toBe('dc010000');
    expect(encodeGetSdr(0x1234, 0x0005, 5, 24).toString('hex')).toBe('341205000518');
  });

  it('flags an unavailable sensor reading', () => {
    expect(decodeSensorReading(Buffer.from([0x7d, 0xc0]))).toEqual({ raw: 0x7d, scanningEnabled: true, unavailable: false });
    expect(decodeSensorReading(Buffer.from([0x00, 0x20]))).toMatchObject({ unavailable: true, scanningEnabled: false });
  });
});

describe('ipmitool output parsers', () => {
  const dcmi = `
    Instantaneous power reading:                   317 Watts
    Minimum during sampling period:                317 Watts
    Maximum during sampling period:                317 Watts
    Average power reading over sample period:      317 Watts
    IPMI timestamp:                           Sun Nov 22 02:20:00 2026
    Sampling period:                          00000001 Seconds.
    Power reading state is:                   activated
`;

  it('reads the instantaneous DCMI watts when the state is activated', () => {
    expect(parseIpmitoolDcmi(dcmi)).toBe(317);
    expect(parseIpmitoolDcmi(dcmi.replace('activated', 'deactivated'))).toBeUndefined();
    expect(parseIpmitoolDcmi('DCMI request failed because: Invalid command (c1)')).toBeUndefined();
  });

  it('reads the manufacturer id of mc info', () => {
    expect(parseIpmitoolManufacturerId('Manufacturer ID           : 343\nManufacturer Name : Intel')).toBe(343);
    expect(parseIpmitoolManufacturerId('nothing')).toBeUndefined();
  });

  it('lists sensor names with their Watts flag, a sensor without a reading included', () => {
    // ipmitool 1.8.19 `sensor list` against the fake BMC (PS1 with and without a reading), plus a temperature
    // and a discrete sensor in the same layout.
    const row = (name: string, value: string, unit: string, status: string): string =>
      `${name.padEnd(16)} | ${value.padEnd(10)} | ${unit.padEnd(10)} | ${status.padEnd(5)} ${'| na        '.repeat(6)}`;
    const out = [
      row('PS1 Input Power', '250.000', 'Watts', 'ok'),
      row('PS2 Input Power', 'na', 'Watts', 'na'),
      row('Inlet Temp', '25.000', 'degrees C', 'ok'),
      row('PS1 Status', '0x0', 'discrete', '0x0180'),
      '',
    ].join('\n');
    expect(out.split('\n')[1]).toBe(
      'PS2 Input Power  | na         | Watts      | na    | na        | na        | na        | na        | na        | na        ',
    );
    expect(parseIpmitoolSensorList(out)).toEqual([
      { name: 'PS1 Input Power', watts: true },
      { name: 'PS2 Input Power', watts: true },
      { name: 'Inlet Temp', watts: false },
      { name: 'PS1 Status', watts: false },
    ]);
    // `sdr list full` lines (no unit column when there is no reading) are not taken for `sensor list` lines.
    expect(parseIpmitoolSensorList('PS1 Input Power  | no reading        | ns\n')).toEqual([]);
  });

  it('reads sensor reading values and leaves na out', () => {
    const out = 'PS1 Input Power  | 300\nPS2 Input Power  | na\nPS3 Input Power  | 12.5\n';
    expect([...parseIpmitoolSensorReadings(out)]).toEqual([
      ['PS1 Input Power', 300],
      ['PS3 Input Power', 12.5],
    ]);
  });
});

describe('classifyIpmitoolFailure', () => {
  it('names the RAKP failure ipmitool -v prints', () => {
    expect(classifyIpmitoolFailure('> RAKP 2 HMAC is invalid\nError: Unable to establish IPMI v2 / RMCP+ session')).toEqual({
      code: 'ER_IPMI_BAD_PASSWORD',
      retryable: false,
    });
    expect(classifyIpmitoolFailure('RAKP 2 message indicates an error : unauthorized name').code).toBe('ER_IPMI_UNKNOWN_USER');
    expect(classifyIpmitoolFailure('Get Auth Capabilities error\nError issuing Get Channel Authentication Capabilities request')).toEqual({
      code: 'ER_IPMI_TIMEOUT',
      retryable: true,
    });
    expect(classifyIpmitoolFailure('Sensor "X" not found!').code).toBe('ER_IPMI_IPMITOOL');
  });
});
