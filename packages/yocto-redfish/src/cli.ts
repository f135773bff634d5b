import { parseArgs } from 'node:util';
import { EnergyRecorderError } from '@energyrecorder/core';
import { buildContainer } from './container.js';
import { SERVICE } from './tokens.js';
import type { RedfishService } from './redfish-service.js';
import { parseBind, parseSettings, readSettingsFile, type YoctoRedfishSettings } from './settings.js';
import { VERSION } from './index.js';

const HELP = `yocto-redfish ${VERSION}: serves USB watt meters as a Redfish service.

Usage:
  yocto-redfish [--config <file>] [--host <addr>] [--port <n>]
  yocto-redfish --simulate <profile> [--host <addr>] [--port <n>]
  yocto-redfish --check-config [--config <file>]

Options:
  -c, --config <file>     settings file (default conf/webapp-settings.yaml, as the original)
      --check-config      validate the settings, print every problem as "path: message" (and a
                          warning for every unknown key), and exit
      --host <addr>       listen address (overrides BIND)
  -p, --port <n>          listen port (overrides BIND; 0 picks a free one)
      --simulate <prof>   serve one simulated meter, no settings file needed. Profiles:
                            constant:200   steps:100@10s,300@10s   ramp:100-400/60s
                            sine:200+-50/30s   noise:200+-5/1s;seed=42   csv:<file>
  -h, --help              this help
  -v, --version           print the version

Exit codes: 0 ok, 1 runtime failure, 2 invalid settings or arguments.
`;

/** Runs the CLI; resolves with the exit code once the service stops (or at once for --help/--check-config). */
export async function runCli(argv: readonly string[], io: { out: (s: string) => void; err: (s: string) => void } = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
}): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        config: { type: 'string', short: 'c' },
        'check-config': { type: 'boolean' },
        host: { type: 'string' },
        port: { type: 'string', short: 'p' },
        simulate: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    io.err(`${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (values.help === true) {
    io.out(HELP);
    return 0;
  }
  if (values.version === true) {
    io.out(`${VERSION}\n`);
    return 0;
  }
  let settings: YoctoRedfishSettings;
  try {
    const source = values.simulate !== undefined ? '--simulate' : (values.config ?? 'conf/webapp-settings.yaml');
    // Unreadable TLS and csv files are listed with the schema's problems, not only once the rest is valid.
    if (values.simulate !== undefined) {
      settings = parseSettings({ POWERMETERS: [{ driver: 'simulated', profile: values.simulate }] }, source, { checkFiles: true });
    } else {
      const loaded = readSettingsFile(source, { checkFiles: true });
      settings = loaded.settings;
      // Unknown keys are ignored, as the original did, but a typo would silently keep a default: say so.
      for (const w of loaded.warnings) io.err(`warning: ${w} in ${source}\n`);
      for (const key of loaded.unknownKeys) io.err(`warning: unknown setting ${key} ignored (a typo?) in ${source}\n`);
    }
  } catch (err) {
    io.err(`${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
  if (values['check-config'] === true) {
    io.out(`settings OK: ${settings.POWERMETERS.length} meter(s), bind ${settings.BIND}\n`);
    return 0;
  }
  const bind = parseBind(settings.BIND);
  const port = values.port === undefined ? bind.port : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    // BIND is checked when the settings load, so this can only be the option.
    io.err(`--port: "${values.port ?? ''}" is not a port number\n`);
    return 2;
  }
  let service: RedfishService;
  try {
    service = buildContainer(settings, { host: values.host ?? bind.host, port }).resolve(SERVICE);
  } catch (err) {
    io.err(`cannot start: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  try {
    const url = await service.listen();
    io.out(`yocto-redfish listening on ${url}/redfish/v1/\n`);
  } catch (err) {
    io.err(`cannot listen: ${err instanceof EnergyRecorderError || err instanceof Error ? err.message : String(err)}\n`);
    await service.close();
    return 1;
  }
  return new Promise<number>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      service.close().then(
        () => resolve(0),
        () => resolve(1),
      );
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
