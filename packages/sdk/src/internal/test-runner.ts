import { createHash } from 'node:crypto';
import { relative } from 'node:path';
import type { Logger } from '@energyrecorder/core';
// The subpath, not the package: core's main entry would load zod and its config schemas into every test process.
import { MAX_NAME_LENGTH, NAME_FORBIDDEN_CHARACTERS, NAME_UNSTORABLE_BACKSLASH } from '@energyrecorder/core/names';
import { stderrLogger } from './logger.js';

/** Hooks run a few API calls, each bounded by the recorder's timeout; Jest's 5 s and Mocha's 2 s are too short. */
export const HOOK_TIMEOUT_MS = 30_000;

/** Default scenario of a test file: its path relative to the working directory, with `/` on every platform. */
export function scenarioOfTestFile(file: string): string {
  return relative(process.cwd(), file).split('\\').join('/');
}

/** Default logger of the test-runner integrations: stderr at `ENERGY_RECORDER_LOG_LEVEL` (default `warn`). */
export function testRunnerLogger(): Logger {
  return stderrLogger(process.env['ENERGY_RECORDER_LOG_LEVEL'] ?? 'warn');
}

// What the API refuses in a name (core's rules): C0/C1 controls, Unicode non-characters and lone surrogates.
const REFUSED = new RegExp(NAME_FORBIDDEN_CHARACTERS.source, 'gu');
// Backslashes InfluxDB 1.x cannot store as written (before a space, comma, `=` or at the end).
const UNSTORABLE = new RegExp(NAME_UNSTORABLE_BACKSLASH.source, 'g');

/**
 * A test title or file path turned into a name the API takes: each control character (a newline of a
 * `test.each` title, a tab), non-character or lone surrogate becomes a space, so does a backslash the API refuses
 * (before a space, comma or `=`, or at the end),
 * and a name longer than 1024 characters is cut, ending with `…` and a hash of the whole name so that two long
 * titles sharing their first thousand characters stay apart.
 */
export function apiName(raw: string): string {
  let name = raw.replace(REFUSED, ' ');
  if (name.length > MAX_NAME_LENGTH) {
    const tag = `…${createHash('sha256').update(raw).digest('hex').slice(0, 12)}`;
    name = name.slice(0, MAX_NAME_LENGTH - tag.length);
    // Never leave half of a surrogate pair at the cut.
    if (/[\ud800-\udbff]$/.test(name)) name = name.slice(0, -1);
    name += tag;
  }
  // Until none is left: in `a\\ b`, replacing the second backslash puts the first one before a space.
  for (let before = ''; before !== name; ) {
    before = name;
    name = name.replace(UNSTORABLE, ' ');
  }
  return name;
}
