import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import {
  ConfigError,
  DEFAULT_COLLECTOR_SETTINGS,
  collectorSettingsSchema,
  unknownConfigKeys,
  unknownDeviceKeys,
  caseVariantConfigKeys,
  parseConfig,
  webappSettingsSchema,
} from '@energyrecorder/core';

const fixture = (name: string): unknown => parseYaml(readFileSync(join(__dirname, '..', 'fixtures', name), 'utf8'));

describe('collectorSettingsSchema', () => {
  it('loads the original sample file unchanged', () => {
    const s = parseConfig(collectorSettingsSchema, fixture('original-collector-settings.yaml'));
    expect(s.PODS).toHaveLength(2);
    expect(s.PODS[0]?.servers.map((d) => [d.id, d.type, d.active])).toEqual([
      ['server-1', 'ipmi', true],
      ['server-2', 'redfish', true],
      ['pdu-1', 'snmp', false],
    ]);
    // adapter keys are kept for the adapter's own schema
    expect(s.PODS[0]?.servers[1]).toMatchObject({ host: '10.0.0.12', temperatures: false });
    expect(s.RECORDER_API_SERVER).toMatchObject({
      base_url: 'https://recordingapi.myserver.com',
      verify_cert: true,
      timeout: 2,
    });
    // empty user/pass mean no auth, as in the original
    expect(s.RECORDER_API_SERVER.user).toBeUndefined();
  });

  it('forces a polling interval ≤ 0 to 0.1 s and defaults a missing one to 10 s', () => {
    const s = parseConfig(collectorSettingsSchema, {
      PODS: [{ environment: 'a', polling_interval: 0 }, { environment: 'b' }],
      RECORDER_API_SERVER: { base_url: 'http://127.0.0.1:1' },
    });
    expect(s.PODS.map((p) => p.polling_interval)).toEqual([0.1, DEFAULT_COLLECTOR_SETTINGS.pollingIntervalS]);
    expect(s.COLLECTOR.spool_max_bytes).toBe(DEFAULT_COLLECTOR_SETTINGS.spoolMaxBytes);
  });

  it('reports every problem as path: message', () => {
    try {
      parseConfig(
        collectorSettingsSchema,
        { PODS: [{ polling_interval: 'fast', servers: [{ type: 'ipmi' }] }], RECORDER_API_SERVER: { base_url: 'ftp://x' } },
        'collector-settings.yaml',
      );
      throw new Error('expected a ConfigError');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const paths = (err as ConfigError).issues.map((i) => i.path).sort();
      expect(paths).toEqual(
        ['PODS.0.environment', 'PODS.0.polling_interval', 'PODS.0.servers.0.id', 'RECORDER_API_SERVER.base_url'].sort(),
      );
      expect((err as Error).message).toContain('invalid collector-settings.yaml');
      expect((err as Error).message).toContain('PODS.0.environment:');
    }
  });
});

describe('webappSettingsSchema', () => {
  it('loads the original sample file unchanged', () => {
    const s = parseConfig(webappSettingsSchema, fixture('original-webapp-settings.yaml'));
    expect(s.INFLUX).toMatchObject({ host: 'http://localhost:8086', db: 'NRG', user: '', pass: '' });
    expect(s.BIND).toBe('0.0.0.0:8888');
    expect(s.ALWAYS_RECORD).toBe(true);
    expect(s.MQTT).toMatchObject({ host: 'localhost', port: 1883, base_path: 'energy' });
    expect(s.AUTH).toBeUndefined();
  });

  it('uses the embedded store when INFLUX is absent or null', () => {
    expect(parseConfig(webappSettingsSchema, {}).INFLUX).toBeUndefined();
    expect(parseConfig(webappSettingsSchema, { INFLUX: null, MQTT: {} }).MQTT).toBeUndefined();
  });

  it('keeps a null Influx user as "no auth" and an empty one as "empty Basic auth", as the original', () => {
    const nullUser = parseConfig(webappSettingsSchema, { INFLUX: { host: 'http://h:8086', user: null } });
    expect(nullUser.INFLUX?.user).toBeUndefined();
  });

  it('refuses credentials written into INFLUX.host, which would be printed and logged, and points to user/pass', () => {
    expect(() => parseConfig(webappSettingsSchema, { INFLUX: { host: 'http://admin:s3cret@influx:8086' } })).toThrow(
      /INFLUX\.host: must not hold credentials.*INFLUX\.user/,
    );
    try {
      parseConfig(webappSettingsSchema, { INFLUX: { host: 'http://admin:s3cret@influx:8086' } });
    } catch (err) {
      expect(String((err as Error).message)).not.toContain('s3cret');
    }
    expect(() => parseConfig(webappSettingsSchema, { INFLUX: { host: 'not a url' } })).toThrow(/INFLUX\.host/);
  });

  it('lists top-level keys that differ from a known one only by case', () => {
    expect(caseVariantConfigKeys(webappSettingsSchema, { auth: {}, Tls: {}, ALWAYS_RECORD: true, other: 1 })).toEqual([
      ['auth', 'AUTH'],
      ['Tls', 'TLS'],
    ]);
    expect(caseVariantConfigKeys(webappSettingsSchema, fixture('original-webapp-settings.yaml'))).toEqual([]);
    expect(caseVariantConfigKeys(webappSettingsSchema, null)).toEqual([]);
  });

  it('lists the keys of a device entry that neither its loose adapter schema nor the common keys know', () => {
    const schema = z
      .looseObject({
        host: z.string(),
        sensors: z.array(z.object({ name: z.string(), scale: z.number().default(1) })).optional(),
        extra: z.looseObject({ anything: z.string().optional() }).optional(),
      })
      .transform((c) => ({ ...c, address: c.host }));
    const entry = { id: 'd1', type: 'x', active: true, host: 'h', hots: 'h', sensors: [{ name: 'p', scaling: 2 }], extra: { free: 1 } };
    expect(unknownDeviceKeys(schema, entry, ['id', 'type', 'active'], 'PODS[0].servers[1]')).toEqual([
      'PODS[0].servers[1].hots',
      'PODS[0].servers[1].sensors[0].scaling',
    ]);
    expect(unknownDeviceKeys(schema, entry, ['id', 'type'])).toEqual(['active', 'hots', 'sensors[0].scaling']);
    expect(unknownDeviceKeys(schema, 'not an object', [])).toEqual([]);
  });

  it('lists keys the schemas do not know, so callers can warn about typos, and none in the original files', () => {
    expect(unknownConfigKeys(webappSettingsSchema, fixture('original-webapp-settings.yaml'))).toEqual([]);
    expect(unknownConfigKeys(collectorSettingsSchema, fixture('original-collector-settings.yaml'))).toEqual([]);
    expect(
      unknownConfigKeys(webappSettingsSchema, {
        ALWAYS_RECORDS: false,
        STORE: { retension: 'INF' },
        INFLUX: { host: 'http://h:8086', verify_certs: false },
        AUTH: { users: [{ name: 'a', password: 'b', role: 'reader', rol: 'x' }] },
      }),
    ).toEqual(['ALWAYS_RECORDS', 'STORE.retension', 'INFLUX.verify_certs', 'AUTH.users[0].rol']);
    // Device entries take their adapter's keys: only the pod and API keys are checked.
    expect(
      unknownConfigKeys(collectorSettingsSchema, {
        RECORDER_API_SERVER: { base_url: 'http://x', timout: 3 },
        PODS: [{ environment: 'p', polling_intervall: 1, servers: [{ id: 'a', type: 'redfish', host: 'h', anything: 1 }] }],
      }),
    ).toEqual(['RECORDER_API_SERVER.timout', 'PODS[0].polling_intervall']);
  });

  it('refuses a polling interval or API timeout beyond what a Node timer can wait, naming the key', () => {
    const file = (interval: number, timeout: number) => ({
      RECORDER_API_SERVER: { base_url: 'http://127.0.0.1:8888', timeout },
      PODS: [{ environment: 'p', polling_interval: interval, servers: [] }],
    });
    expect(() => parseConfig(collectorSettingsSchema, file(3e6, 5))).toThrow(/PODS\.0\.polling_interval: must be at most 2147483 s/);
    expect(() => parseConfig(collectorSettingsSchema, file(10, 3e6))).toThrow(/RECORDER_API_SERVER\.timeout: must be at most/);
    expect(parseConfig(collectorSettingsSchema, file(2147483, 5)).PODS[0]?.polling_interval).toBe(2147483);
  });

  it('refuses a BIND port above 65535 when checking the file, not when listening', () => {
    expect(() => parseConfig(webappSettingsSchema, { BIND: '0.0.0.0:99999' })).toThrow(/BIND: port must be between 0 and 65535/);
    expect(parseConfig(webappSettingsSchema, { BIND: '0.0.0.0:65535' }).BIND).toBe('0.0.0.0:65535');
  });

  it('reads yes/no/on/off as booleans for boolean keys only, as the original\'s PyYAML did for those', () => {
    const s = parseConfig(webappSettingsSchema, { ALWAYS_RECORD: 'no', INFLUX: { host: 'http://127.0.0.1:8086', verify_cert: 'Off', pass: 'yes' } });
    expect(s.ALWAYS_RECORD).toBe(false);
    expect(s.INFLUX?.verify_cert).toBe(false);
    // A text key keeps the word.
    expect(s.INFLUX?.pass).toBe('yes');
    expect(parseConfig(webappSettingsSchema, { ALWAYS_RECORD: 'ON' }).ALWAYS_RECORD).toBe(true);
  });

  it('names the offending keys', () => {
    expect(() => parseConfig(webappSettingsSchema, { BIND: 'nope', ALWAYS_RECORD: 'maybe', MQTT: { port: 1 } })).toThrow(
      /BIND: .*\n.*ALWAYS_RECORD: .*\n.*MQTT.host/s,
    );
  });
});
