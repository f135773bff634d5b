import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { builtinAdapters } from '@energyrecorder/adapters';
import { parseWebappSettings } from '@energyrecorder/api-server';
import { parseCollectorConfigText } from '@energyrecorder/collector';
import {
  collectorSectionSchema,
  createAdapterRegistry,
  influxSettingsSchema,
  authSettingsSchema,
  apiUserSchema,
  logSettingsSchema,
  mqttSettingsSchema,
  recorderApiServerSchema,
  storeSettingsSchema,
  tlsSettingsSchema,
  webappSettingsSchema,
} from '@energyrecorder/core';

const here = join(__dirname, '..');
const collectorText = readFileSync(join(here, 'collector-settings.yaml'), 'utf8');
const webappText = readFileSync(join(here, 'webapp-settings.yaml'), 'utf8');
const registry = createAdapterRegistry([...builtinAdapters]);

/** Keys of an object schema, looking through zod pipes (`.transform`) and wrappers. */
function shapeKeys(schema: unknown): string[] {
  let s: unknown = schema;
  for (let i = 0; i < 10 && typeof s === 'object' && s !== null; i++) {
    if ('shape' in s && typeof s.shape === 'object' && s.shape !== null) return Object.keys(s.shape);
    const def = (s as { _zod?: { def?: { in?: unknown; innerType?: unknown } } })._zod?.def;
    s = def?.in ?? def?.innerType;
  }
  throw new Error('not an object schema');
}

describe('examples/config', () => {
  it('loads the collector settings through the collector and every adapter schema when validated', () => {
    const resolved = parseCollectorConfigText(collectorText, registry, 'collector-settings.yaml');
    expect(resolved.settings.PODS).toHaveLength(2);
  });

  it('uses every built-in adapter type when listing devices', () => {
    const doc = parseYaml(collectorText) as { PODS: Array<{ servers: Array<{ type: string }> }> };
    const used = new Set(doc.PODS.flatMap((p) => p.servers.map((s) => s.type)));
    expect([...registry.types].filter((t) => !used.has(t))).toEqual([]);
  });

  it('shows every key of every adapter schema when the adapter has keys of its own', () => {
    const doc = parseYaml(collectorText) as { PODS: Array<{ servers: Array<Record<string, unknown>> }> };
    const servers = doc.PODS.flatMap((p) => p.servers);
    const missing: string[] = [];
    for (const type of registry.types) {
      const keys = new Set(servers.filter((s) => s['type'] === type).flatMap((s) => Object.keys(s)));
      for (const k of shapeKeys(registry.get(type).configSchema)) {
        // `temperatures` is the legacy alias of `temperature`, shown on a second redfish entry.
        if (!keys.has(k)) missing.push(`${type}.${k}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('shows every key of the collector and API sections when annotating them', () => {
    const doc = parseYaml(collectorText) as Record<string, Record<string, unknown>>;
    expect(Object.keys(doc['RECORDER_API_SERVER'] ?? {}).sort()).toEqual(shapeKeys(recorderApiServerSchema).sort());
    expect(Object.keys(doc['COLLECTOR'] ?? {}).sort()).toEqual(shapeKeys(collectorSectionSchema).sort());
  });

  it('loads the webapp settings through the API schema when validated', () => {
    const settings = parseWebappSettings(parseYaml(webappText), 'webapp-settings.yaml');
    expect(settings.INFLUX?.db).toBe('NRG');
    expect(settings.AUTH?.users).toHaveLength(2);
  });

  it('shows every key of the API settings when annotating them', () => {
    const doc = parseYaml(webappText) as Record<string, Record<string, unknown>>;
    expect(Object.keys(doc).sort()).toEqual(shapeKeys(webappSettingsSchema).sort());
    expect(Object.keys(doc['INFLUX'] ?? {}).sort()).toEqual(shapeKeys(influxSettingsSchema).sort());
    expect(Object.keys(doc['MQTT'] ?? {}).sort()).toEqual(shapeKeys(mqttSettingsSchema).sort());
    expect(Object.keys(doc['STORE'] ?? {}).sort()).toEqual(shapeKeys(storeSettingsSchema).sort());
    expect(Object.keys(doc['AUTH'] ?? {}).sort()).toEqual(shapeKeys(authSettingsSchema).sort());
    expect(Object.keys((doc['AUTH']?.['users'] as Array<Record<string, unknown>> | undefined)?.[0] ?? {}).sort()).toEqual(shapeKeys(apiUserSchema).sort());
    expect(Object.keys(doc['TLS'] ?? {}).sort()).toEqual(shapeKeys(tlsSettingsSchema).sort());
    expect(Object.keys(doc['LOG'] ?? {}).sort()).toEqual(shapeKeys(logSettingsSchema).sort());
  });

  it('reports each problem as path: message when a key is wrong', () => {
    const broken = collectorText.replace('framer: SOCKET', 'framer: TCP').replace('type: shelly', 'type: shelly-plug');
    expect(() => parseCollectorConfigText(broken, registry, 'broken.yaml')).toThrow(/PODS\.0\.servers\.\d+\.framer.*|type/);
  });
});
