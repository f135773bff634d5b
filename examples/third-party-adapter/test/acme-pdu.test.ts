import { builtinAdapters } from '@energyrecorder/adapters';
import { ConfigError, createAdapterRegistry } from '@energyrecorder/core';
import { acmePduAdapter, parseAcmePduStatus } from '../src/acme-pdu.js';

describe('acme-pdu', () => {
  const registry = createAdapterRegistry([...builtinAdapters, acmePduAdapter]);

  it('is listed next to the built-in types when registered', () => {
    expect(registry.types).toContain('acme-pdu');
    expect(registry.types).toContain('redfish');
  });

  it('validates a device entry when its keys are right', () => {
    const { config } = registry.parse({ id: 'pdu-9', type: 'acme-pdu', host: 'http://10.0.0.70/', outlets: true }, 'PODS.0.servers.0');
    expect(config).toMatchObject({ host: 'http://10.0.0.70', outlets: true });
  });

  it('names the key when an entry is wrong', () => {
    expect(() => registry.parse({ id: 'pdu-9', type: 'acme-pdu', host: 'not a url' }, 'PODS.0.servers.3')).toThrow(ConfigError);
    try {
      registry.parse({ id: 'pdu-9', type: 'acme-pdu', host: 'not a url' }, 'PODS.0.servers.3');
    } catch (err) {
      expect((err as ConfigError).issues.map((i) => i.path)).toEqual(['PODS.0.servers.3.host']);
    }
  });

  it('turns the payload into a total and per-outlet readings when outlets are on', () => {
    const r = parseAcmePduStatus({ total_watts: 512.5, outlets: [{ id: 1, watts: 200 }, { id: 2, watts: 312.5 }] }, 7, true);
    expect(r.map((x) => [x.sensor, x.value])).toEqual([
      ['power', 512.5],
      ['outlet-1/power', 200],
      ['outlet-2/power', 312.5],
    ]);
  });

  it('throws when the payload has another shape', () => {
    expect(() => parseAcmePduStatus({ watts: 1 }, 7, false)).toThrow();
  });
});
