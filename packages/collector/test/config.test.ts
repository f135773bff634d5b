import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { builtinAdapters } from '@energyrecorder/adapters';
import { ConfigError, createAdapterRegistry } from '@energyrecorder/core';
import { parseCollectorConfigText } from '../src/internal/config.js';
import { originalTypeStubs } from './helpers/test-adapters.js';

const registry = createAdapterRegistry(originalTypeStubs);
const sample = readFileSync(join(__dirname, 'fixtures', 'synthetic-original-collector-settings.yaml'), 'utf8');

function issuesOfWith(text: string, reg: typeof registry): string[] {
  try {
    parseCollectorConfigText(text, reg);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => `${i.path}: ${i.message}`);
    throw err;
  }
  return [];
}

function issuesOf(text: string): string[] {
  try {
    parseCollectorConfigText(text, registry);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => `${i.path}: ${i.message}`);
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('parseCollectorConfigText', () => {
  it('loads what the original (PyYAML) loaded: yes/no/on/off booleans, numeric passwords and topology, a proxy without scheme', () => {
    const text = [
      'RECORDER_API_SERVER:',
      '  base_url: http://127.0.0.1:8080',
      '  user: admin',
      '  pass: 123456',
      '  verify_cert: off',
      '  proxy: proxy.example:3128',
      'PODS:',
      '  - environment: lab',
      '    polling_interval: 5',
      '    active: yes',
      '    topology:',
      '      rack: 12',
      '      country: NO',
      '    servers:',
      '      - id: 7',
      '        type: redfish',
      '        host: 127.0.0.1',
      '        active: no',
      '      - id: srv-2',
      '        type: redfish',
      '        host: 127.0.0.1',
      '        active: "no"',
    ].join('\n');
    // Only boolean keys read the YAML 1.1 words: quoted or not, "no" there is false.
    expect(issuesOfWith(text, createAdapterRegistry(builtinAdapters))).toEqual([]);
    expect(issuesOfWith(text.replace('active: "no"', 'active: nope'), createAdapterRegistry(builtinAdapters))).toEqual([
      'PODS.0.servers.1.active: Invalid input: expected boolean, received string',
    ]);
    const cfg = parseCollectorConfigText(text.replace('active: "no"', 'active: off'), createAdapterRegistry(builtinAdapters));
    expect(cfg.settings.RECORDER_API_SERVER).toMatchObject({ pass: '123456', verify_cert: false, proxy: 'http://proxy.example:3128' });
    // Other keys keep the words as text: Norway stays NO (the original's PyYAML would have made it False).
    expect(cfg.environments[0]?.topology).toEqual({ rack: '12', country: 'NO' });
    expect(cfg.environments[0]?.devices).toEqual([]);
  });

  it('refuses environment, equipment and topology names the API would refuse, which would lose every batch', () => {
    const text = sample
      .replace(/environment: ([^\n]+)/, 'environment: "ends\\\\"')
      .replace(/polling_interval:/, 'topology: {step: x, rack: ""}\n    polling_interval:');
    const issues = issuesOf(text);
    expect(issues).toEqual(
      expect.arrayContaining([
        'PODS.0.environment: must not end with a backslash',
        'PODS.0.topology.step: is a reserved tag name (a tag every reading already has)',
        'PODS.0.topology.rack: must not be empty',
      ]),
    );
  });

  it('refuses a top-level section written in another case, which would be ignored whole', () => {
    const text = sample.replace('RECORDER_API_SERVER:', 'recorder_api_server: {}\nRECORDER_API_SERVER:').replace('PODS:', 'Pods: []\nPODS:');
    expect(issuesOf(text).sort()).toEqual([
      'Pods: write it PODS: keys are case-sensitive, and this section would be ignored',
      'recorder_api_server: write it RECORDER_API_SERVER: keys are case-sensitive, and this section would be ignored',
    ]);
  });

  it('notes unknown keys inside device entries, nested sensor keys included, for every adapter type', () => {
    const text = [
      'RECORDER_API_SERVER:',
      '  base_url: http://127.0.0.1:8080',
      'PODS:',
      '  - environment: lab',
      '    polling_interval: 5',
      '    servers:',
      '      - id: plug-1',
      '        type: shelly',
      '        host: 127.0.0.1',
      '        chanel: 1',
      '      - id: meter-1',
      '        type: modbus',
      '        host: 127.0.0.1',
      '        regsiter_order: left',
      '        sensors:',
      '          - name: power',
      '            unit: W',
      '            register_address: 10',
      '            register_type: MBI',
      '      - id: pdu-1',
      '        type: snmp',
      '        host: 127.0.0.1',
      '        comunity: secret',
      '        sensors:',
      '          - name: power',
      '            oid: 1.3.6.1.4.1.1.1',
      '            unit: W',
      '            scaling: 10',
      '      - id: srv-1',
      '        type: redfish',
      '        host: 127.0.0.1',
      '        user: u',
      '        pass: p',
      '        active: true',
    ].join('\n');
    const cfg = parseCollectorConfigText(text, createAdapterRegistry(builtinAdapters));
    expect(cfg.notices.filter((n) => n.startsWith('unknown'))).toEqual([
      'unknown shelly key PODS[0].servers[0].chanel ignored (a typo?)',
      'unknown modbus key PODS[0].servers[1].regsiter_order ignored (a typo?)',
      'unknown snmp key PODS[0].servers[2].comunity ignored (a typo?)',
      'unknown snmp key PODS[0].servers[2].sensors[0].scaling ignored (a typo?)',
    ]);
  });

  it('notes unknown keys (typos) and still loads the file, as the original ignored them', () => {
    const text = sample.replace('RECORDER_API_SERVER:', 'RECORDER_API_SERVERS: {}\nRECORDER_API_SERVER:').replace(/polling_interval:/, 'polling_intervall: 3\n    polling_interval:');
    const cfg = parseCollectorConfigText(text, registry);
    expect(cfg.notices.filter((n) => n.startsWith('unknown setting'))).toEqual([
      'unknown setting PODS[0].polling_intervall ignored (a typo?)',
      'unknown setting RECORDER_API_SERVERS ignored (a typo?)',
    ]);
  });


  it('loads the original sample unchanged when every adapter type is registered', () => {
    const cfg = parseCollectorConfigText(sample, registry);
    expect(cfg.environments.map((e) => e.name)).toEqual(['MY_POD_NAME', 'OTHER_POD']);
    expect(cfg.environments[0]?.intervalMs).toBe(5000);
    // OTHER_POD has no polling_interval: the original's default of 10 s, with a warning.
    expect(cfg.environments[1]?.intervalMs).toBe(10_000);
    expect(cfg.notices.some((n) => n.includes('OTHER_POD') && n.includes('10 s'))).toBe(true);
    expect(cfg.notices.filter((n) => n.startsWith('unknown setting'))).toEqual([]);
    expect(cfg.environments[0]?.devices.map((d) => d.id)).not.toContain('ilo-server');
    expect(cfg.environments[1]?.devices.map((d) => d.type)).toEqual(['modbus', 'snmp', 'csvftp', 'rpimon', 'shelly']);
    expect(cfg.settings.RECORDER_API_SERVER).toMatchObject({
      base_url: 'https://recordingapi.myserver.com',
      user: 'user',
      pass: 'pass',
      verify_cert: true,
      timeout: 2,
      proxy: 'http://proxy.example.com:3128',
    });
  });

  it('reports every problem as path: message when several keys are wrong', () => {
    const text = `
PODS:
  - environment: A
    polling_interval: "fast"
    servers:
      - id: one
        type: nosuch
      - id: two
        type: redfish
      - id: one
        type: rpimon
        host: h
RECORDER_API_SERVER:
  verify_cert: "sometimes"
`;
    const issues = issuesOf(text);
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^PODS\.0\.polling_interval: /),
        expect.stringMatching(/^PODS\.0\.servers\.0\.type: unknown adapter type "nosuch"; valid types: .*redfish/),
        expect.stringMatching(/^PODS\.0\.servers\.1\.host: /),
        expect.stringMatching(/^PODS\.0\.servers\.2\.id: id "one" is listed twice/),
        expect.stringMatching(/^RECORDER_API_SERVER\.base_url: /),
        expect.stringMatching(/^RECORDER_API_SERVER\.verify_cert: /),
      ]),
    );
    expect(issues).toHaveLength(6);
  });

  it('forces a polling interval of 0.1 s when the configured one is zero or negative', () => {
    const cfg = parseCollectorConfigText(
      'PODS: [{environment: E, polling_interval: -3, servers: []}]\nRECORDER_API_SERVER: {base_url: "http://127.0.0.1:1"}\n',
      registry,
    );
    expect(cfg.environments[0]?.intervalMs).toBe(100);
  });

  it('reports a YAML syntax error as a config issue when the file does not parse', () => {
    expect(issuesOf('PODS: [\n  - oops: {')[0]).toMatch(/^: YAML syntax error/);
  });

  it('keeps numeric ids as strings when the YAML gives a number', () => {
    const cfg = parseCollectorConfigText(
      'PODS: [{environment: E, servers: [{id: 42, type: rpimon, host: h}]}]\nRECORDER_API_SERVER: {base_url: "http://x"}\n',
      registry,
    );
    expect(cfg.environments[0]?.devices[0]?.key).toBe('E/42');
  });
});

describe('parseCollectorConfigText with forms of the original files', () => {
  const real = createAdapterRegistry(builtinAdapters);
  const head = ['RECORDER_API_SERVER:', '  base_url: http://127.0.0.1:8080'];

  it('applies merge keys (<<: *anchor), as PyYAML did, so devices can share credentials', () => {
    const text = [
      ...head,
      'bmc_credentials: &bmc',
      '  type: redfish',
      '  user: admin',
      '  pass: secret',
      'PODS:',
      '  - environment: lab',
      '    polling_interval: 5',
      '    servers:',
      '      - <<: *bmc',
      '        id: srv-1',
      '        host: 127.0.0.1',
      '      - <<: *bmc',
      '        id: srv-2',
      '        host: 127.0.0.2',
      '        user: monitor',
    ].join('\n');
    const cfg = parseCollectorConfigText(text, real);
    const devices = cfg.environments[0]?.devices ?? [];
    expect(devices.map((d) => [d.id, d.type, (d.adapter.config as { user?: string }).user])).toEqual([
      ['srv-1', 'redfish', 'admin'],
      ['srv-2', 'redfish', 'monitor'],
    ]);
  });

  it('keeps the last of a repeated key, as PyYAML did, with a notice naming the key and its line', () => {
    const text = [...head, '  timeout: 5', '  timeout: 7', 'PODS: []'].join('\n');
    const cfg = parseCollectorConfigText(text, real);
    expect(cfg.settings.RECORDER_API_SERVER.timeout).toBe(7);
    expect(cfg.notices).toContain('duplicate key "timeout" at line 4 (first at line 3): the last value is used');
  });

  it('reads active: 0/1 as the original\'s Python truthiness did', () => {
    const text = [
      ...head,
      'PODS:',
      '  - environment: lab',
      '    polling_interval: 5',
      '    active: 1',
      '    servers:',
      '      - {id: a, type: rpimon, host: h, active: 0}',
      '      - {id: b, type: rpimon, host: h, active: 1}',
      '  - environment: off-lab',
      '    active: 0',
      '    servers: []',
    ].join('\n');
    const cfg = parseCollectorConfigText(text, real);
    expect(cfg.environments.map((e) => [e.name, e.devices.map((d) => d.id)])).toEqual([['lab', ['b']]]);
  });

  it('takes verify_cert: <CA bundle path> and an empty timeout, as requests took them', () => {
    const text = ['RECORDER_API_SERVER:', '  base_url: https://api.example', '  verify_cert: /etc/ssl/corp-ca.pem', '  timeout:', 'PODS: []'].join('\n');
    const api = parseCollectorConfigText(text, real).settings.RECORDER_API_SERVER;
    expect(api).toMatchObject({ verify_cert: true, ca_file: '/etc/ssl/corp-ca.pem', timeout: 30 });
  });

  it('polls two PODS entries of one environment each on its own interval and topology, as the original\'s pollers', () => {
    const text = [
      ...head,
      'PODS:',
      '  - environment: lab',
      '    polling_interval: 1',
      '    topology: {rack: fast}',
      '    servers: [{id: pdu-1, type: rpimon, host: h}]',
      '  - environment: other',
      '    polling_interval: 5',
      '    servers: [{id: pdu-1, type: rpimon, host: h}]',
      '  - environment: lab',
      '    polling_interval: 60',
      '    servers: [{id: srv-1, type: rpimon, host: h}]',
    ].join('\n');
    const cfg = parseCollectorConfigText(text, real);
    expect(cfg.environments.map((e) => [e.name, e.entry, e.intervalMs, e.topology, e.devices.map((d) => d.key)])).toEqual([
      ['lab', 1, 1000, { rack: 'fast' }, ['lab/pdu-1']],
      ['other', 1, 5000, undefined, ['other/pdu-1']],
      ['lab', 2, 60_000, undefined, ['lab/srv-1']],
    ]);
  });

  it('refuses a device id listed in two entries of one environment, naming both', () => {
    const text = [
      ...head,
      'PODS:',
      '  - environment: lab',
      '    servers: [{id: srv-1, type: rpimon, host: h}]',
      '  - environment: lab',
      '    servers: [{id: srv-1, type: rpimon, host: h}]',
    ].join('\n');
    expect(issuesOfWith(text, real)).toEqual([
      'PODS.1.servers.0.id: id "srv-1" is listed twice in "lab" (also in PODS.0: ids are unique per environment, over all its entries)',
    ]);
  });
});

describe('parseCollectorConfigText with the built-in adapters', () => {
  it('loads the original sample unchanged when validated by the real adapter schemas', () => {
    const real = createAdapterRegistry(builtinAdapters);
    const cfg = parseCollectorConfigText(sample, real);
    expect(cfg.environments.flatMap((e) => e.devices.map((d) => d.type)).sort()).toEqual(
      ['csvftp', 'ibmc-gui', 'idrac8-gui', 'intel-gui', 'ipmi', 'modbus', 'redfish', 'rpimon', 'shelly', 'snmp', 'ilo-gui'].sort(),
    );
    // Every key of the original's devices is one its adapter knows.
    expect(cfg.notices.filter((n) => n.startsWith('unknown'))).toEqual([]);
  });
});
