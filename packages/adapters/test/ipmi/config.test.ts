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
