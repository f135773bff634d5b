import { z } from 'zod';
import { ConfigError, createAdapterRegistry, zodIssuesToConfigIssues, type AdapterDefinition } from '@energyrecorder/core';

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

describe('zodIssuesToConfigIssues', () => {
  const schema = z.object({
    id: z.union([z.string().min(1), z.number()]),
    pass: z.union([z.string(), z.null()]).optional(),
    qos: z.union([z.literal(0), z.literal(1), z.literal(2)]).optional(),
    mode: z.union([z.literal('a'), z.number()]).optional(),
  });
  const issues = (input: unknown) => {
    const r = schema.safeParse(input);
    return r.success ? [] : zodIssuesToConfigIssues(r.error, 'PODS.0');
  };

  it('says what each option of a union expected and what came when no option takes the value', () => {
    expect(issues({ id: [], pass: 3, qos: 5, mode: true })).toEqual([
      { path: 'PODS.0.id', message: 'Invalid input: expected string or number, received array' },
      { path: 'PODS.0.pass', message: 'Invalid input: expected string or null, received number' },
      { path: 'PODS.0.qos', message: 'Invalid input: expected 0, 1 or 2' },
      { path: 'PODS.0.mode', message: 'Invalid input: expected "a" or number, received boolean' },
    ]);
  });

  it("keeps zod's own message when one option took the type and refused the value", () => {
    expect(issues({ id: '' })).toEqual([{ path: 'PODS.0.id', message: expect.stringMatching(/^Too small/) }]);
  });
});
