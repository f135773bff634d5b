import type { z } from 'zod';
import { ConfigError, type ConfigIssue } from './errors.js';
import type { Logger } from './logger.js';
import type { Reading } from './domain.js';

/**
 * A connection to one device. Created by an {@link AdapterDefinition}, read on every poll, closed when the
 * device is removed or the process stops. Implementations keep sessions open across reads where the protocol
 * allows it and re-open them on failure.
 */
export interface PowerAdapter {
  /**
   * Reads every enabled sensor of the device. Throws an `AdapterError` when the device cannot be read; returns
   * an empty list when it answered but had nothing to report. Must honour `signal`.
   */
  read(signal: AbortSignal): Promise<Reading[]>;
  /**
   * Called by the collector once the recording API confirmed the readings of a read (CSV-over-FTP purges files
   * here). Optional.
   */
  acknowledge?(readings: readonly Reading[], signal: AbortSignal): Promise<void>;
  /** Releases sessions, sockets and timers. Never throws. */
  close(): Promise<void>;
}

/** What an adapter receives besides its own config. */
export interface AdapterContext {
  /** Logger with `{adapter, target}` bindings. */
  logger: Logger;
  /** Default per-request timeout in ms, derived from the polling interval. */
  requestTimeoutMs: number;
  /** Equipment id, for messages. */
  equipmentId: string;
}

/**
 * Describes one adapter type: its name in config files, the schema of its keys, and a factory. Registration is
 * data: a registry is built from a list of definitions.
 */
export interface AdapterDefinition<Schema extends z.ZodType = z.ZodType> {
  /** The `type` value in `collector-settings.yaml`, e.g. `redfish`. */
  readonly type: string;
  /** One-line description for `--help` and docs. */
  readonly description: string;
  /** Schema of the device entry's adapter keys (the whole `servers[]` entry is passed). */
  readonly configSchema: Schema;
  /** Creates the adapter. Must not do I/O that can fail: connect lazily on the first read. */
  create(config: z.output<Schema>, ctx: AdapterContext): PowerAdapter;
}

/** A device config validated against its adapter's schema, ready to create an adapter from. */
export interface ParsedAdapterConfig {
  definition: AdapterDefinition;
  config: unknown;
}

/** Looks adapter definitions up by type. */
export interface AdapterRegistry {
  /** Every registered type, sorted. */
  readonly types: readonly string[];
  /** The definition of `type`, or throws a `ConfigError` that lists the valid types. */
  get(type: string): AdapterDefinition;
  has(type: string): boolean;
  /**
   * Validates one device entry (the `servers[]` object) against its adapter's schema. Throws a `ConfigError`
   * naming each offending key under `pathPrefix`.
   */
  parse(entry: Record<string, unknown>, pathPrefix?: string): ParsedAdapterConfig;
}

/** Converts zod issues into `path: message` pairs under `prefix`. */
export function zodIssuesToConfigIssues(error: z.ZodError, prefix = ''): ConfigIssue[] {
  return error.issues.map((issue) => {
    const parts = [prefix, ...issue.path.map((p) => String(p))].filter((p) => p !== '');
    return { path: parts.join('.'), message: unionMessage(issue) ?? issue.message };
  });
}

/**
 * zod says only "Invalid input" when a value matches no option of a union (`id: string | number`, `pass: string |
 * null`): this says what each option expected and what came, when every option refused the value's type or value.
 */
function unionMessage(issue: z.core.$ZodIssue): string | undefined {
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return undefined;
  const expected: string[] = [];
  let received: string | undefined;
  for (const option of issue.errors) {
    const own = option.filter((sub) => sub.path.length === 0);
    const type = own.find((sub) => sub.code === 'invalid_type');
    const value = own.find((sub) => sub.code === 'invalid_value');
    if (type !== undefined && type.code === 'invalid_type') {
      expected.push(type.expected);
      received ??= /received (.+)$/.exec(type.message)?.[1];
    } else if (value !== undefined && value.code === 'invalid_value') {
      expected.push(...value.values.map((v) => (typeof v === 'string' ? JSON.stringify(v) : String(v))));
    } else {
      return undefined;
    }
  }
  const list = [...new Set(expected)];
  const said = list.length > 1 ? `${list.slice(0, -1).join(', ')} or ${list[list.length - 1] as string}` : (list[0] as string);
  return `Invalid input: expected ${said}${received === undefined ? '' : `, received ${received}`}`;
}

/**
 * Builds a registry from adapter definitions. Rejects duplicate types; an unknown type fails with the list of
 * valid ones.
 */
export function createAdapterRegistry(definitions: readonly AdapterDefinition[]): AdapterRegistry {
  const byType = new Map<string, AdapterDefinition>();
  for (const def of definitions) {
    if (byType.has(def.type)) {
      throw new ConfigError([{ path: 'type', message: `adapter type "${def.type}" is registered twice` }]);
    }
    byType.set(def.type, def);
  }
  const types = Object.freeze([...byType.keys()].sort());
  const unknownType = (type: string, path: string): ConfigError =>
    new ConfigError([{ path, message: `unknown adapter type "${type}"; valid types: ${types.join(', ')}` }]);
  return Object.freeze({
    types,
    has: (type: string) => byType.has(type),
    get(type: string): AdapterDefinition {
      const def = byType.get(type);
      if (def === undefined) throw unknownType(type, 'type');
      return def;
    },
    parse(entry: Record<string, unknown>, pathPrefix = ''): ParsedAdapterConfig {
      const typePath = pathPrefix === '' ? 'type' : `${pathPrefix}.type`;
      const type = entry['type'];
      if (typeof type !== 'string') {
        throw new ConfigError([{ path: typePath, message: `required string; valid types: ${types.join(', ')}` }]);
      }
      const def = byType.get(type);
      if (def === undefined) throw unknownType(type, typePath);
      const result = def.configSchema.safeParse(entry);
      if (!result.success) throw new ConfigError(zodIssuesToConfigIssues(result.error, pathPrefix));
      return { definition: def, config: result.data };
    },
  });
}
