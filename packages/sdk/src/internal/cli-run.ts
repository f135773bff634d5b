import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { splitUrlCredentials } from '@energyrecorder/core/url';
import { SdkError } from '../errors.js';
import { EnergyRecorder } from '../recorder.js';
import { formatReportTable } from '../report.js';
import { readEnergyConf } from './energy-conf.js';
import { stderrLogger } from './logger.js';
import { SKIPPED_BEGIN, defaultStateFile, isSkippedBegin, readState, toSaved, writeState } from './state-file.js';

/** Where the CLI prints: injected so tests run it in-process. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

export const CLI_USAGE = `Usage: energyrecorder <command> [options]

Marks scenarios and steps on an environment of the EnergyRecorder API (for shell harnesses and CI jobs).

Commands:
  begin <scenario>   save what runs now, then start <scenario> at step "running"
  step <name>        set the step of what runs now
  finish             restore what ran before the matching "begin" (or stop); does nothing when that
                     "begin" did not reach the API
  start <scenario>   start <scenario> at step "running" (nothing saved)
  submit <scenario> <step>
                     declare that <scenario> runs at <step> (nothing saved)
  stop               stop whatever runs
  status             print the scenario and step running now (exit 1: nothing runs, 3: API unreachable or failing)
  report             energy per step of the last session (or --scenario S)

The shell SDK's names work too: begin-session, set-step, finish-session, submit-scenario,
get-current-scenario.

Options:
  --config <file>        read the shell SDK's energy.conf (ENERGY_ENVIRONMENT_NAME, ENERGY_API_URL,
                         ENERGY_API_USER, ENERGY_API_PASSWORD, ENERGY_LOG_LEVEL); it wins over the
                         environment variables, options win over it
  --env <name>           environment (default: $NODE_NAME)
  --api-url <url>        API base including /resources (default: $ENERGY_RECORDER_API_URL)
  --timeout-ms <ms>      deadline of each call (default 4000)
  --state-file <path>    where begin/finish keep the saved sessions, one stack per environment
                         ($ENERGY_RECORDER_STATE_FILE)
  --scenario <name>      report: scenario to report (default: the latest session)
  --format <f>           report: table (default), json or csv
  --wait-ms <ms>         report: wait up to this long for the last samples (default 0)
  --strict               exit 1 when a call did not reach the API (default: never fail the job); a
                         failed finish then keeps its saved session, so retrying it restores it
  --quiet                log nothing
  -h, --help             this text

Credentials come only from $ENERGY_RECORDER_API_USER and $ENERGY_RECORDER_API_PASSWORD, or the
user:pass@ part of $ENERGY_RECORDER_API_URL (or --config); never from arguments, which other users can read.
`;

/** The shell SDK's function names (`energy-recorder-<name>`), accepted as commands. */
const SHELL_SDK_NAMES: Readonly<Record<string, string>> = Object.freeze({
  'begin-session': 'begin',
  'set-step': 'step',
  'finish-session': 'finish',
  'submit-scenario': 'submit',
  'get-current-scenario': 'status',
});

/** Number of positional arguments each command takes. */
const ARITY: Readonly<Record<string, number>> = Object.freeze({
  begin: 1,
  step: 1,
  start: 1,
  submit: 2,
  finish: 0,
  stop: 0,
  status: 0,
  report: 0,
});

/**
 * Runs one CLI command and returns the exit code. Marking commands exit 0 even when the API is unreachable
 * (like the shell SDK, recording must not fail a CI job) unless `--strict`; `status` and `report` exit 1 when
 * they have nothing to print, 2 on usage errors; `status` exits 3 when the API cannot be reached or fails to answer.
 */
export async function runCli(argv: readonly string[], io: CliIo, callerEnv: Record<string, string | undefined>): Promise<number> {
  let env = callerEnv;
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        config: { type: 'string' },
        env: { type: 'string' },
        'api-url': { type: 'string' },
        'timeout-ms': { type: 'string' },
        'state-file': { type: 'string' },
        scenario: { type: 'string' },
        format: { type: 'string' },
        'wait-ms': { type: 'string' },
        strict: { type: 'boolean' },
        quiet: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    io.err(`${err instanceof Error ? err.message : String(err)}\n\n${CLI_USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [given, ...args] = positionals;
  if (values.help === true || given === undefined || given === 'help') {
    io.out(CLI_USAGE);
    return given === undefined && values.help !== true ? 2 : 0;
  }
  const command = SHELL_SDK_NAMES[given] ?? given;
  const arity = ARITY[command];
  if (arity === undefined) {
    io.err(`unknown command "${given}"\n\n${CLI_USAGE}`);
    return 2;
  }
  if (args.length !== arity || args.some((a) => a === '')) {
    io.err(`"${given}" takes ${arity === 0 ? 'no argument' : arity === 1 ? 'exactly one argument' : `exactly ${arity} arguments`}\n`);
    return 2;
  }
  const [arg = '', arg2 = ''] = args;
  if (values.config !== undefined) {
    if (!existsSync(values.config)) {
      // As the shell SDK, whose `energy.sh` only disabled recording when energy.conf was missing: a CI job
      // goes on, and only --strict turns it into a failure.
      const quietLog = stderrLogger(values.quiet === true ? 'silent' : (env['ENERGY_RECORDER_LOG_LEVEL'] ?? 'warn'));
      quietLog.warn({ config: values.config }, 'configuration file not found; recording is off');
      if (command === 'status') {
        io.err(`configuration file ${values.config} not found: cannot tell what runs\n`);
        return 3;
      }
      if (command === 'report') {
        io.err(`configuration file ${values.config} not found: no report\n`);
        return 1;
      }
      return values.strict === true ? 1 : 0;
    }
    try {
      env = { ...env, ...readEnergyConf(values.config) };
    } catch (err) {
      io.err(`${err instanceof Error ? err.message : String(err)}\n`);
      return 2;
    }
  }
  const format = values.format ?? 'table';
  if (!['table', 'json', 'csv'].includes(format)) {
    io.err(`--format must be table, json or csv\n`);
    return 2;
  }
  const waitMs = values['wait-ms'] === undefined ? 0 : Number(values['wait-ms']);
  if (!Number.isInteger(waitMs) || waitMs < 0) {
    io.err('--wait-ms must be an integer >= 0\n');
    return 2;
  }

  const apiUrlArg = values['api-url'];
  if (apiUrlArg !== undefined) {
    const split = splitUrlCredentials(apiUrlArg);
    if (split.user !== undefined || split.pass !== undefined) {
      // The process list shows arguments to every user of the machine; the variables and --config do not.
      io.err('--api-url must not carry credentials: give them in ENERGY_RECORDER_API_URL, ENERGY_RECORDER_API_USER/_PASSWORD or --config\n');
      return 2;
    }
  }

  const logger = stderrLogger(values.quiet === true ? 'silent' : (env['ENERGY_RECORDER_LOG_LEVEL'] ?? 'warn'));
  let recorder: EnergyRecorder;
  try {
    const overrides: { environment?: string; apiUrl?: string; timeoutMs?: number; logger: typeof logger } = { logger };
    if (values.env !== undefined) overrides.environment = values.env;
    if (apiUrlArg !== undefined) overrides.apiUrl = apiUrlArg;
    if (values['timeout-ms'] !== undefined) overrides.timeoutMs = Number(values['timeout-ms']);
    // Each command probes for itself: the back-off other processes note in the temp dir is for test runners.
    recorder = EnergyRecorder.fromEnvInternal(env, overrides, false);
  } catch (err) {
    io.err(`${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
  const strict = values.strict === true;
  const done = (ok: boolean): number => (ok || !strict ? 0 : 1);
  const stateFile = values['state-file'] ?? env['ENERGY_RECORDER_STATE_FILE'] ?? defaultStateFile(recorder.environment);

  try {
    switch (command) {
      case 'begin': {
        const up = await recorder.ping();
        const state = readState(stateFile, recorder.environment);
        // Written before the start, so a state file that cannot be written stops `begin` before it changes anything.
        state.saved.push(up ? toSaved(await recorder.getCurrentScenario()) : SKIPPED_BEGIN);
        writeState(stateFile, state);
        const ok = up && (await recorder.start(arg));
        if (!ok) {
          // Nothing changed on the environment, so the matching finish must change nothing either: restoring
          // or stopping then would end a session this begin never replaced (an outer nightly job's, say).
          if (up) {
            state.saved[state.saved.length - 1] = SKIPPED_BEGIN;
            writeState(stateFile, state);
          }
          logger.info({ scenario: arg, stateFile }, 'begin did not reach the recording API; its finish will do nothing');
        }
        return done(ok);
      }
      case 'finish': {
        const state = readState(stateFile, recorder.environment);
        const saved = state.saved.at(-1);
        if (saved === undefined) {
          logger.warn({ stateFile }, 'finish without a matching begin: stopping');
          return done(await recorder.stop());
        }
        if (isSkippedBegin(saved)) {
          state.saved.pop();
          writeState(stateFile, state);
          logger.info({ stateFile }, 'the matching begin did not reach the recording API: nothing to restore');
          return 0;
        }
        const ok = saved === null ? await recorder.stop() : await recorder.submitScenario(saved.scenario, saved.step);
        // Under --strict a failed restore keeps its entry and exits 1, so a retried finish restores the same
        // level. Without it nothing retries, and the next finish belongs to the enclosing begin: the entry goes.
        if (ok || !strict) {
          state.saved.pop();
          writeState(stateFile, state);
        } else {
          logger.warn({ stateFile }, 'restore failed; the saved session is kept for a retried finish');
        }
        return done(ok);
      }
      case 'step': {
        // After a begin that did not reach the API, the step would change whatever runs there (an outer job's).
        if (isSkippedBegin(readState(stateFile, recorder.environment).saved.at(-1))) {
          logger.info({ step: arg, stateFile }, 'the enclosing begin did not reach the recording API: step not sent');
          return 0;
        }
        return done(await recorder.setStep(arg));
      }
      case 'start':
        return done(await recorder.start(arg));
      case 'submit':
        return done(await recorder.submitScenario(arg, arg2));
      case 'stop':
        return done(await recorder.stop());
      case 'status': {
        // "Nothing runs" (exit 1) must not be said of an API that was not reached: that is exit 3.
        if (!(await recorder.ping())) {
          io.err(`recording API unreachable at ${recorder.apiUrl}: cannot tell what runs on ${recorder.environment}\n`);
          return 3;
        }
        const lookup = await recorder.lookupCurrentScenario();
        if (!lookup.ok) {
          const why = lookup.status === undefined ? 'did not answer' : `answered ${lookup.status}`;
          io.err(`recording API ${why} when asked what runs on ${recorder.environment}: cannot tell\n`);
          return 3;
        }
        const current = lookup.value;
        if (current === null) {
          io.out(format === 'json' ? 'null\n' : `nothing running on ${recorder.environment}\n`);
          return 1;
        }
        io.out(format === 'json' ? `${JSON.stringify(current)}\n` : `${current.scenario}\t${current.step}\n`);
        return 0;
      }
      default:
        return await report(recorder, io, { scenario: values.scenario, format, waitMs });
    }
  } catch (err) {
    io.err(`${err instanceof SdkError ? `${err.code}: ` : ''}${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

async function report(
  recorder: EnergyRecorder,
  io: CliIo,
  opts: { scenario: string | undefined; format: string; waitMs: number },
): Promise<number> {
  const noReport = (): number => {
    io.err(`no report for ${recorder.environment}${opts.scenario === undefined ? '' : ` / ${opts.scenario}`}\n`);
    return 1;
  };
  if (opts.format === 'csv') {
    // The API renders CSV itself (the same columns for every consumer), so it is passed through untouched.
    const csv = await recorder.reportCsv({ waitMs: opts.waitMs, ...(opts.scenario === undefined ? {} : { scenario: opts.scenario }) });
    if (csv === null) return noReport();
    io.out(csv.endsWith('\n') ? csv : `${csv}\n`);
    return 0;
  }
  const options: { scenario?: string; waitMs: number } = { waitMs: opts.waitMs };
  if (opts.scenario !== undefined) options.scenario = opts.scenario;
  const result = await recorder.report(options);
  if (result === null) return noReport();
  io.out(opts.format === 'json' ? `${JSON.stringify(result, null, 2)}\n` : `${formatReportTable(result)}\n`);
  return 0;
}
