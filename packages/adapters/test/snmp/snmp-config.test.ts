import { createAdapterRegistry, ConfigError } from '@energyrecorder/core';
import { snmpAdapterDefinition } from '../../src/snmp/adapter.js';
import { resolveSnmpSensors, resolveV3User, snmpConfigSchema, snmpTransport } from '../../src/snmp/config.js';
import { bufferToUnsigned, decodeText, decodeVarbind, scaleValue, SnmpType, withoutBinaryNoise } from '../../src/snmp/decode.js';
import { expandPreset } from '../../src/snmp/presets.js';
import { lookupAuthProtocol, lookupPrivProtocol } from '../../src/snmp/protocols.js';

const sensor = { name: 'power', oid: '1.3.6.1.4.1.1.0', unit: 'W' };

describe('snmp protocol names', () => {
  it.each([
    ['HMAC-MD5-96', 'md5'],
    ['HMAC-SHA-96', 'sha'],
    ['SHA', 'sha'],
    ['sha1', 'sha'],
    ['SHA-1', 'sha'],
    ['HMAC-SHA-2-128', 'sha224'],
    ['HMAC-SHA-2-256', 'sha256'],
    ['HMAC-SHA-2-384', 'sha384'],
    ['HMAC-SHA-2-512', 'sha512'],
    ['NONE', 'none'],
  ])('maps auth %s to %s when looked up', (name, expected) => {
    expect(lookupAuthProtocol(name)).toEqual({ ok: true, protocol: expected });
  });

  it.each([
    ['NO-PRIVACY', 'none'],
    ['CBC-DES', 'des'],
    ['CFB128-AES-128', 'aes'],
    ['AES', 'aes'],
    ['CFB128-AES-256', 'aes256r'],
    ['CFB256-AES-BLU', 'aes256b'],
  ])('maps privacy %s to %s when looked up', (name, expected) => {
    expect(lookupPrivProtocol(name)).toEqual({ ok: true, protocol: expected });
  });

  it.each(['3DES-EDE', 'AES192', 'AES-192', 'aes-192'])('explains that net-snmp lacks the protocol when %s is asked', (name) => {
    const r = lookupPrivProtocol(name);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.message).toContain('not supported by net-snmp');
  });

  it('lists the valid names when the auth name is unknown', () => {
    const r = lookupAuthProtocol('HMAC-FOO');
    expect(!r.ok && r.message).toContain('HMAC-SHA-96');
  });
});

describe('snmp config', () => {
  it('treats the original "v2" as real v2c when parsed', () => {
    expect(snmpConfigSchema.parse({ host: 'pdu', version: 'v2', sensors: [sensor] }).version).toBe('v2c');
    expect(snmpConfigSchema.parse({ host: 'pdu', version: 'v1', sensors: [sensor] }).version).toBe('v1');
    expect(snmpConfigSchema.parse({ host: 'pdu', sensors: [sensor] }).version).toBe('v2c');
  });

  it('does not require v3 keys when the version is v2', () => {
    const cfg = snmpConfigSchema.parse({ host: 'pdu', port: '1161', version: 'v2', community: 'c', sensors: [sensor] });
    expect(cfg.port).toBe(1161);
    expect(cfg.username).toBeUndefined();
  });

  it('reports every missing v3 key by path when the version is v3', () => {
    const registry = createAdapterRegistry([snmpAdapterDefinition]);
    let error: unknown;
    try {
      registry.parse({ type: 'snmp', host: 'pdu', version: 'v3', sensors: [sensor] }, 'PODS.0.servers.0');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const paths = (error as ConfigError).issues.map((i) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining(['PODS.0.servers.0.username', 'PODS.0.servers.0.auth_secret', 'PODS.0.servers.0.privacy_secret']),
    );
  });

  it('refuses short v3 secrets and MIB names instead of OIDs when parsed', () => {
    const r = snmpConfigSchema.safeParse({
      host: 'pdu',
      version: 'v3',
      username: 'u',
      auth_secret: 'short',
      privacy_secret: 'long-enough',
      sensors: [{ name: 'x', oid: 'PowerNet-MIB::rPDU2DeviceStatusPower.1', unit: 'W' }],
    });
    expect(r.success).toBe(false);
    const paths = r.success ? [] : r.error.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['auth_secret', 'sensors.0.oid']));
  });

  it('resolves an authNoPriv user when privacy is NO-PRIVACY', () => {
    const cfg = snmpConfigSchema.parse({
      host: 'pdu',
      version: 'v3',
      username: 'u',
      auth_protocole: 'HMAC-SHA-2-256',
      auth_secret: 'long-enough',
      privacy_protocole: 'NO-PRIVACY',
      sensors: [sensor],
    });
    expect(resolveV3User(cfg)).toEqual({ name: 'u', authProtocol: 'sha256', authKey: 'long-enough', privProtocol: 'none', privKey: undefined });
  });

  it('refuses a hand-written sensor without a unit, naming its path, when the entry is checked', () => {
    const registry = createAdapterRegistry([snmpAdapterDefinition]);
    const issues = (sensors: unknown[], preset?: string): string[] => {
      try {
        registry.parse({ type: 'snmp', host: 'pdu', sensors, ...(preset === undefined ? {} : { preset }) }, 'PODS.0.servers.1');
      } catch (err) {
        if (err instanceof ConfigError) return err.issues.map((i) => `${i.path}: ${i.message}`);
        throw err;
      }
      return [];
    };
    const { unit: _unit, ...noUnit } = sensor;
    // Every reading of such a sensor would carry an empty unit, which the API refuses: nothing would ever be stored.
    expect(issues([sensor, sensor, { ...noUnit, name: 'volts' }])).toEqual([
      'PODS.0.servers.1.sensors.2.unit: required: the unit of the readings, e.g. "W"',
    ]);
    expect(issues([{ ...sensor, unit: '' }, { ...sensor, unit: null }], 'apc-rpdu')).toEqual([
      'PODS.0.servers.1.sensors.0.unit: required: the unit of the readings, e.g. "W"',
      'PODS.0.servers.1.sensors.1.unit: required: the unit of the readings, e.g. "W"',
    ]);
    expect(issues([{ ...sensor, unit: 'W\\' }])).toEqual(['PODS.0.servers.1.sensors.0.unit: must not end with a backslash']);
    expect(issues([sensor], 'apc-rpdu')).toEqual([]);
  });

  it('requires sensors or a preset when neither is given', () => {
    expect(snmpConfigSchema.safeParse({ host: 'pdu' }).success).toBe(false);
    expect(snmpConfigSchema.safeParse({ host: 'pdu', preset: 'apc-rpdu' }).success).toBe(true);
  });

  it('refuses outlets when the preset has no per-outlet values', () => {
    expect(snmpConfigSchema.safeParse({ host: 'pdu', preset: 'servertech-sentry3', outlets: [1] }).success).toBe(false);
  });

  it('takes IPv6 addresses, bare or in brackets, and sends them over udp6', () => {
    for (const [given, host] of [
      ['::1', '::1'],
      ['[::1]', '::1'],
      [' fe80::1%eth0 ', 'fe80::1%eth0'],
      ['2001:db8::20', '2001:db8::20'],
    ] as const) {
      const cfg = snmpConfigSchema.parse({ host: given, sensors: [sensor] });
      expect([cfg.host, snmpTransport(cfg.host)]).toEqual([host, 'udp6']);
    }
    for (const given of ['127.0.0.1', 'pdu-a12.example', 'PDU_7']) {
      const cfg = snmpConfigSchema.parse({ host: given, sensors: [sensor] });
      expect([cfg.host, snmpTransport(cfg.host)]).toEqual([given, 'udp4']);
    }
  });

  it('refuses host:port and URLs under host, pointing at the port key', () => {
    const issues = (host: string): string[] => {
      const r = snmpConfigSchema.safeParse({ host, sensors: [sensor] });
      return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    expect(issues('127.0.0.1:1161')).toEqual([expect.stringMatching(/^host: .*`port` \(port: 1161\).*\("127\.0\.0\.1"\)/)]);
    expect(issues('[::1]:1161')).toEqual([expect.stringMatching(/^host: .*`port` \(port: 1161\).*\("::1"\)/)]);
    expect(issues('pdu.example:161')).toEqual([expect.stringMatching(/^host: .*`port`/)]);
    for (const bad of ['udp:10.0.0.5', 'snmp://10.0.0.5', '[10.0.0.5]', '10.0.0.5/24', 'pdu a12', 'user@pdu', ':::1']) {
      expect(issues(bad)).toEqual([expect.stringMatching(/^host: .* is not an agent address/)]);
    }
  });

  it('puts preset sensors before hand-written ones when both are given', () => {
    const cfg = snmpConfigSchema.parse({ host: 'pdu', preset: 'apc-rpdu', outlets: [3], sensors: [sensor] });
    expect(resolveSnmpSensors(cfg).map((s) => s.name)).toEqual(['power', 'energy', 'outlet3/power', 'outlet3/energy', 'power']);
  });
});

describe('snmp value decoding', () => {
  it('maps on/true/off/false to boolean 1/0 when given as text', () => {
    expect(decodeText('on')).toEqual({ ok: true, value: 1, boolean: true });
    expect(decodeText('TRUE')).toEqual({ ok: true, value: 1, boolean: true });
    expect(decodeText('off')).toEqual({ ok: true, value: 0, boolean: true });
    expect(decodeText('"false"')).toEqual({ ok: true, value: 0, boolean: true });
  });

  it('skips Unavailable and non-numeric text with a reason', () => {
    expect(decodeText('Unavailable')).toEqual({ ok: false, reason: 'device reports Unavailable' });
    expect(decodeText('12 W')).toMatchObject({ ok: false });
  });

  it('decodes numbers, Counter64 buffers and octet strings', () => {
    expect(decodeVarbind(SnmpType.Gauge, 42)).toEqual({ ok: true, value: 42, boolean: false });
    expect(decodeVarbind(SnmpType.Counter64, Buffer.from([0x01, 0x00, 0x00, 0x00, 0x00]))).toEqual({
      ok: true,
      value: 4294967296,
      boolean: false,
    });
    expect(decodeVarbind(SnmpType.OctetString, Buffer.from(' -3.5 '))).toEqual({ ok: true, value: -3.5, boolean: false });
    expect(decodeVarbind(SnmpType.NoSuchInstance, null)).toMatchObject({ ok: false });
    expect(bufferToUnsigned(Buffer.from([0xff, 0xff]))).toBe(65535);
  });

  it('decodes Net-SNMP Opaque floats and doubles from their BER bytes', () => {
    const opaqueFloat = (v: number): Buffer => {
      const b = Buffer.from([0x9f, 0x78, 0x04, 0, 0, 0, 0]);
      b.writeFloatBE(v, 3);
      return b;
    };
    const opaqueDouble = (v: number): Buffer => {
      const b = Buffer.alloc(11);
      b.set([0x9f, 0x79, 0x08]);
      b.writeDoubleBE(v, 3);
      return b;
    };
    // Bytes as snmpd sends `Opaque: Float: 230.500000` (inside the Opaque TLV 44 07).
    expect(decodeVarbind(SnmpType.Opaque, Buffer.from('9f780443668000', 'hex'))).toEqual({ ok: true, value: 230.5, boolean: false });
    // A float32 230.1 is 230.10000610351562 as a double: reported as the decimal the agent meant.
    expect(decodeVarbind(SnmpType.Opaque, opaqueFloat(230.1))).toEqual({ ok: true, value: 230.1, boolean: false });
    expect(decodeVarbind(SnmpType.Opaque, opaqueFloat(-0.015625))).toEqual({ ok: true, value: -0.015625, boolean: false });
    expect(decodeVarbind(SnmpType.Opaque, opaqueDouble(1234.5678901234))).toEqual({ ok: true, value: 1234.5678901234, boolean: false });
    expect(decodeVarbind(SnmpType.Opaque, opaqueFloat(Number.NaN))).toMatchObject({ ok: false, reason: expect.stringContaining('non-finite') });
    // Other Opaque contents (here a Net-SNMP Opaque Counter64, 9f 76) stay skipped, as before.
    expect(decodeVarbind(SnmpType.Opaque, Buffer.from('9f760101', 'hex'))).toMatchObject({ ok: false, reason: expect.stringContaining('non-numeric') });
    // A float tag with a wrong length is not read as a float.
    expect(decodeVarbind(SnmpType.Opaque, Buffer.from('9f7803436680', 'hex'))).toMatchObject({ ok: false });
  });

  it('keeps every digit of a value when scale is 1 and offset 0', () => {
    // Counter64 0x0000702b3f0dcaf9 = 123331043773177; 12-digit rounding turned it into 123331043773000.
    const decoded = decodeVarbind(SnmpType.Counter64, Buffer.from('0000702b3f0dcaf9', 'hex'));
    expect(decoded).toEqual({ ok: true, value: 123331043773177, boolean: false });
    expect(scaleValue({ value: 123331043773177, boolean: false }, 1, 0)).toBe(123331043773177);
    expect(scaleValue({ value: 123456789012345, boolean: false }, 1, 0)).toBe(123456789012345);
    expect(scaleValue({ value: 0.1 + 0.2, boolean: false }, 1, 0)).toBe(0.1 + 0.2);
    expect(scaleValue({ value: 2 ** 53 + 2, boolean: false }, 1, 0)).toBe(2 ** 53 + 2);
  });

  it('keeps exact integers and real digits when scaling, and drops only binary noise', () => {
    expect(scaleValue({ value: 123331043773177, boolean: false }, 10, 0)).toBe(1233310437731770);
    expect(scaleValue({ value: 123331043773177, boolean: false }, 1, 5)).toBe(123331043773182);
    expect(scaleValue({ value: 1233310437731775, boolean: false }, 0.1, 0)).toBe(123331043773177.5);
    expect(scaleValue({ value: 1234567890123, boolean: false }, 0.1, 0)).toBe(123456789012.3);
    expect(withoutBinaryNoise(0.1 + 0.2)).toBe(0.3);
    expect(withoutBinaryNoise(994.0000000001)).toBe(994.0000000001);
  });

  it('applies scale, decimal digits and offset but leaves booleans alone', () => {
    expect(scaleValue({ value: 613, boolean: false }, 10, 0)).toBe(6130);
    expect(scaleValue({ value: 3, boolean: false }, 0.1, 0)).toBe(0.3);
    expect(scaleValue({ value: 12345, boolean: false }, 1, 0, 2)).toBe(123.45);
    expect(scaleValue({ value: 20, boolean: false }, 1, -1.5)).toBe(18.5);
    expect(scaleValue({ value: 1, boolean: true }, 10, 5)).toBe(1);
  });
});

describe('snmp presets', () => {
  it('uses hundredths of kW for APC device power when expanded', () => {
    const [power, energy] = expandPreset('apc-rpdu', { pdu: 2 });
    expect(power).toMatchObject({ oid: '1.3.6.1.4.1.318.1.1.26.4.3.1.5.2', unit: 'W', scale: 10 });
    expect(energy).toMatchObject({ oid: '1.3.6.1.4.1.318.1.1.26.4.3.1.9.2', unit: 'kWh', scale: 0.1 });
  });

  it('pairs every Raritan value with its decimal-digits OID when expanded', () => {
    const s = expandPreset('raritan-px', { outlets: [4] });
    expect(s.map((x) => [x.name, x.oid, x.digitsOid])).toEqual([
      ['power', '1.3.6.1.4.1.13742.6.5.2.3.1.4.1.1.5', '1.3.6.1.4.1.13742.6.3.3.4.1.7.1.1.5'],
      ['energy', '1.3.6.1.4.1.13742.6.5.2.3.1.4.1.1.8', '1.3.6.1.4.1.13742.6.3.3.4.1.7.1.1.8'],
      ['outlet4/power', '1.3.6.1.4.1.13742.6.5.4.3.1.4.1.4.5', '1.3.6.1.4.1.13742.6.3.5.4.1.7.1.4.5'],
      ['outlet4/energy', '1.3.6.1.4.1.13742.6.5.4.3.1.4.1.4.8', '1.3.6.1.4.1.13742.6.3.5.4.1.7.1.4.8'],
    ]);
  });

  it('indexes Sentry4 outlets by unit, cord and outlet when expanded', () => {
    const s = expandPreset('servertech-sentry4', { pdu: 1, inlet: 2, outlets: [7] });
    expect(s.find((x) => x.name === 'outlet7/power')?.oid).toBe('1.3.6.1.4.1.1718.4.1.8.3.1.7.1.2.7');
    expect(s.find((x) => x.name === 'energy')).toMatchObject({ oid: '1.3.6.1.4.1.1718.4.1.3.3.1.10.1.2', scale: 0.1 });
  });

  it('starts Eaton strapping indexes at 0 when no pdu is given', () => {
    const s = expandPreset('eaton-epdu', { outlets: [1] });
    expect(s.map((x) => x.oid)).toEqual([
      '1.3.6.1.4.1.534.6.6.7.3.5.1.4.0.1',
      '1.3.6.1.4.1.534.6.6.7.3.5.1.5.0.1',
      '1.3.6.1.4.1.534.6.6.7.6.5.1.3.0.1',
      '1.3.6.1.4.1.534.6.6.7.6.5.1.4.0.1',
    ]);
  });

  it('reads the Eaton input total, with the inputPowerTable rows as alternatives, unless power_index is given', () => {
    const [power, energy] = expandPreset('eaton-epdu', { pdu: 1, inlet: 2 });
    expect(power).toMatchObject({
      oid: '1.3.6.1.4.1.534.6.6.7.3.5.1.4.1.2',
      alternatives: ['1.3.6.1.4.1.534.6.6.7.3.4.1.4.1.2.4', '1.3.6.1.4.1.534.6.6.7.3.4.1.4.1.2.1'],
      skipNegative: true,
    });
    expect(energy).toMatchObject({
      oid: '1.3.6.1.4.1.534.6.6.7.3.5.1.5.1.2',
      alternatives: ['1.3.6.1.4.1.534.6.6.7.3.4.1.5.1.2.4', '1.3.6.1.4.1.534.6.6.7.3.4.1.5.1.2.1'],
    });
    const [row] = expandPreset('eaton-epdu', { powerIndex: 4 });
    expect(row).toMatchObject({ oid: '1.3.6.1.4.1.534.6.6.7.3.4.1.4.0.1.4' });
    expect(row?.alternatives).toBeUndefined();
  });

  it('marks the readings whose MIB answers -1 for "not available" when expanded', () => {
    const flagged = (preset: Parameters<typeof expandPreset>[0]): Array<[string, boolean]> =>
      expandPreset(preset, { outlets: preset === 'servertech-sentry3' ? [] : [1] }).map((x) => [x.name, x.skipNegative === true]);
    expect(flagged('servertech-sentry3')).toEqual([
      ['power', true],
      ['energy', true],
    ]);
    expect(flagged('servertech-sentry4').every(([, f]) => f)).toBe(true);
    expect(flagged('eaton-epdu').every(([, f]) => f)).toBe(true);
    expect(flagged('apc-rpdu').some(([, f]) => f)).toBe(false);
  });

  it('refuses sum without walk, naming the key', () => {
    const r = snmpConfigSchema.safeParse({ host: 'pdu', sensors: [{ ...sensor, sum: true }] });
    expect(r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([
      'sensors.0.sum: needs walk: true (it adds the rows of a walk)',
    ]);
    const ok = snmpConfigSchema.parse({ host: 'pdu', sensors: [{ ...sensor, walk: true, sum: true }] });
    expect(resolveSnmpSensors(ok)[0]).toMatchObject({ walk: true, sum: true });
  });

  it('turns skip_negative on for a hand-written sensor when configured', () => {
    const cfg = snmpConfigSchema.parse({ host: 'pdu', sensors: [{ ...sensor, skip_negative: 'yes' }, sensor] });
    expect(resolveSnmpSensors(cfg).map((s) => s.skipNegative)).toEqual([true, undefined]);
  });
});
