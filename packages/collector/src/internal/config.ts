import { readFile } from 'node:fs/promises';
import * as YAML from 'yaml';
import {
  ConfigError,
  caseVariantConfigKeys,
  configBoolean,
  collectorSettingsSchema,
  unknownConfigKeys,
  unknownDeviceKeys,
  deviceEntrySchema,
  parseSettingsYaml,
  zodIssuesToConfigIssues,
  type AdapterRegistry,
  type CollectorSettings,
  type ConfigIssue,
  type ParsedAdapterConfig,
  type Topology,
} from '@energyrecorder/core';

/** One device ready to be polled: its identity, adapter definition and validated adapter config. */
export interface ResolvedDevice {
  /** `<environment>/<id>`: unique within a collector. */
  key: string;
  id: string;
  type: string;
  adapter: ParsedAdapterConfig;
  /** Stable fingerprint of the raw entry, to tell a changed device from an unchanged one on reload. */
  fingerprint: string;
  /** Where the entry is in the file (`PODS.0.servers.2`), for problems found after validation. */
  configPath?: string;
}

/**
 * One active `PODS` entry with its active devices. An environment may have several entries (a fast and a slow
 * group, as the original's one poller per entry allowed): each polls on its own interval with its own topology.
 */
export interface ResolvedEnvironment {
  name: string;
  /**
   * Tells apart the entries of one environment: 1 for its first active entry, 2, 3… for the next ones, in file
   * order. Absent means 1.
   */
  entry?: number;
  intervalMs: number;
  topology?: Topology;
  devices: ResolvedDevice[];
}

/** A whole configuration, validated and resolved against an adapter registry. */
export interface ResolvedCollectorConfig {
  settings: CollectorSettings;
  environments: ResolvedEnvironment[];
  /** Things worth a warning that are not errors (defaults applied, inactive entries skipped). */
  notices: string[];
}

/** Keys of every device entry that the collector itself reads, whatever the adapter. */
const DEVICE_COMMON_KEYS: readonly string[] = Object.keys(deviceEntrySchema.shape);

/** `active: false`, or one of the YAML 1.1 words for it (`no`, `off`) that the schema reads as false too. */
function isSetFalse(v: unknown): boolean {
  const r = activeFlag.safeParse(v);
  return r.success && !r.data;
}
const activeFlag = configBoolean();

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Validates a parsed `collector-settings.yaml` document: the common keys with core's schema, then every active
 * device with its adapter's schema. Throws one {@link ConfigError} listing every problem found.
 */
export function resolveCollectorConfig(
  input: unknown,
  registry: AdapterRegistry,
  source?: string,
): ResolvedCollectorConfig {
  const issues: ConfigIssue[] = [];
  const result = collectorSettingsSchema.safeParse(input);
  if (!result.success) issues.push(...zodIssuesToConfigIssues(result.error));
  // Unknown keys are ignored, as the original did, but a typo would silently keep a default: say so.
  // A section written in another case (`pods:`) would be ignored whole, as any unknown key: refuse it instead.
  for (const [given, known] of caseVariantConfigKeys(collectorSettingsSchema, input)) {
    issues.push({ path: given, message: `write it ${known}: keys are case-sensitive, and this section would be ignored` });
  }
  const notices: string[] = unknownConfigKeys(collectorSettingsSchema, input).map((key) => `unknown setting ${key} ignored (a typo?)`);
  const environments: ResolvedEnvironment[] = [];
  // Devices are checked even when the common keys failed, so one run reports every problem.
  const rawPods = isRecord(input) && Array.isArray(input['PODS']) ? (input['PODS'] as unknown[]) : [];
  // Device ids of each environment, over all its entries: the API knows a device by environment and id only.
  const idsByEnv = new Map<string, Map<string, number>>();
  const podIndexes: number[] = [];
  rawPods.forEach((rawPod, podIndex) => {
    if (!isRecord(rawPod)) return;
    const envName = typeof rawPod['environment'] === 'string' ? rawPod['environment'] : `#${podIndex}`;
    if (isSetFalse(rawPod['active'])) {
      notices.push(`environment "${envName}" is inactive: skipped`);
      return;
    }
    if (rawPod['polling_interval'] === undefined) {
      notices.push(`environment "${envName}": no polling_interval, using the default of 10 s`);
    }
    const entries = environments.filter((e) => e.name === envName).length;
    const seenIds = idsByEnv.get(envName) ?? new Map<string, number>();
    idsByEnv.set(envName, seenIds);
    const servers = Array.isArray(rawPod['servers']) ? (rawPod['servers'] as unknown[]) : [];
    const devices: ResolvedDevice[] = [];
    servers.forEach((rawServer, serverIndex) => {
      const prefix = `PODS.${podIndex}.servers.${serverIndex}`;
      if (!isRecord(rawServer)) return;
      if (isSetFalse(rawServer['active'])) {
        notices.push(`device "${String(rawServer['id'])}" of "${envName}" is inactive: skipped`);
        return;
      }
      const id = typeof rawServer['id'] === 'number' ? String(rawServer['id']) : rawServer['id'];
      if (typeof id === 'string' && id !== '') {
        const first = seenIds.get(id);
        if (first !== undefined) {
          const where = first === podIndex ? '' : ` (also in PODS.${first}: ids are unique per environment, over all its entries)`;
          issues.push({ path: `${prefix}.id`, message: `id "${id}" is listed twice in "${envName}"${where}` });
        } else seenIds.set(id, podIndex);
      }
      try {
        const adapter = registry.parse(rawServer, prefix);
        const where = `PODS[${podIndex}].servers[${serverIndex}]`;
        for (const key of unknownDeviceKeys(adapter.definition.configSchema, rawServer, DEVICE_COMMON_KEYS, where)) {
          notices.push(`unknown ${adapter.definition.type} key ${key} ignored (a typo?)`);
        }
        if (typeof id === 'string' && id !== '') {
          devices.push({
            key: `${envName}/${id}`,
            id,
            type: adapter.definition.type,
            adapter,
            fingerprint: JSON.stringify(rawServer),
            configPath: prefix,
          });
        }
      } catch (err) {
        if (err instanceof ConfigError) issues.push(...err.issues);
        else issues.push({ path: prefix, message: err instanceof Error ? err.message : String(err) });
      }
    });
    environments.push({ name: envName, entry: entries + 1, intervalMs: 0, devices });
    podIndexes.push(podIndex);
  });
  if (issues.length > 0 || !result.success) {
    throw new ConfigError(dedupe(issues), source === undefined ? {} : { source });
  }
  // Take interval and topology from the schema output, where defaults and the ≤0 → 0.1 s rule were applied.
  const resolved = environments.map((env, i) => {
    const pod = result.data.PODS[podIndexes[i] ?? -1];
    const intervalMs = Math.round((pod?.polling_interval ?? 10) * 1000);
    return pod?.topology === undefined ? { ...env, intervalMs } : { ...env, intervalMs, topology: pod.topology };
  });
  return { settings: result.data, environments: resolved, notices };
}

/** How many devices a configuration polls, over all its environments. */
export function countDevices(environments: readonly ResolvedEnvironment[]): number {
  return environments.reduce((n, e) => n + e.devices.length, 0);
}

function dedupe(issues: ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const k = `${i.path}\u0000${i.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** Parses YAML text into a resolved configuration; YAML syntax errors become `ConfigError` issues too. */
export function parseCollectorConfigText(
  text: string,
  registry: AdapterRegistry,
  source?: string,
): ResolvedCollectorConfig {
  let doc: unknown;
  let warnings: string[];
  try {
    ({ value: doc, warnings } = parseSettingsYaml(text, YAML));
  } catch (err) {
    const message = err instanceof Error ? err.message.split('\n')[0] ?? err.message : String(err);
    throw new ConfigError([{ path: '', message: `YAML syntax error: ${message}` }], {
      ...(source === undefined ? {} : { source }),
      cause: err,
    });
  }
  const resolved = resolveCollectorConfig(doc ?? {}, registry, source);
  return { ...resolved, notices: [...warnings, ...resolved.notices] };
}

/** Reads and resolves a `collector-settings.yaml` file. */
export async function loadCollectorConfigFile(path: string, registry: AdapterRegistry): Promise<ResolvedCollectorConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError([{ path: '', message: `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}` }], {
      source: path,
      cause: err,
    });
  }
  return parseCollectorConfigText(text, registry, path);
}
