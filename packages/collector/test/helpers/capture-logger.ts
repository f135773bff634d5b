import type { LogFields, Logger } from '@energyrecorder/core';

/** One log call as captured by {@link captureLogger}. */
export interface LogLine {
  level: string;
  fields: LogFields;
  msg: string;
}

/** A logger that appends every call to `lines` (children log to the same array). */
export function captureLogger(lines: LogLine[]): Logger {
  const at =
    (level: string) =>
    (fields: LogFields, msg?: string): void =>
      void lines.push({ level, fields, msg: msg ?? '' });
  const logger: Logger = {
    trace: at('trace'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: () => logger,
  };
  return logger;
}
