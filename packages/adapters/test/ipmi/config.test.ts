import { ConfigError, createAdapterRegistry } from '@energyrecorder/core';
import { DEFAULT_IPMI, ipmiAdapter, ipmiConfigSchema } from '../../src/ipmi/index.js';

describe('ipmiConfigSchema', () => {
  it('accepts the original keys and fills the new ones with defaults', () => {
    const c = ipmiConfigSchema.parse({ type: 'ipmi', id: 'srv1', host: '10.0.0.5', user: 'root', pass: 'calvin' });
    expect(c).toMatchObject({
      address: '10.0.0.5',
      bridgeAddress: undefined,
      port: DEFAULT_IPMI.port,
      cipher_suite: 3,
      privilege: 'admin',
      driver: 'native',
      ipmi_version: 'auto',
      bridge_channel: 0,
    });
  });

  it('splits host:bridge into the address and the IPMB target when a bridge is given', () => {
    expect(ipmiConfigSchema.parse({ type: 'ipmi', id: 1, host: '10.0.0.5:0x82', user: 'u' })).toMatchObject({
      id: '1',
      address: '10.0.0.5',
      bridgeAddress: 0x82,
      pass: '',
    });
  });

  it('reports every bad key as path: message through the registry', () => {
    const registry = createAdapterRegistry([ipmiAdapter]);
    let caught: unknown;
    try {
      registry.parse(
        { type: 'ipmi', id: 'x', host: 'a b', cipher_suite: 1, privilege: 'root', driver: 'shell' },
        'PODS.0.servers.0',
      );
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const paths = (caught as ConfigError).issues.map((i) => i.path).sort();
    expect(paths).toEqual([
      'PODS.0.servers.0.cipher_suite',
      'PODS.0.servers.0.driver',
      'PODS.0.servers.0.host',
      'PODS.0.servers.0.privilege',
    ]);
  });

  it('rejects a user name longer than IPMI allows', () => {
    expect(ipmiConfigSchema.safeParse({ type: 'ipmi', id: 'x', host: 'h', user: 'u'.repeat(17) }).success).toBe(false);
  });
});

describe('ipmiConfigSchema byte limits', () => {
  const entry = (extra: Record<string, unknown>) => ({ type: 'ipmi', id: 'x', host: 'h', ...extra });

  it('counts the user name in UTF-8 bytes, as the BMC does: ten "é" are 20 bytes, over the 16 allowed', () => {
    const r = ipmiConfigSchema.safeParse(entry({ user: 'é'.repeat(10) }));
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]).toMatchObject({ path: ['user'], message: 'is 20 bytes in UTF-8: IPMI user names are at most 16' });
    expect(ipmiConfigSchema.parse(entry({ user: 'é'.repeat(8) })).user).toBe('é'.repeat(8));
  });

  it('limits the password to 20 UTF-8 bytes (RMCP+), and to 16 when ipmi_version is 1.5', () => {
    expect(ipmiConfigSchema.parse(entry({ pass: 'p'.repeat(20) })).pass).toHaveLength(20);
    const long = ipmiConfigSchema.safeParse(entry({ pass: 'é'.repeat(11) }));
    expect(long.error?.issues).toEqual([
      expect.objectContaining({ path: ['pass'], message: 'is 22 bytes in UTF-8: IPMI v2.0 (RMCP+) passwords are at most 20' }),
    ]);
    const v15 = ipmiConfigSchema.safeParse(entry({ pass: 'p'.repeat(17), ipmi_version: '1.5' }));
    expect(v15.error?.issues).toEqual([
      expect.objectContaining({ path: ['pass'], message: 'is 17 bytes in UTF-8: IPMI v1.5 passwords are at most 16' }),
    ]);
  });

  it('reads timeout: left empty (null) as the default', () => {
    expect(ipmiConfigSchema.parse(entry({ timeout: null })).timeout).toBeUndefined();
    expect(ipmiConfigSchema.parse(entry({ timeout: 3 })).timeout).toBe(3);
  });

  it('takes a numeric password as its text, as the original put it on ipmitool\'s command line', () => {
    expect(ipmiConfigSchema.parse(entry({ pass: 123456 })).pass).toBe('123456');
  });
});
