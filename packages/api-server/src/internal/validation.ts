import { z } from 'zod';
import { guessTimestampUnit, MAX_PLAUSIBLE_NS, MIN_PLAUSIBLE_NS } from '@energyrecorder/core';

/** Longest accepted name (environment, scenario, step, equipment, sensor, unit, topology key or value). */
export const MAX_NAME_LENGTH = 1024;

// Control characters would need escapes that InfluxDB keeps in stored tags and that MQTT topics cannot carry;
// refusing them keeps every store and sink lossless. Quotes, commas, spaces, `=` and `/` are fine.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** A name used as a tag: non-empty, bounded, no control characters. */
export const nameSchema = z
  .string({ error: (i) => (i.input === undefined ? 'is a required property' : `${JSON.stringify(i.input)} is not of type 'string'`) })
  .min(1, 'must not be empty')
  .max(MAX_NAME_LENGTH, `must be at most ${MAX_NAME_LENGTH} characters`)
  .refine((s) => !CONTROL.test(s), 'must not contain control characters (newline, tab, ...)')
  // InfluxDB 1.x line protocol has no way to end a tag value with a backslash.
  .refine((s) => !s.endsWith('\\'), 'must not end with a backslash');

const UNIT_NAMES: Record<string, string> = { s: 'seconds', ms: 'milliseconds', us: 'microseconds' };

/** Explains why a number is not a plausible epoch-ns timestamp, or returns undefined when it is. */
export function timestampProblem(value: number): string | undefined {
  if (!Number.isFinite(value) || !Number.isInteger(value)) return `${value} is not an integer`;
  if (value >= MIN_PLAUSIBLE_NS && value < MAX_PLAUSIBLE_NS) return undefined;
  const unit = guessTimestampUnit(value);
  const looks = UNIT_NAMES[unit];
  return looks === undefined
    ? `${value} is not a plausible timestamp in ns since the epoch`
    : `${value} looks like ${looks} since the epoch; expected nanoseconds`;
}

/** An epoch-ns timestamp. 0 means absent, as the original collector treats it. */
export const timestampSchema = z
  .number({ error: (i) => `${JSON.stringify(i.input)} is not of type 'integer'` })
  .superRefine((v, ctx) => {
    if (v === 0) return;
    const problem = timestampProblem(v);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  })
  .transform((v) => (v === 0 ? undefined : v));

const RESERVED_TAGS = new Set(['equipement', 'environment', 'scenario', 'step', 'sensor', 'unit', 'value', 'time']);

const tagValue = z
  .union([nameSchema, z.number().transform(String), z.boolean().transform(String)])
  .pipe(nameSchema);

/** `topology`: any location keys (the original accepted all), each becoming a tag. */
export const topologySchema = z
  .record(nameSchema, tagValue, { error: "is not of type 'object'" })
  .superRefine((t, ctx) => {
    for (const k of Object.keys(t)) {
      if (RESERVED_TAGS.has(k)) ctx.addIssue({ code: 'custom', path: [k], message: 'is a reserved tag name' });
    }
  });

/** The original's `measurement` model. */
export const measurementSchema = z.object({
  sensor: nameSchema,
  unit: nameSchema,
  value: z.number({ error: (i) => (i.input === undefined ? 'is a required property' : `${JSON.stringify(i.input)} is not of type 'number'`) }).finite(),
  time: timestampSchema.optional(),
});

/** The original's `measurementPost` model, plus the collector's top-level collect `time`. */
export const measurementPostSchema = z.object({
  environment: nameSchema,
  topology: z.union([topologySchema, z.null().transform(() => undefined)]).optional(),
  measurements: z.array(measurementSchema, {
    error: (i) => (i.input === undefined ? 'is a required property' : `${JSON.stringify(i.input)} is not of type 'array'`),
  }),
  time: timestampSchema.optional(),
});

/** The original's `recorderPost` model. */
export const recorderPostSchema = z.object({ scenario: nameSchema, step: nameSchema });

/** The original's `stepPost` model. */
export const stepPostSchema = z.object({ step: nameSchema });

/** The original's (removed) `powerPost` model of `/servers/{server}/consumption`. */
export const powerPostSchema = z.object({
  power: z.number({ error: (i) => (i.input === undefined ? 'is a required property' : `${JSON.stringify(i.input)} is not of type 'integer'`) }).finite(),
  time: timestampSchema.optional(),
  environment: nameSchema,
});

/** The 400 body of the original (flask-restx): one reason per offending field. */
export interface ValidationBody {
  errors: Record<string, string>;
  message: 'Input payload validation failed';
}

/** Parses `input` or returns the original's validation body naming every offending field. */
export function parseBody<S extends z.ZodType>(
  schema: S,
  input: unknown,
): { ok: true; value: z.output<S> } | { ok: false; body: ValidationBody } {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    return {
      ok: false,
      body: { errors: { '': `${JSON.stringify(input) ?? 'no body'} is not of type 'object'` }, message: 'Input payload validation failed' },
    };
  }
  const r = schema.safeParse(input);
  if (r.success) return { ok: true, value: r.data };
  const errors: Record<string, string> = {};
  for (const issue of r.error.issues) {
    const path = issue.path.map(String).join('.');
    const last = issue.path[issue.path.length - 1];
    let message = issue.message;
    if (message === 'is a required property' && last !== undefined) message = `'${String(last)}' is a required property`;
    if (errors[path] === undefined) errors[path] = message;
  }
  return { ok: false, body: { errors, message: 'Input payload validation failed' } };
}
