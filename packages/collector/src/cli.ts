import { accessSync, constants as fsConstants, readFileSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError, type AdapterDefinition, type AdapterRegistry, type ConfigIssue, type Logger } from '@energyrecorder/core';
import type { Collector } from './collector.js';
import { buildRegistry, createContainer } from './container.js';
import { countDevices, loadCollectorConfigFile, type ResolvedCollectorConfig } from './internal/config.js';
import { COLLECTOR_FACTORY, LOG_REOPEN, LOGGER } from './tokens.js';
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

Signals: SIGTERM/SIGINT flush and exit, SIGHUP reopens the log file and reloads the settings, SIGUSR1 logs a
status dump.
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

/** `problem` when `path` (or, when it does not exist yet, the directory it would be created in) is not writable. */
function writableProblem(path: string, kind: 'file' | 'directory'): string | undefined {
  let at = path;
  for (;;) {
    let isDir: boolean;
    try {
      isDir = statSync(at).isDirectory();
    } catch {
      const parent = dirname(at);
      if (parent === at) return `no existing parent directory`;
      at = parent;
      continue;
    }
    const existing = at === path;
    if (existing && kind === 'file' && isDir) return 'is a directory';
    if (!existing && !isDir) return `cannot be created: ${at} is not a directory`;
    if (existing && kind === 'directory' && !isDir) return 'is not a directory';
    try {
      accessSync(at, fsConstants.W_OK);
      return undefined;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? String(err);
      return existing ? `not writable (${code})` : `cannot be created: ${at} is not writable (${code})`;
    }
  }
}

/**
 * The checks the daemon makes only when it starts, beyond the schema: the files it reads or writes. Run by
 * `--check-config` so a file it passes does not then stop the daemon.
 */
export function checkRuntimeSettings(config: ResolvedCollectorConfig, cwd: string): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const { RECORDER_API_SERVER: api, COLLECTOR: c } = config.settings;
  const readable = (file: string, path: string): void => {
    const at = resolve(cwd, file);
    try {
      readFileSync(at, 'utf8');
    } catch (err) {
      // The file is named: a `verify_cert: <path>` is reported as the ca_file it becomes.
      issues.push({ path, message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)} (${at})` });
    }
  };
  if (api.ca_file !== undefined) readable(api.ca_file, 'RECORDER_API_SERVER.ca_file');
  // Devices read their CA file at their first poll: unreadable, the device would fail every poll after a clean start.
  for (const env of config.environments) {
    for (const device of env.devices) {
      const adapterConfig: unknown = device.adapter.config;
      if (typeof adapterConfig !== 'object' || adapterConfig === null) continue;
      // A string `verify_cert` is a CA bundle path, as requests' `verify` took, for adapters that keep it there.
      for (const key of ['ca_file', 'verify_cert']) {
        const file = (adapterConfig as Record<string, unknown>)[key];
        if (typeof file === 'string' && file !== '') readable(file, `${device.configPath ?? device.key}.${key}`);
      }
    }
  }
  if (c.log_file !== undefined) {
    const problem = writableProblem(resolve(cwd, c.log_file), 'file');
    if (problem !== undefined) issues.push({ path: 'COLLECTOR.log_file', message: problem });
  }
  const spoolProblem = writableProblem(resolve(cwd, c.spool_dir), 'directory');
  if (spoolProblem !== undefined) issues.push({ path: 'COLLECTOR.spool_dir', message: spoolProblem });
  return issues;
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
    const issues = checkRuntimeSettings(config, io.cwd);
    if (issues.length > 0) {
      io.stderr(`${new ConfigError(issues, { source: configPath }).message}\n`);
      return 2;
    }
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
  const reopenLog = container.resolve(LOG_REOPEN);
  for (const n of config.notices) logger.warn({ config: configPath }, n);
  return new Promise<number>((resolveExit) => {
    // Signals are handled from the start: one that comes while the collector starts is acted on once it runs
    // (SIGHUP's default action would kill the process).
    let collector: Collector | undefined;
    let shuttingDown = false;
    let reloading = false;
    let reloadWanted = false;
    let statusWanted = false;
    const stopCollector = (c: Collector): void => {
      // Exit 0 even if something hangs: whatever is not delivered is already in the spool.
      const hard = setTimeout(() => resolveExit(0), SHUTDOWN_DEADLINE_MS + 2000);
      hard.unref();
      c.stop(SHUTDOWN_DEADLINE_MS)
        .catch((err: unknown) => logger.error({ err: String(err) }, 'error while stopping'))
        .finally(() => {
          clearTimeout(hard);
          removeHandlers();
          resolveExit(0);
        });
    };
    const shutdown = (signal: string): void => {
      if (shuttingDown) return;
      shuttingDown = true;
      logger.info({ signal }, 'stopping');
      if (collector !== undefined) stopCollector(collector);
    };
    // Reloads run one at a time; SIGHUPs that come meanwhile make one more, with the file as it is then.
    const runReloads = (c: Collector): void => {
      if (reloading || !reloadWanted) return;
      reloading = true;
      void (async () => {
        while (reloadWanted && !shuttingDown) {
          reloadWanted = false;
          await reload(configPath, registry, c, logger);
        }
        reloading = false;
      })();
    };
    const onTerm = (): void => shutdown('SIGTERM');
    const onInt = (): void => shutdown('SIGINT');
    const onHup = (): void => {
      // At once, whatever becomes of the reload: logrotate has moved the file and waits for us to let it go.
      try {
        reopenLog();
      } catch (err) {
        io.stderr(`cannot reopen the log file: ${err instanceof Error ? err.message : String(err)}\n`);
      }
      reloadWanted = true;
      if (collector !== undefined) runReloads(collector);
    };
    const onUsr1 = (): void => {
      if (collector === undefined) statusWanted = true;
      else collector.logStatus();
    };
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
    void (async () => {
      let c: Collector;
      try {
        c = await container.resolve(COLLECTOR_FACTORY)();
        await c.start();
      } catch (err) {
        logger.error({ err: err instanceof Error ? err.message : String(err) }, 'collector failed to start');
        io.stderr(`${err instanceof Error ? err.message : String(err)}\n`);
        removeHandlers();
        resolveExit(1);
        return;
      }
      collector = c;
      logger.info({ config: configPath, pid: process.pid, dir: dirname(configPath) }, 'running');
      if (shuttingDown) {
        stopCollector(c);
        return;
      }
      if (statusWanted) c.logStatus();
      runReloads(c);
    })();
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
