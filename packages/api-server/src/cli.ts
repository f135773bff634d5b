import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { caseVariantConfigKeys, ConfigError, unknownConfigKeys, webappSettingsSchema, type WebappSettings } from '@energyrecorder/core';
import { parseWebappSettings, type ApiServer } from './index.js';
import { buildContainer } from './container.js';
import { TOKENS } from './tokens.js';

const HELP = `energyrecorder-api: the EnergyRecorder recording REST API

Usage: energyrecorder-api [options]

Options:
  --config <file>   webapp-settings.yaml (the original format loads unchanged); default: none
                    (embedded store ./energyrecorder.db, BIND 0.0.0.0:8888)
  --port <n>        listen port (overrides BIND)
  --host <addr>     listen address (overrides BIND)
  --store <path>    embedded store file (overrides STORE.path; ignored with INFLUX)
  --check-config    validate the configuration, print a summary and exit (0 valid, 2 invalid)
  -h, --help        this help

Signals: SIGTERM/SIGINT finish in-flight requests, flush MQTT, close the store, exit 0.`;

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
  try {
    if (v.config !== undefined) {
      const text = readFileSync(v.config, 'utf8');
      try {
        raw = parseYaml(text) ?? {};
      } catch (err) {
        throw new ConfigError([{ path: '', message: `YAML: ${(err as Error).message}` }], { source: v.config });
      }
    }
    // `auth:` for `AUTH:` would be ignored, and the API would run without the protection the file asks for.
    const variants = caseVariantConfigKeys(webappSettingsSchema, raw);
    if (variants.length > 0) {
      throw new ConfigError(
        variants.map(([given, known]) => ({ path: given, message: `write it ${known}: keys are case-sensitive, and this section would be ignored` })),
        { source: v.config ?? 'defaults' },
      );
    }
    settings = parseWebappSettings(raw, v.config ?? 'defaults');
  } catch (err) {
    console.error(err instanceof ConfigError ? err.message : `cannot read configuration: ${(err as Error).message}`);
    return 2;
  }
  // Unknown keys are ignored, as the original did, but a typo would silently keep a default: say so.
  for (const key of unknownConfigKeys(webappSettingsSchema, raw)) {
    console.error(`warning: unknown setting ${key} ignored (a typo?)${v.config === undefined ? '' : ` in ${v.config}`}`);
  }
  if (v['check-config'] === true) {
    const store = settings.INFLUX === undefined ? `embedded ${v.store ?? settings.STORE.path}` : `InfluxDB ${settings.INFLUX.host} db ${settings.INFLUX.db}`;
    console.log(
      [
        `configuration OK${v.config === undefined ? ' (defaults)' : `: ${v.config}`}`,
        `  store: ${store}`,
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
  const api = c.resolve<ApiServer>(TOKENS.apiServer);
  const url = await api.listen();
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
