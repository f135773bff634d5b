import { parseArgs } from 'node:util';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError, type AdapterDefinition, type AdapterRegistry, type Logger } from '@energyrecorder/core';
import type { Collector } from './collector.js';
import { buildRegistry, createContainer } from './container.js';
import { countDevices, loadCollectorConfigFile, type ResolvedCollectorConfig } from './internal/config.js';
import { COLLECTOR_FACTORY, LOGGER } from './tokens.js';
import { VERSION } from './index.js';

/** Where the original daemon looked for its settings, relative to the working directory. */
export const DEFAULT_CONFIG_PATH = 'conf/collector-settings.yaml';
/** How long SIGTERM/SIGINT may take before the process exits anyway. */
export const SHUTDOWN_DEADLINE_MS = 10_000;

const USAGE = `Usage: energyrecorder-collector [--config <file>] [--check-config] [--adapters <module>]

Polls every device of collector-settings.yaml and pushes the readings to the recording API.

Options:
  -c, --config <file>      settings file (default: ${DEFAULT_CONFIG_PATH})
      --check-config       validate the settings, print every problem, and exit (0 = valid, 2 = invalid)
      --adapters <module>  ES module exporting \`adapters\`: extra adapter definitions (repeatable)
  -v, --version            print the version
  -h, --help               print this help

Signals: SIGTERM/SIGINT flush and exit, SIGHUP reloads the settings, SIGUSR1 logs a status dump.
`;

/** What the CLI needs from its surroundings; tests pass their own. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  cwd: string;
}

const defaultIo: CliIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  cwd: process.cwd(),
};

function isAdapterDefinition(v: unknown): v is AdapterDefinition {
  if (typeof v !== 'object' || v === null) return false;
  const d = v as Record<string, unknown>;
  return typeof d['type'] === 'string' && typeof d['create'] === 'function' && typeof d['configSchema'] === 'object';
}

async function loadAdapterModules(paths: readonly string[], cwd: string): Promise<AdapterDefinition[]> {
  const out: AdapterDefinition[] = [];
  for (const p of paths) {
    const mod: unknown = await import(pathToFileURL(resolve(cwd, p)).href);
    const list = typeof mod === 'object' && mod !== null ? (mod as Record<string, unknown>)['adapters'] : undefined;
    if (!Array.isArray(list) || !list.every(isAdapterDefinition)) {
      throw new ConfigError([{ path: '--adapters', message: `${p} must export \`adapters\`: an array of adapter definitions` }]);
    }
    out.push(...list);
  }
  return out;
}

/**
 * Runs the collector command line. Resolves with the exit code once the process should exit: at once for
 * `--help` and `--check-config`, after a signal-triggered shutdown otherwise.
 */
export async function runCli(argv: readonly string[], io: CliIo = defaultIo): Promise<number> {
  let values: { config?: string; 'check-config'?: boolean; adapters?: string[]; help?: boolean; version?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        config: { type: 'string', short: 'c' },
        'check-config': { type: 'boolean' },
        adapters: { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    io.stderr(`${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    return 2;
  }
  if (values.help === true) {
    let types = '';
    try {
      types = buildRegistry().types.join(', ');
    } catch {
      types = '(could not list)';
    }
    io.stdout(`${USAGE}\nBuilt-in adapter types: ${types === '' ? '(none)' : types}\n`);
    return 0;
  }
  if (values.version === true) {
    io.stdout(`${VERSION}\n`);
    return 0;
  }
  const configPath = resolve(io.cwd, values.config ?? DEFAULT_CONFIG_PATH);
  let registry: AdapterRegistry;
  let config: ResolvedCollectorConfig;
  try {
    registry = buildRegistry(await loadAdapterModules(values.adapters ?? [], io.cwd));
    config = await loadCollectorConfigFile(configPath, registry);
  } catch (err) {
    io.stderr(`${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
  if (values['check-config'] === true) {
    for (const n of config.notices) io.stdout(`note: ${n}\n`);
    const { environments } = config;
    io.stdout(`${configPath}: OK (${environments.length} environments, ${countDevices(environments)} devices)\n`);
    return 0;
  }
  return runDaemon(configPath, config, registry, io);
}

async function runDaemon(
  configPath: string,
  config: ResolvedCollectorConfig,
  registry: AdapterRegistry,
  io: CliIo,
): Promise<number> {
  const container = createContainer({ config, registry, baseDir: io.cwd });
  const logger = container.resolve(LOGGER);
  for (const n of config.notices) logger.warn({ config: configPath }, n);
  let collector: Collector;
  try {
    collector = await container.resolve(COLLECTOR_FACTORY)();
    await collector.start();
  } catch (err) {
    logger.error({ err: err instanceof Error ? err.message : String(err) }, 'collector failed to start');
    io.stderr(`${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  return new Promise<number>((resolveExit) => {
    let shuttingDown = false;
    const shutdown = (signal: string): void => {
      if (shuttingDown) return;
      shuttingDown = true;
      logger.info({ signal }, 'stopping');
      // Exit 0 even if something hangs: whatever is not delivered is already in the spool.
      const hard = setTimeout(() => resolveExit(0), SHUTDOWN_DEADLINE_MS + 2000);
      hard.unref();
      collector
        .stop(SHUTDOWN_DEADLINE_MS)
        .catch((err: unknown) => logger.error({ err: String(err) }, 'error while stopping'))
        .finally(() => {
          clearTimeout(hard);
          removeHandlers();
          resolveExit(0);
        });
    };
    const onTerm = (): void => shutdown('SIGTERM');
    const onInt = (): void => shutdown('SIGINT');
    const onHup = (): void => void reload(configPath, registry, collector, logger);
    const onUsr1 = (): void => collector.logStatus();
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onInt);
    process.on('SIGHUP', onHup);
    process.on('SIGUSR1', onUsr1);
    const removeHandlers = (): void => {
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      process.off('SIGHUP', onHup);
      process.off('SIGUSR1', onUsr1);
    };
    logger.info({ config: configPath, pid: process.pid, dir: dirname(configPath) }, 'running');
  });
}

async function reload(configPath: string, registry: AdapterRegistry, collector: Collector, logger: Logger): Promise<void> {
  try {
    const next = await loadCollectorConfigFile(configPath, registry);
    for (const n of next.notices) logger.warn({ config: configPath }, n);
    await collector.reload(next);
  } catch (err) {
    const issues = err instanceof ConfigError ? err.issues.map((i) => `${i.path}: ${i.message}`) : [String(err)];
    logger.error({ config: configPath, issues }, 'reload refused: the running configuration is kept');
  }
}
