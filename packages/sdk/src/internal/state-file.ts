import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { SdkError } from '../errors.js';
import type { RunningScenario } from '../report.js';
import { isRecord } from './http.js';

/** What `begin` saved for `finish`: a stack, so `begin`/`finish` pairs may nest as the shell SDK's did. */
export interface CliState {
  environment: string;
  /** The session that ran before each open `begin`, outermost first; null when nothing ran. */
  saved: ({ scenario: string; step: string } | null)[];
}

/** Default state file: one per environment in the temp dir (override with `--state-file`). */
export function defaultStateFile(environment: string): string {
  return join(tmpdir(), `energyrecorder-${environment.replace(/[^A-Za-z0-9_.-]/g, '_')}.json`);
}

/** Reads the state, or an empty one when the file does not exist or belongs to another environment. */
export function readState(file: string, environment: string): CliState {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return { environment, saved: [] };
  }
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (err) {
    throw new SdkError('ER_SDK_STATE_FILE', `${file} is not JSON`, { cause: err });
  }
  if (!isRecord(value) || value['environment'] !== environment || !Array.isArray(value['saved'])) {
    return { environment, saved: [] };
  }
  const saved = value['saved'].map((s: unknown) =>
    isRecord(s) && typeof s['scenario'] === 'string' && typeof s['step'] === 'string' ? { scenario: s['scenario'], step: s['step'] } : null,
  );
  return { environment, saved };
}

/** Writes the state atomically (temp file + rename), so a killed job never leaves half a file. */
export function writeState(file: string, state: CliState): void {
  try {
    mkdirSync(dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(state)}\n`, { mode: 0o600 });
    renameSync(tmp, file);
  } catch (err) {
    throw new SdkError('ER_SDK_STATE_FILE', `cannot write ${file}`, { cause: err });
  }
}

/** Keeps only what `finish` needs from a running-scenario answer. */
export function toSaved(current: RunningScenario | null): CliState['saved'][number] {
  return current === null ? null : { scenario: current.scenario, step: current.step };
}
