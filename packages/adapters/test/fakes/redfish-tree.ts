import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { AdapterError, HttpStatusError } from '@energyrecorder/core';
import type { ResourceSource } from '../../src/redfish/reader.js';
import {
  normaliseUri,
  parseChassis,
  parseCollection,
  topLevelChassis,
  type ChassisInfo,
} from '../../src/redfish/parsers.js';

/** Directory of the Redfish fixtures (`<vendor>-<model>-<firmware>.json`). */
export const REDFISH_FIXTURE_DIR = join(__dirname, '..', 'fixtures', 'redfish');

/** What a fixture file holds: the resources of one service and what a correct reader gets from them. */
export interface RedfishFixture {
  name: string;
  description: string;
  expected: {
    power: number;
    powerSource: string;
    energy?: number;
    temperatures: Record<string, number>;
    details?: Record<string, number>;
  };
  resources: Map<string, unknown>;
}

/** Names of every Redfish fixture, without `.json`. */
export function redfishFixtureNames(): string[] {
  return readdirSync(REDFISH_FIXTURE_DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -5))
    .sort();
}

/** Loads a fixture; resource paths are normalised (no trailing slash, no fragment). */
export function loadRedfishFixture(name: string): RedfishFixture {
  const raw = JSON.parse(readFileSync(join(REDFISH_FIXTURE_DIR, `${name}.json`), 'utf8')) as {
    description: string;
    expected: RedfishFixture['expected'];
    resources: Record<string, unknown>;
  };
  const resources = new Map<string, unknown>();
  for (const [path, body] of Object.entries(raw.resources)) resources.set(normaliseUri(path), body);
  return { name, description: raw.description, expected: raw.expected, resources };
}

/** A deep copy of a resource map, so a fake can change readings without touching the fixture. */
export function cloneResources(resources: ReadonlyMap<string, unknown>): Map<string, unknown> {
  return new Map([...resources].map(([k, v]) => [k, structuredClone(v)]));
}

/** A {@link ResourceSource} over an in-memory resource map; unknown paths answer like a 404. */
export function mapSource(resources: ReadonlyMap<string, unknown>): ResourceSource & { gets: string[] } {
  const gets: string[] = [];
  return {
    gets,
    get(path: string): Promise<unknown> {
      const key = normaliseUri(path);
      gets.push(key);
      if (!resources.has(key)) {
        return Promise.reject(
          new AdapterError(`GET ${path}: HTTP 404`, {
            adapterType: 'redfish',
            target: 'fixture',
            code: 'ER_ADAPTER_HTTP',
            cause: new HttpStatusError(`GET ${path}: HTTP 404`, { status: 404 }),
          }),
        );
      }
      return Promise.resolve(structuredClone(resources.get(key)));
    },
  };
}

function chassisOf(resources: ReadonlyMap<string, unknown>): ChassisInfo[] {
  const root = resources.get('/redfish/v1');
  const link = (root as { Chassis?: { '@odata.id'?: string } } | undefined)?.Chassis?.['@odata.id'] ?? '/redfish/v1/Chassis';
  const members = parseCollection(resources.get(normaliseUri(link))) ?? [];
  return members.map((m) => parseChassis(resources.get(m), m));
}

const COMPONENT = /CPU|Memory|GPU|Storage|Networking|Fan|Accelerator|ASIC|FPGA|Backplane|Board/;

/**
 * Sets the power every top-level chassis reports to `watts`, in every power model the tree has (EnvironmentMetrics,
 * PowerSubsystem supplies split evenly, PowerControl, a Chassis-context power sensor).
 */
export function setTreePower(resources: Map<string, unknown>, watts: number): void {
  for (const c of topLevelChassis(chassisOf(resources))) {
    const em = c.environmentMetrics === undefined ? undefined : resources.get(c.environmentMetrics);
    const pw = (em as { PowerWatts?: { Reading?: unknown } } | undefined)?.PowerWatts;
    if (pw !== undefined) pw.Reading = watts;
    const power = c.power === undefined ? undefined : (resources.get(c.power) as { PowerControl?: Record<string, unknown>[] } | undefined);
    if (power?.PowerControl !== undefined) {
      const chassisWide = power.PowerControl.filter((e) => e['PhysicalContext'] === 'Chassis');
      const targets =
        chassisWide.length > 0
          ? chassisWide
          : power.PowerControl.filter((e) => !COMPONENT.test(String(e['PhysicalContext'] ?? '')));
      for (const e of targets) e['PowerConsumedWatts'] = watts / targets.length;
    }
    if (c.powerSubsystem !== undefined) {
      const metrics = [...resources.keys()].filter((k) => k.startsWith(`${c.powerSubsystem}/PowerSupplies/`) && k.endsWith('/Metrics'));
      for (const m of metrics) {
        const body = resources.get(m) as { InputPowerWatts?: { Reading?: unknown } };
        if (body.InputPowerWatts !== undefined) body.InputPowerWatts.Reading = watts / metrics.length;
      }
    }
    if (c.sensors !== undefined) {
      for (const [k, v] of resources) {
        const s = v as { ReadingType?: unknown; PhysicalContext?: unknown; Reading?: unknown };
        if (k.startsWith(`${c.sensors}/`) && s.ReadingType === 'Power' && s.PhysicalContext === 'Chassis') s.Reading = watts;
      }
    }
  }
}
