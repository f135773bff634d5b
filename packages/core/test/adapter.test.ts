import { z } from 'zod';
import { ConfigError, createAdapterRegistry, type AdapterDefinition } from '@energyrecorder/core';

const fake = (type: string): AdapterDefinition => ({
  type,
  description: `${type} test adapter`,
  configSchema: z.looseObject({ type: z.literal(type), host: z.string().min(1) }),
  create: () => ({ read: async () => [], close: async () => undefined }),
});

describe('createAdapterRegistry', () => {
  it('lists the registered types sorted', () => {
    const reg = createAdapterRegistry([fake('snmp'), fake('ipmi')]);
    expect(reg.types).toEqual(['ipmi', 'snmp']);
    expect(reg.has('ipmi')).toBe(true);
  });

  it('rejects a duplicate type', () => {
    expect(() => createAdapterRegistry([fake('ipmi'), fake('ipmi')])).toThrow(/registered twice/);
  });

  it('names the valid types when the type is unknown', () => {
    const reg = createAdapterRegistry([fake('snmp'), fake('ipmi')]);
    expect(() => reg.get('telnet')).toThrow('unknown adapter type "telnet"; valid types: ipmi, snmp');
  });

  it('reports each bad key of a device entry under its path', () => {
    const reg = createAdapterRegistry([fake('ipmi')]);
    try {
      reg.parse({ type: 'ipmi', host: '' }, 'PODS.0.servers.2');
      throw new Error('expected a ConfigError');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).issues.map((i) => i.path)).toEqual(['PODS.0.servers.2.host']);
      expect((err as ConfigError).code).toBe('ER_CONFIG');
    }
  });

  it('returns the definition and the validated config', () => {
    const reg = createAdapterRegistry([fake('ipmi')]);
    const parsed = reg.parse({ type: 'ipmi', host: '10.0.0.1', id: 'x' });
    expect(parsed.definition.type).toBe('ipmi');
    expect(parsed.config).toMatchObject({ host: '10.0.0.1' });
  });
});
