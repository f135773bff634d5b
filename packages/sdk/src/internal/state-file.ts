import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { SdkError } from '../errors.js';
import type { RunningScenario } from '../report.js';
import { isRecord } from './http.js';

/** A `begin` that did not reach the API: its `finish` must change nothing either. */
export interface SkippedBegin {
  skipped: true;
}

/**
 * What one `begin` left for its `finish`: the session to restore, null when nothing ran (finish stops), or
 * {@link SkippedBegin} when the begin itself changed nothing.
 */
export type SavedEntry = { scenario: string; step: string } | null | SkippedBegin;

/** What `begin` saved for `finish` on one environment: a stack, so pairs may nest as the shell SDK's did. */
export interface CliState {
  environment: string;
  /** One entry per open `begin`, outermost first. */
  saved: SavedEntry[];
}

/** The entry of a begin that did not reach the API. */
export const SKIPPED_BEGIN: SkippedBegin = Object.freeze({ skipped: true });

export function isSkippedBegin(entry: SavedEntry | undefined): entry is SkippedBegin {
  return entry !== undefined && entry !== null && 'skipped' in entry;
}

/** Default state file: one per environment in the temp dir (override with `--state-file`). */
export function defaultStateFile(environment: string): string {
  return join(tmpdir(), `energyrecorder-${environment.replace(/[^A-Za-z0-9_.-]/g, '_')}.json`);
}

function parseEntry(value: unknown): SavedEntry {
  if (!isRecord(value)) return null;
  if (value['skipped'] === true) return SKIPPED_BEGIN;
  return typeof value['scenario'] === 'string' && typeof value['step'] === 'string'
    ? { scenario: value['scenario'], step: value['step'] }
    : null;
}

/**
 * Every environment's stack in the file. The file is `{"version": 2, "environments": {"<env>": [...]}}`, so one
 * file may be shared by jobs on several environments; the first format, `{"environment", "saved"}`, holding a
 * single environment, still loads. A missing file or an unknown shape reads as empty.
 */
function readAll(file: string): Map<string, SavedEntry[]> {
  const all = new Map<string, SavedEntry[]>();
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return all;
  }
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (err) {
    throw new SdkError('ER_SDK_STATE_FILE', `${file} is not JSON`, { cause: err });
  }
  if (!isRecord(value)) return all;
  const environments = value['environments'];
  if (isRecord(environments)) {
    for (const [environment, saved] of Object.entries(environments)) {
      if (Array.isArray(saved)) all.set(environment, saved.map(parseEntry));
    }
  } else if (typeof value['environment'] === 'string' && Array.isArray(value['saved'])) {
    all.set(value['environment'], value['saved'].map(parseEntry));
  }
  return all;
}

/** Reads the state of `environment`, empty when the file does not exist or holds nothing for it. */
export function readState(file: string, environment: string): CliState {
  return { environment, saved: readAll(file).get(environment) ?? [] };
}

/**
 * Replaces the stack of `state.environment` in the file, keeping the other environments' stacks as they are in
 * the file now. Written atomically (temp file + rename), so a killed job never leaves half a file.
 */
export function writeState(file: string, state: CliState): void {
  const all = readAll(file);
  if (state.saved.length === 0) all.delete(state.environment);
  else all.set(state.environment, state.saved);
  try {
    mkdirSync(dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify({ version: 2, environments: Object.fromEntries(all) })}\n`, { mode: 0o600 });
    renameSync(tmp, file);
  } catch (err) {
    throw new SdkError('ER_SDK_STATE_FILE', `cannot write ${file}`, { cause: err });
  }
}

/** Keeps only what `finish` needs from a running-scenario answer. */
export function toSaved(current: RunningScenario | null): SavedEntry {
  return current === null ? null : { scenario: current.scenario, step: current.step };
}
