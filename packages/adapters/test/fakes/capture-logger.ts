import type { LogFields, Logger } from '@energyrecorder/core';

/** A logger that keeps every line as JSON text, to check what would have been logged (e.g. no secrets). */
export function captureLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const make = (bindings: LogFields): Logger & { lines: string[] } => {
    const log = (level: string) => (fields: LogFields, message?: string) => {
      lines.push(JSON.stringify({ level, ...bindings, ...fields, message }));
    };
    return {
      lines,
      trace: log('trace'),
      debug: log('debug'),
      info: log('info'),
      warn: log('warn'),
      error: log('error'),
      child: (more: LogFields) => make({ ...bindings, ...more }),
    };
  };
  return make({});
}

/** A logger that keeps only the `warn` lines, as `[message, fields]`, in `lines`. */
export function warningsLogger(lines: Array<[string, LogFields]>): Logger {
  const logger: Logger = {
    trace: () => undefined,
    debug: () => undefined,
    info: () => undefined,
    warn: (fields, message) => lines.push([message ?? '', fields]),
    error: () => undefined,
    child: () => logger,
  };
  return logger;
}
