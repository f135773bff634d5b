import { builtinAdapters } from '../../src/builtin.js';
import { redfishConfigSchema } from '../../src/redfish/config.js';

const HTTP_TYPES = ['redfish', 'ilo', 'shelly', 'rpimon', 'ilo-gui', 'idrac8-gui', 'intel-gui', 'ibmc-gui'];

describe('HTTP device config', () => {
  it.each(HTTP_TYPES)('%s refuses credentials written into host, without echoing them', (type) => {
    const def = builtinAdapters.find((d) => d.type === type);
    if (def === undefined) throw new Error(`no ${type}`);
    for (const host of ['https://root:Hunter2pw@10.0.0.5', 'root:Hunter2pw@10.0.0.5:443']) {
      const result = def.configSchema.safeParse({ id: 'x', type, host });
      expect(result.success).toBe(false);
      expect(JSON.stringify(result.error?.issues)).toMatch(/use the user and pass keys/);
      expect(JSON.stringify(result.error?.issues)).not.toContain('Hunter2pw');
    }
    expect(def.configSchema.safeParse({ id: 'x', type, host: 'http://127.0.0.1:8000/dev/3' }).success).toBe(true);
  });

  it.each(HTTP_TYPES)('%s accepts host as name, name:port, [IPv6][:port] or an http(s) URL of one with a path prefix', (type) => {
    const def = builtinAdapters.find((d) => d.type === type);
    for (const host of [
      '10.0.0.5',
      'bmc1.lab:8443',
      'my_bmc',
      '[fd00::5]',
      '[::1]:8443',
      'https://bmc1:8443',
      'HTTP://10.0.0.5/',
      'http://127.0.0.1:9000/dev/3',
      '127.0.0.1:9000/dev/3',
      'http://[::1]:8080/x',
      ' 10.0.0.5 ',
    ]) {
      expect([host, def?.configSchema.safeParse({ id: 'x', type, host }).success]).toEqual([host, true]);
    }
  });

  it.each(HTTP_TYPES)('%s refuses a mistyped host at config time, naming host and the accepted forms', (type) => {
    const def = builtinAdapters.find((d) => d.type === type);
    for (const host of [
      'https:/10.0.0.5', // would have been a host named "https"
      'htps://10.0.0.5',
      'ftp://10.0.0.5',
      'https//10.0.0.5',
      '127.0.0.1:99999', // failed every poll as "unexpected failure: Invalid URL"
      'bmc:0',
      'http://[::1',
      '::1',
      'bmc 2',
      'bmc?x=1',
      'http://',
      '999.1.1.1',
    ]) {
      const result = def?.configSchema.safeParse({ id: 'x', type, host });
      expect([host, result?.success]).toEqual([host, false]);
      expect(result?.error?.issues).toEqual([
        expect.objectContaining({ path: ['host'], message: expect.stringMatching(/^host must be name, name:port, \[IPv6\] or \[IPv6\]:port, .*http:\/\/ or https:\/\//) }),
      ]);
    }
  });

  it.each(HTTP_TYPES)('%s keeps TLS verification on unless the device opts out', (type) => {
    const def = builtinAdapters.find((d) => d.type === type);
    expect(def?.configSchema.parse({ id: 'x', type, host: 'bmc' })).toMatchObject({ verify_cert: true });
  });
});

describe('redfish config', () => {
  it('accepts the original sample spelling temperatures when temperature is not given', () => {
    expect(redfishConfigSchema.parse({ host: 'bmc', temperatures: false })).toMatchObject({ temperature: false, power: true });
    expect(redfishConfigSchema.parse({ host: 'bmc', temperature: true, temperatures: false }).temperature).toBe(true);
    expect(redfishConfigSchema.parse({ host: 'bmc' })).toMatchObject({ temperature: true, power: true, auth: 'session', scheme: 'auto' });
  });

  it('treats empty or null user and pass as no credentials, as the original pod_auth did', () => {
    expect(redfishConfigSchema.parse({ host: 'bmc', user: null, pass: '' })).toMatchObject({ user: undefined, pass: undefined });
  });
});
