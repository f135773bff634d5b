import type { z } from 'zod';
import { ConfigError } from '../errors.js';
import { zodIssuesToConfigIssues } from '../adapter.js';

/**
 * Validates `input` against `schema` and returns the typed result, or throws a {@link ConfigError} listing every
 * problem as `path: message`.
 */
export function parseConfig<S extends z.ZodType>(schema: S, input: unknown, source?: string): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) {
    throw new ConfigError(zodIssuesToConfigIssues(result.error), source === undefined ? {} : { source });
  }
  return result.data;
}
