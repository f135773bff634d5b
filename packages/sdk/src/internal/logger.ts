import type { LogFields, Logger } from '@energyrecorder/core';

const noop = (): void => undefined;

/** Local copy of core's no-op logger: importing core's value would load its runtime (zod) into test processes. */
export const silentLogger: Logger = Object.freeze({
  trace: noop,
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  child: () => silentLogger,
});

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;
type Level = (typeof LEVELS)[number];

function isLevel(value: string): value is Level {
  return (LEVELS as readonly string[]).includes(value);
}

/**
 * A minimal logger writing one line per event to stderr, used by the Jest/Mocha integrations and the CLI where
 * no logger can be injected. `level` names the lowest level printed; `silent` prints nothing.
 */
export function stderrLogger(level: string = 'warn', bindings: LogFields = {}): Logger {
  if (level === 'silent' || !isLevel(level)) return level === 'silent' ? silentLogger : stderrLogger('warn', bindings);
  const min = LEVELS.indexOf(level);
  const write =
    (lvl: Level) =>
    (fields: LogFields, message?: string): void => {
      if (LEVELS.indexOf(lvl) < min) return;
      const merged = { ...bindings, ...fields };
      const extra = Object.keys(merged).length === 0 ? '' : ` ${safeJson(merged)}`;
      process.stderr.write(`energyrecorder ${lvl}: ${message ?? ''}${extra}\n`);
    };
  return {
    trace: write('trace'),
    debug: write('debug'),
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    child: (more: LogFields) => stderrLogger(level, { ...bindings, ...more }),
  };
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value, (_k, v: unknown) => (v instanceof Error ? `${v.name}: ${v.message}` : v));
  } catch {
    return '[unserialisable fields]';
  }
}

/**
 * Wraps a user's logger so that a logger that throws (a closed stream, a bad serializer) cannot turn a logged
 * recording failure into an exception in the user's test: such a throw is dropped.
 */
export function guardedLogger(logger: Logger): Logger {
  const guard =
    (lvl: Level) =>
    (fields: LogFields, message?: string): void => {
      try {
        logger[lvl](fields, message);
      } catch {
        // Nowhere left to report it; the test must go on.
      }
    };
  return {
    trace: guard('trace'),
    debug: guard('debug'),
    info: guard('info'),
    warn: guard('warn'),
    error: guard('error'),
    child: (bindings: LogFields) => {
      try {
        return guardedLogger(logger.child(bindings));
      } catch {
        return guardedLogger(logger);
      }
    },
  };
}
