import { readFileSync } from 'node:fs';
import { configError } from '../errors.js';

/** Variables of the original shell SDK's `energy.conf`, and the SDK variable each one stands for. */
const CONF_TO_ENV: Readonly<Record<string, string>> = Object.freeze({
  ENERGY_ENVIRONMENT_NAME: 'NODE_NAME',
  ENERGY_API_URL: 'ENERGY_RECORDER_API_URL',
  ENERGY_API_USER: 'ENERGY_RECORDER_API_USER',
  ENERGY_API_PASSWORD: 'ENERGY_RECORDER_API_PASSWORD',
});

// energy.sh defined LOG_ERROR=0 .. LOG_DEBUG=3 and energy.conf set ENERGY_LOG_LEVEL=$LOG_<LEVEL> (or the number).
const LOG_LEVELS: Readonly<Record<string, string>> = Object.freeze({
  '0': 'error',
  '1': 'warn',
  '2': 'info',
  '3': 'debug',
  $LOG_ERROR: 'error',
  $LOG_WARNING: 'warn',
  $LOG_INFO: 'info',
  $LOG_DEBUG: 'debug',
});

/**
 * The value of a `KEY=value` line as bash assigns it, for what an energy.conf holds: single quotes (literal),
 * double quotes (backslash escapes `\\ \" \$ \``), unquoted text (a backslash escapes the next character),
 * pieces glued together (`"a"b'c'`), and a `#` comment after whitespace. No expansion (`$LOG_INFO` stays as it
 * is). Returns undefined when something other than a comment follows the value, or a quote is not closed.
 */
export function shellValue(text: string): string | undefined {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i] ?? '';
    if (c === "'") {
      const close = text.indexOf("'", i + 1);
      if (close < 0) return undefined;
      out += text.slice(i + 1, close);
      i = close + 1;
    } else if (c === '"') {
      i += 1;
      for (;;) {
        if (i >= text.length) return undefined;
        const d = text[i] ?? '';
        if (d === '"') break;
        const e = text[i + 1] ?? '';
        if (d === '\\' && ['\\', '"', '$', '`'].includes(e)) {
          out += e;
          i += 2;
        } else {
          out += d;
          i += 1;
        }
      }
      i += 1;
    } else if (c === '\\' && i + 1 < text.length) {
      out += text[i + 1] ?? '';
      i += 2;
    } else if (/\s/.test(c)) {
      const rest = text.slice(i).trim();
      return rest === '' || rest.startsWith('#') ? out : undefined;
    } else {
      out += c;
      i += 1;
    }
  }
  return out;
}

/**
 * Reads the shell SDK's `energy.conf` (`KEY=value` lines, optional `export`, quotes and `#` comments; no
 * expansion beyond the `$LOG_*` level names) and returns it as the SDK's environment variables.
 * @throws SdkError `ER_SDK_CONFIG` when the file cannot be read or a line is not an assignment.
 */
export function readEnergyConf(file: string): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw configError([{ path: file, message: `cannot read: ${err instanceof Error ? err.message : String(err)}` }]);
  }
  const env: Record<string, string> = {};
  const issues: { path: string; message: string }[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (match === null) {
      issues.push({ path: `${file}:${i + 1}`, message: 'expected KEY=value' });
      return;
    }
    const key = match[1] ?? '';
    const value = shellValue(match[2] ?? '');
    if (value === undefined) {
      issues.push({ path: `${file}:${i + 1}`, message: 'expected KEY=value, the value quoted if it holds spaces, then at most a # comment' });
      return;
    }
    const target = CONF_TO_ENV[key];
    if (target !== undefined) env[target] = value;
    else if (key === 'ENERGY_LOG_LEVEL') {
      const level = LOG_LEVELS[value];
      if (level === undefined) issues.push({ path: `${file}:${i + 1}`, message: 'ENERGY_LOG_LEVEL must be 0-3 or $LOG_ERROR/$LOG_WARNING/$LOG_INFO/$LOG_DEBUG' });
      else env['ENERGY_RECORDER_LOG_LEVEL'] = level;
    }
  });
  if (issues.length > 0) throw configError(issues);
  return env;
}
