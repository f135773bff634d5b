import { parse } from 'yaml';
import { ConfigError } from '@energyrecorder/core';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { checkSettingsFiles, createMeters, parseBind, parseSettings, readSettingsFile, unknownSettingsKeys } from '../src/settings.js';
import { YokotoolMeter } from '../src/yokotool-meter.js';
import { noopLogger } from '@energyrecorder/core';

const ORIGINAL = `
BIND: "0.0.0.0:8889"
YOKOTOOL_PATH: "/usr/local/yoko-tool"
POWERMETERS:
  - dev: /dev/usbtmc1
    pmtype: wt310
  - dev: /dev/usbtmc2
    pmtype: wt210
`;

describe('parseSettings', () => {
  it('accepts the original yoko2redfish file unchanged and builds yokotool meters', () => {
    const s = parseSettings(parse(ORIGINAL));
    expect(s.POWERMETERS).toEqual([
      { driver: 'yokotool', dev: '/dev/usbtmc1', pmtype: 'wt310' },
      { driver: 'yokotool', dev: '/dev/usbtmc2', pmtype: 'wt210' },
    ]);
    expect(s.SUM_CHASSIS).toBe(false);
    const meters = createMeters(s, { logger: noopLogger });
    expect(meters[0]?.meter).toBeInstanceOf(YokotoolMeter);
    expect(meters[1]?.meter.target).toBe('/dev/usbtmc2');
  });

  it('accepts every new driver with its keys when the file uses them', () => {
    const s = parseSettings({
      POWERMETERS: [
        { driver: 'yokogawa', id: 'wt', serial: 'C2QD12345', product_id: '0x0025' },
        { driver: 'yoctopuce', id: 'yw', serial: 'YWATTMK1-1', hub_url: 'http://127.0.0.1:4444' },
        { driver: 'simulated', id: 'sim', profile: 'steps:100@10s,300@10s' },
      ],
      SUM_CHASSIS: true,
      AUTH: { users: [{ name: 'admin', password: 'long-enough' }] },
    });
    expect(s.POWERMETERS[0]).toMatchObject({ driver: 'yokogawa', product_id: 0x25 });
    expect(s.AUTH?.session_timeout_s).toBe(1800);
    expect(createMeters(s, { logger: noopLogger }).map((m) => m.meter.driver)).toEqual(['yokogawa', 'yoctopuce', 'simulated']);
  });

  it('hands each meter its own deadline, defaulted per driver, when building the meters', () => {
    const s = parseSettings({
      POWERMETERS: [
        { dev: '/dev/usbtmc1', pmtype: 'wt310' },
        { dev: '/dev/usbtmc2', pmtype: 'wt310', timeout_ms: 20_000 },
        { driver: 'yokogawa' },
        { driver: 'yoctopuce', serial: 'YWATTMK1-1', hub_url: 'http://127.0.0.1:4444' },
        { driver: 'simulated', profile: 'constant:1' },
      ],
    });
    expect(createMeters(s, { logger: noopLogger }).map((m) => m.timeoutMs)).toEqual([10_000, 20_000, 2000, 5000, undefined]);
  });

  it('lists every problem as path: message when the file is wrong', () => {
    let err: unknown;
    try {
      parseSettings({
        BIND: 'nope',
        POWERMETERS: [
          { dev: '/dev/usbtmc1', pmtype: 'xx' },
          { driver: 'simulated', profile: 'bogus:1' },
          { driver: 'yoctopuce', hub_url: 'http://127.0.0.1:4444' },
          { driver: 'unknown' },
        ],
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const paths = (err as ConfigError).issues.map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['BIND', 'POWERMETERS.0.pmtype', 'POWERMETERS.1.profile', 'POWERMETERS.3.driver']));
    expect((err as ConfigError).message).toMatch(/POWERMETERS\.1\.profile: .*unknown kind "bogus"/);
  });

  it('refuses a session timeout outside the 30..86400 s the DMTF SessionService schema allows', () => {
    const withTimeout = (s: number): unknown => ({
      POWERMETERS: [{ driver: 'simulated', profile: 'constant:1' }],
      AUTH: { users: [{ name: 'admin', password: 'change-me-please' }], session_timeout_s: s },
    });
    for (const bad of [10, 29, 86_401]) {
      let err: unknown;
      try {
        parseSettings(withTimeout(bad));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).issues.map((i) => i.path)).toEqual(['AUTH.session_timeout_s']);
    }
    expect(parseSettings(withTimeout(30)).AUTH?.session_timeout_s).toBe(30);
    expect(parseSettings(withTimeout(86_400)).AUTH?.session_timeout_s).toBe(86_400);
  });

  it('requires a serial when a Yoctopuce meter goes through a hub', () => {
    expect(() => parseSettings({ POWERMETERS: [{ driver: 'yoctopuce', hub_url: 'http://127.0.0.1:4444' }] })).toThrow(
      /POWERMETERS\.0\.serial: required with hub_url/,
    );
  });

  it('rejects duplicate meter ids', () => {
    expect(() =>
      parseSettings({ POWERMETERS: [{ driver: 'simulated', id: 'a', profile: 'constant:1' }, { driver: 'simulated', id: 'a', profile: 'constant:2' }] }),
    ).toThrow(/POWERMETERS\.1\.id: duplicate id "a"/);
  });
});

describe('readSettingsFile', () => {
  it('takes merge keys and repeated keys as the original (PyYAML) did, warning about the repetition', () => {
    const dir = mkdtempSync(join(tmpdir(), 'yr-yaml-'));
    try {
      const f = join(dir, 'settings.yaml');
      writeFileSync(f, 'meter: &m\n  driver: simulated\n  profile: "constant:100"\nPOWERMETERS:\n  - <<: *m\n    id: a\nBIND: "127.0.0.1:1"\nBIND: "127.0.0.1:8889"\n');
      const loaded = readSettingsFile(f);
      expect(loaded.settings.POWERMETERS).toEqual([expect.objectContaining({ driver: 'simulated', id: 'a' })]);
      expect(loaded.settings.BIND).toBe('127.0.0.1:8889');
      expect(loaded.warnings).toEqual(['duplicate key "BIND" at line 8 (first at line 7): the last value is used']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('files named by the settings', () => {
  // Paths under a directory that does not exist: nothing is created or read.
  const missing = join(tmpdir(), `yrf-settings-${process.pid}-absent`);
  const cert = join(missing, 'cert.pem');
  const key = join(missing, 'key.pem');
  const csv = join(missing, 'replay.csv');
  const noFile = (path: string): string => {
    throw new Error(`ENOENT: no such file ${path}`);
  };
  const issuesOf = (run: () => unknown): string[] => {
    try {
      run();
    } catch (err) {
      if (err instanceof ConfigError) return err.issues.map((i) => `${i.path}: ${i.message}`);
      throw err;
    }
    return [];
  };

  it('lists unreadable TLS and csv files with the schema problems when the rest of the file is invalid too', () => {
    const input = {
      BIND: 'x',
      POWERMETERS: [{ driver: 'simulated', profile: `csv:${csv}` }, { dev: '/dev/usbtmc1' }],
      TLS: { cert_file: cert, key_file: key },
    };
    expect(issuesOf(() => parseSettings(input, 'bad.yaml', { checkFiles: true, readFile: noFile }))).toEqual([
      'BIND: expected "host:port"',
      expect.stringMatching(/^POWERMETERS\.1\.pmtype: /),
      `TLS.cert_file: cannot read ${cert}: ENOENT`,
      `TLS.key_file: cannot read ${key}: ENOENT`,
      `POWERMETERS.0.profile: ENOENT: no such file ${csv}`,
    ]);
    // Parsing alone does no I/O.
    expect(issuesOf(() => parseSettings(input, 'bad.yaml')).some((i) => i.includes('cannot read') || i.includes('ENOENT'))).toBe(false);
  });

  it('reports the files of valid settings alone, and leaves keys the schema refuses to the schema', () => {
    const valid = { POWERMETERS: [{ driver: 'simulated', profile: `csv:${csv}` }], TLS: { cert_file: cert, key_file: key } };
    const expected = [`TLS.cert_file: cannot read ${cert}: ENOENT`, `TLS.key_file: cannot read ${key}: ENOENT`, `POWERMETERS.0.profile: ENOENT: no such file ${csv}`];
    expect(issuesOf(() => parseSettings(valid, undefined, { checkFiles: true, readFile: noFile }))).toEqual(expected);
    expect(issuesOf(() => checkSettingsFiles(parseSettings(valid), undefined, noFile))).toEqual(expected);
    const refused = { POWERMETERS: [{ driver: 'simulated', profile: 'csv:' }], TLS: { cert_file: '', key_file: 42 } };
    expect(issuesOf(() => parseSettings(refused, undefined, { checkFiles: true, readFile: noFile }))).toEqual([
      expect.stringMatching(/^POWERMETERS\.0\.profile: .*csv: needs a file path$/),
      expect.stringMatching(/^TLS\.cert_file: /),
      expect.stringMatching(/^TLS\.key_file: .*string/),
    ]);
  });
});

describe('unknown settings keys', () => {
  const input = {
    BIND: '0.0.0.0:8889',
    POWERMETERS: [
      { driver: 'yoctopuce', serial: 'YWATTMK1-1', hub_url: 'http://127.0.0.1:4444', password: 'hubsecret' },
      { driver: 'yokogawa', dev: '/dev/usbtmc1', serial: 'C2QD1' },
      { dev: '/dev/usbtmc2', pmtype: 'wt310', pm_type: 'wt210' },
    ],
    SUM_CHASIS: true,
    LOG: { levle: 'debug' },
  };

  it('lists every key no schema knows, each meter against its own driver', () => {
    expect(unknownSettingsKeys(input)).toEqual(['SUM_CHASIS', 'LOG.levle', 'POWERMETERS[0].password', 'POWERMETERS[1].dev', 'POWERMETERS[2].pm_type']);
    // They are ignored: the file still loads.
    expect(parseSettings(input).SUM_CHASSIS).toBe(false);
  });

  it('refuses a security section written in another case, which would silently turn authentication or TLS off', () => {
    let err: unknown;
    try {
      parseSettings({ ...input, auth: { users: [{ name: 'admin', password: 'change-me-please' }] }, Tls: { cert_file: '/c', key_file: '/k' } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues.map((i) => i.path)).toEqual(['auth', 'Tls']);
    expect((err as ConfigError).message).toMatch(/auth: .*write AUTH.*authentication would be off/);
    expect((err as ConfigError).message).toMatch(/Tls: .*write TLS.*plain HTTP/);
    expect(() => parseSettings({ ...input, bind: '127.0.0.1:1' })).toThrow(/bind: .*write BIND/);
  });
});

describe('BIND', () => {
  it('refuses a port above 65535 and names BIND', () => {
    expect(() => parseSettings({ BIND: '127.0.0.1:99999', POWERMETERS: [{ driver: 'simulated', profile: 'constant:1' }] })).toThrow(
      /BIND: the port must be 0\.\.65535/,
    );
    expect(parseSettings({ BIND: '127.0.0.1:65535', POWERMETERS: [{ driver: 'simulated', profile: 'constant:1' }] }).BIND).toBe('127.0.0.1:65535');
  });
});

describe('hub credentials', () => {
  it('refuses credentials both in hub_url and in user/pass, without quoting the password', () => {
    let message = '';
    try {
      parseSettings({ POWERMETERS: [{ driver: 'yoctopuce', serial: 'Y-1', hub_url: 'http://admin:HubS3cret@127.0.0.1:4444', user: 'admin' }] });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/POWERMETERS\.0\.hub_url: has credentials/);
    expect(message).not.toContain('HubS3cret');
  });
});

describe('parseBind', () => {
  it('splits host and port and reads an empty host as all interfaces', () => {
    expect(parseBind('0.0.0.0:8889')).toEqual({ host: '0.0.0.0', port: 8889 });
    expect(parseBind(':80')).toEqual({ host: '0.0.0.0', port: 80 });
    expect(parseBind('[::1]:8889')).toEqual({ host: '::1', port: 8889 });
  });
});
