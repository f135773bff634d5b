import { accessSync, constants as fsConstants, readFileSync, statSync, type Stats } from 'node:fs';
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as YAML from 'yaml';
import {
  caseVariantConfigKeys,
  parseSettingsYaml,
  ConfigError,
  unknownConfigKeys,
  webappSettingsSchema,
  type ConfigIssue,
  type Logger,
  type WebappSettings,
} from '@energyrecorder/core';
import { parseWebappSettings, type ApiServer } from './index.js';
import { buildContainer } from './container.js';
import { TOKENS } from './tokens.js';

/**
 * Where the original API read its settings: relative to its working directory, with no option or environment
 * variable to change it (seed-behaviour §1.1; its image mounted `.../recording-api/conf/`).
 */
export const DEFAULT_CONFIG_PATH = 'conf/webapp-settings.yaml';

const HELP = `energyrecorder-api: the EnergyRecorder recording REST API

Usage: energyrecorder-api [options]

Options:
  --config <file>   webapp-settings.yaml (the original format loads unchanged); default:
                    ${DEFAULT_CONFIG_PATH} (the original's path, relative to the working directory) when
                    it exists, else built-in defaults (embedded store ./energyrecorder.db, BIND 0.0.0.0:8888)
  --port <n>        listen port (overrides BIND)
  --host <addr>     listen address (overrides BIND)
  --store <path>    embedded store file (overrides STORE.path; ignored with INFLUX)
  --check-config    validate the configuration, print a summary and exit (0 valid, 2 invalid)
  -h, --help        this help

Signals: SIGTERM/SIGINT finish in-flight requests, flush MQTT, close the store, exit 0.`;

/**
 * Why the file `path` cannot be opened for writing (it, or the directory it would be created in, which neither
 * the log stream nor SQLite creates); `undefined` when it can.
 */
function writableFileProblem(path: string): string | undefined {
  const access = (p: string): string | undefined => {
    try {
      accessSync(p, fsConstants.W_OK);
      return undefined;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code ?? String(err);
    }
  };
  const stat = (p: string) => {
    try {
      return statSync(p, { throwIfNoEntry: false });
    } catch {
      return undefined;
    }
  };
  const st = stat(path);
  if (st?.isDirectory() === true) return 'is a directory';
  if (st !== undefined) {
    const code = access(path);
    return code === undefined ? undefined : `not writable (${code})`;
  }
  const dir = dirname(path);
  const dst = stat(dir);
  if (dst === undefined) return `directory ${dir} does not exist`;
  if (!dst.isDirectory()) return `${dir} is not a directory`;
  const code = access(dir);
  return code === undefined ? undefined : `cannot be created: directory ${dir} is not writable (${code})`;
}

/**
 * Why the directory `path` cannot hold the files the API writes into it (the InfluxDB write queue), given that
 * the API creates it recursively at start: it must be a writable directory, or, when missing, its nearest
 * existing ancestor must be; `undefined` when it can.
 */
function writableDirProblem(path: string): string | undefined {
  let at = path;
  for (;;) {
    let st: Stats | undefined;
    try {
      st = statSync(at, { throwIfNoEntry: false });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? String(err);
      // A file on the way (`a-file/queue`): the walk up finds it and names it.
      if (code !== 'ENOTDIR') return `cannot be checked: ${at} (${code})`;
    }
    if (st === undefined) {
      const parent = dirname(at);
      if (parent === at) return 'no existing parent directory';
      at = parent;
      continue;
    }
    const existing = at === path;
    if (!st.isDirectory()) return existing ? 'is not a directory' : `cannot be created: ${at} is not a directory`;
    try {
      // Files are created inside it: it must be searchable as well as writable.
      accessSync(at, fsConstants.W_OK | fsConstants.X_OK);
      return undefined;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? String(err);
      return existing ? `not writable (${code})` : `cannot be created: directory ${at} is not writable (${code})`;
    }
  }
}

/** Whether something is at `path`; other errors than "no such file" (EACCES) are thrown, not read as absence. */
function fileExists(path: string): boolean {
  try {
    return statSync(path, { throwIfNoEntry: false }) !== undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') return false;
    throw err;
  }
}

function readProblem(path: string): { text?: string; problem?: string } {
  try {
    return { text: readFileSync(path, 'utf8') };
  } catch (err) {
    return { problem: `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}` };
  }
}

/** Why a CA file holds no usable certificate (Node's TLS takes PEM only); `undefined` when it is fine. */
function caFileProblem(path: string): string | undefined {
  const { text, problem } = readProblem(path);
  if (text === undefined) return problem;
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) return `${path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`;
  for (const [i, block] of blocks.entries()) {
    try {
      new X509Certificate(block);
    } catch (err) {
      return `certificate ${i + 1} of ${path} does not parse: ${(err as Error).message}`;
    }
  }
  return undefined;
}

/**
 * The files the settings name, checked as the API will use them: TLS certificate and key (PEM, and matching),
 * the CA files, the log file, the embedded store file (`storePath`, the `--store` override) and the InfluxDB
 * write queue's directory. The schema cannot see these; without this check, `--check-config` passed and the
 * start died on the first one.
 */
export function checkSettingsFiles(settings: WebappSettings, storePath?: string): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (settings.TLS !== undefined) {
    let cert: X509Certificate | undefined;
    let key: KeyObject | undefined;
    const c = readProblem(settings.TLS.cert_file);
    if (c.text === undefined) issues.push({ path: 'TLS.cert_file', message: c.problem ?? '' });
    else {
      try {
        cert = new X509Certificate(c.text);
      } catch (err) {
        issues.push({ path: 'TLS.cert_file', message: `${settings.TLS.cert_file} is not a PEM certificate: ${(err as Error).message}` });
      }
    }
    const k = readProblem(settings.TLS.key_file);
    if (k.text === undefined) issues.push({ path: 'TLS.key_file', message: k.problem ?? '' });
    else {
      try {
        key = createPrivateKey(k.text);
      } catch (err) {
        issues.push({ path: 'TLS.key_file', message: `${settings.TLS.key_file} is not an unencrypted PEM private key: ${(err as Error).message}` });
      }
    }
    if (cert !== undefined && key !== undefined && !cert.checkPrivateKey(key)) {
      issues.push({ path: 'TLS.key_file', message: `${settings.TLS.key_file} is not the key of the certificate in TLS.cert_file (${settings.TLS.cert_file})` });
    }
  }
  for (const [path, file] of [
    ['INFLUX.ca_file', settings.INFLUX?.ca_file],
    ['MQTT.ca_file', settings.MQTT?.ca_file],
  ] as const) {
    const problem = file === undefined ? undefined : caFileProblem(file);
    if (problem !== undefined) issues.push({ path, message: problem });
  }
  if (settings.LOG.file !== undefined) {
    const problem = writableFileProblem(resolve(settings.LOG.file));
    if (problem !== undefined) issues.push({ path: 'LOG.file', message: `${settings.LOG.file}: ${problem}` });
  }
  if (settings.INFLUX?.queue === true) {
    const dir = settings.INFLUX.queue_dir;
    const problem = writableDirProblem(resolve(dir));
    if (problem !== undefined) issues.push({ path: 'INFLUX.queue_dir', message: `${dir}: ${problem}` });
  }
  const store = storePath ?? settings.STORE.path;
  if (settings.INFLUX === undefined && store !== ':memory:') {
    const problem = writableFileProblem(resolve(store));
    if (problem !== undefined) issues.push({ path: storePath === undefined ? 'STORE.path' : '--store', message: `${store}: ${problem}` });
  }
  return issues;
}

/** Runs the CLI; resolves with the exit code (or never, while serving). */
export async function runCli(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        config: { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        store: { type: 'string' },
        'check-config': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  const v = args.values;
  if (v.help === true) {
    console.log(HELP);
    return 0;
  }
  let port: number | undefined;
  if (v.port !== undefined) {
    port = Number(v.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      console.error(`--port: expected an integer 0-65535, got "${v.port}"`);
      return 2;
    }
  }
  let settings: WebappSettings;
  let raw: unknown = {};
  let yamlWarnings: string[] = [];
  // A migrating user starts the API where the original ran, without --config: its file must not be ignored
  // (the API would run on the embedded store, and InfluxDB would silently stop getting data).
  let configPath = v.config;
  let origin: string;
  try {
    if (configPath === undefined && fileExists(DEFAULT_CONFIG_PATH)) configPath = DEFAULT_CONFIG_PATH;
    origin =
      v.config !== undefined
        ? v.config
        : configPath !== undefined
          ? `${configPath} (the original's default path, in ${process.cwd()}; no --config given)`
          : `defaults (no --config, and no ${DEFAULT_CONFIG_PATH} in ${process.cwd()})`;
    if (configPath !== undefined) {
      const text = readFileSync(configPath, 'utf8');
      try {
        const parsed = parseSettingsYaml(text, YAML);
        raw = parsed.value ?? {};
        yamlWarnings = parsed.warnings;
      } catch (err) {
        throw new ConfigError([{ path: '', message: `YAML: ${(err as Error).message}` }], { source: configPath });
      }
    }
    // `auth:` for `AUTH:` would be ignored, and the API would run without the protection the file asks for.
    const variants = caseVariantConfigKeys(webappSettingsSchema, raw);
    if (variants.length > 0) {
      throw new ConfigError(
        variants.map(([given, known]) => ({ path: given, message: `write it ${known}: keys are case-sensitive, and this section would be ignored` })),
        { source: configPath ?? 'defaults' },
      );
    }
    settings = parseWebappSettings(raw, configPath ?? 'defaults');
  } catch (err) {
    console.error(err instanceof ConfigError ? err.message : `cannot read configuration: ${(err as Error).message}`);
    return 2;
  }
  // A key written twice (the original's PyYAML kept the last, as we do) is probably a mistake: say so.
  for (const w of yamlWarnings) console.error(`warning: ${w} in ${configPath ?? 'defaults'}`);
  // Unknown keys are ignored, as the original did, but a typo would silently keep a default: say so.
  for (const key of unknownConfigKeys(webappSettingsSchema, raw)) {
    console.error(`warning: unknown setting ${key} ignored (a typo?)${configPath === undefined ? '' : ` in ${configPath}`}`);
  }
  // Checked before anything starts (the embedded store would create its file first), for a real start too.
  const fileIssues = checkSettingsFiles(settings, v.store);
  if (fileIssues.length > 0) {
    console.error(new ConfigError(fileIssues, { source: configPath ?? 'defaults' }).message);
    return 2;
  }
  if (v['check-config'] === true) {
    const store = settings.INFLUX === undefined ? `embedded ${v.store ?? settings.STORE.path}` : `InfluxDB ${settings.INFLUX.host} db ${settings.INFLUX.db}`;
    console.log(
      [
        `configuration OK: ${origin}`,
        `  store: ${store}`,
        ...(settings.INFLUX === undefined
          ? []
          : [
              `  InfluxDB write queue: ${
                settings.INFLUX.queue
                  ? `${settings.INFLUX.queue_dir} (${resolve(settings.INFLUX.queue_dir)}), at most ${settings.INFLUX.queue_max_bytes} bytes`
                  : 'off (a batch is acknowledged once influxd stored it)'
              }`,
            ]),
        `  listen: ${v.host ?? settings.BIND.split(':')[0]}:${port ?? settings.BIND.split(':').pop()}`,
        `  ALWAYS_RECORD: ${settings.ALWAYS_RECORD}`,
        `  MQTT: ${settings.MQTT === undefined ? 'off' : `${settings.MQTT.host}:${settings.MQTT.port} base "${settings.MQTT.base_path}"`}`,
        `  AUTH: ${settings.AUTH === undefined ? 'off' : `${settings.AUTH.users.length} user(s)`}`,
        `  TLS: ${settings.TLS === undefined ? 'off' : 'on'}`,
      ].join('\n'),
    );
    return 0;
  }
  const c = buildContainer(settings, {
    ...(port === undefined ? {} : { port }),
    ...(v.host === undefined ? {} : { host: v.host }),
    ...(v.store === undefined ? {} : { storePath: v.store }),
  });
  console.error(`energyrecorder-api configuration: ${origin}`);
  c.resolve<Logger>(TOKENS.logger).info({ config: configPath ?? null, defaultPath: v.config === undefined && configPath !== undefined }, `configuration: ${origin}`);
  const api = c.resolve<ApiServer>(TOKENS.apiServer);
  let url: string;
  try {
    url = await api.listen();
  } catch (err) {
    // A port in use, an address not on this host: one line, not a stack trace.
    console.error(`energyrecorder-api cannot start: ${(err as Error).message}`);
    await api.close().catch(() => undefined);
    return 1;
  }
  console.error(`energyrecorder-api listening on ${url}/resources (docs: ${url}/resources/doc/)`);
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      console.error(`${signal}: finishing in-flight requests`);
      const force = setTimeout(() => resolve(1), 15_000);
      force.unref();
      api
        .close()
        .then(() => resolve(0))
        .catch((err: unknown) => {
          console.error(`close failed: ${(err as Error).message}`);
          resolve(1);
        });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
