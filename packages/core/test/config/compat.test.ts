import * as YAML from 'yaml';
import {
  collectorSettingsSchema,
  configBoolean,
  DEFAULT_COLLECTOR_SETTINGS,
  parseConfig,
  parseSettingsYaml,
  recorderApiServerSchema,
  webappSettingsSchema,
} from '@energyrecorder/core';

// Forms the original's files used that PyYAML (YAML 1.1) and Python's own rules accepted.

describe('parseSettingsYaml', () => {
  it('applies merge keys, with written keys winning over merged ones and earlier merged mappings over later', () => {
    const text = [
      'bmc: &bmc {type: redfish, user: admin, pass: secret}',
      'tls: &tls {verify_cert: false, pass: other, timeout: 3}',
      'servers:',
      '  - <<: *bmc',
      '    id: srv-1',
      '  - user: monitor',
      '    <<: [*bmc, *tls]',
      '    id: srv-2',
    ].join('\n');
    const { value, warnings } = parseSettingsYaml(text, YAML);
    expect((value as { servers: unknown[] }).servers).toEqual([
      { type: 'redfish', user: 'admin', pass: 'secret', id: 'srv-1' },
      { type: 'redfish', user: 'monitor', pass: 'secret', verify_cert: false, timeout: 3, id: 'srv-2' },
    ]);
    expect(warnings).toEqual([]);
  });

  it('keeps the last value of a repeated key, as PyYAML did, and warns naming the key and its lines', () => {
    const text = ['RECORDER_API_SERVER:', '  timeout: 5', '  base_url: http://a', '  timeout: 7', 'PODS: []', 'PODS: [{environment: e}]'].join('\n');
    const { value, warnings } = parseSettingsYaml(text, YAML);
    expect(value).toEqual({ RECORDER_API_SERVER: { timeout: 7, base_url: 'http://a' }, PODS: [{ environment: 'e' }] });
    expect(warnings).toEqual([
      'duplicate key "timeout" at line 4 (first at line 2): the last value is used',
      'duplicate key "PODS" at line 6 (first at line 5): the last value is used',
    ]);
  });

  it('keeps YAML 1.2 scalars: NO stays text, 010 is ten, yes is text until a boolean key reads it', () => {
    const { value } = parseSettingsYaml('country: NO\nrack: 010\nactive: yes\n', YAML);
    expect(value).toEqual({ country: 'NO', rack: 10, active: 'yes' });
  });

  it('throws the parser\'s error on a syntax error and reads an empty file as null', () => {
    expect(() => parseSettingsYaml('a: [1, 2\n', YAML)).toThrow(/flow sequence|Missing|expected/i);
    expect(parseSettingsYaml('', YAML).value).toBeNull();
  });
});

describe('configBoolean', () => {
  it('reads the integers 1 and 0 as true and false, as the original\'s Python truthiness did, and refuses other numbers', () => {
    const b = configBoolean();
    expect(b.parse(1)).toBe(true);
    expect(b.parse(0)).toBe(false);
    expect(b.safeParse(2).success).toBe(false);
    expect(b.safeParse(0.5).success).toBe(false);
    expect(b.safeParse(-1).success).toBe(false);
  });

  it('reads active: 0/1 of environments and devices and ALWAYS_RECORD: 0', () => {
    const s = parseConfig(collectorSettingsSchema, {
      RECORDER_API_SERVER: { base_url: 'http://127.0.0.1:8080' },
      PODS: [{ environment: 'e', active: 1, servers: [{ id: 'a', type: 'redfish', active: 0 }] }],
    });
    expect(s.PODS[0]?.active).toBe(true);
    expect(s.PODS[0]?.servers[0]?.active).toBe(false);
    expect(parseConfig(webappSettingsSchema, { ALWAYS_RECORD: 0 }).ALWAYS_RECORD).toBe(false);
  });
});

describe('verify_cert with a CA bundle path', () => {
  it('reads RECORDER_API_SERVER.verify_cert: <path> as "verify with this CA file", as requests\' verify=<path>', () => {
    const s = recorderApiServerSchema.parse({ base_url: 'https://api', verify_cert: '/etc/ssl/corp-ca.pem' });
    expect(s).toMatchObject({ verify_cert: true, ca_file: '/etc/ssl/corp-ca.pem' });
    expect(recorderApiServerSchema.parse({ base_url: 'https://api', verify_cert: 'no' })).toMatchObject({ verify_cert: false });
    expect(recorderApiServerSchema.parse({ base_url: 'https://api', verify_cert: '/a.pem', ca_file: '/a.pem' }).ca_file).toBe('/a.pem');
  });

  it('refuses a verify_cert path next to a different ca_file, and other kinds of value, naming the key', () => {
    expect(() => parseConfig(recorderApiServerSchema, { base_url: 'https://api', verify_cert: '/a.pem', ca_file: '/b.pem' })).toThrow(
      /verify_cert: names a CA bundle \(\/a\.pem\) and ca_file names another \(\/b\.pem\): keep one of them/,
    );
    expect(() => parseConfig(recorderApiServerSchema, { base_url: 'https://api', verify_cert: 5 })).toThrow(
      /verify_cert: Invalid input: expected boolean or string, received number/,
    );
    // A bare word is a slip of a boolean, not a file: refused now rather than as an unreadable CA file at start.
    expect(() => parseConfig(recorderApiServerSchema, { base_url: 'https://api', verify_cert: 'ture' })).toThrow(
      /verify_cert: expected true\/false, or the path of a CA bundle \(PEM file\) to verify with/,
    );
    expect(() => parseConfig(recorderApiServerSchema, { base_url: 'https://api', verify_cert: ' ' })).toThrow(/verify_cert:/);
    expect(recorderApiServerSchema.parse({ base_url: 'https://api', verify_cert: 'ca.pem' }).ca_file).toBe('ca.pem');
  });

  it('takes the same path form for INFLUX.verify_cert and MQTT.verify_cert', () => {
    const s = parseConfig(webappSettingsSchema, {
      INFLUX: { host: 'https://influx:8086', verify_cert: '/ca/influx.pem' },
      MQTT: { host: 'broker', tls: true, verify_cert: '/ca/mqtt.pem' },
    });
    expect(s.INFLUX).toMatchObject({ verify_cert: true, ca_file: '/ca/influx.pem' });
    expect(s.MQTT).toMatchObject({ verify_cert: true, ca_file: '/ca/mqtt.pem' });
  });
});

describe('RECORDER_API_SERVER.timeout left empty', () => {
  it('reads timeout: (null) as the default', () => {
    const { value } = parseSettingsYaml('base_url: http://127.0.0.1:8080\ntimeout:\n', YAML);
    expect(recorderApiServerSchema.parse(value).timeout).toBe(DEFAULT_COLLECTOR_SETTINGS.apiTimeoutS);
    expect(() => parseConfig(recorderApiServerSchema, { base_url: 'http://a', timeout: 'x' })).toThrow(/timeout:/);
  });
});
