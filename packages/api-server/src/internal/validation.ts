import { z } from 'zod';
import {
  guessTimestampUnit,
  MAX_NAME_LENGTH,
  MAX_PLAUSIBLE_NS,
  MIN_PLAUSIBLE_NS,
  NAME_FORBIDDEN_CHARACTERS,
  nameProblem as coreNameProblem,
  RESERVED_TAG_KEYS,
  topologyMapSchema,
} from '@energyrecorder/core';

/** Longest accepted name (environment, scenario, step, equipment, sensor, unit, topology key or value). */
export { MAX_NAME_LENGTH };
/** Characters no name may hold (core's rules, shared with the collector's and SDK's checks). */
export const CONTROL = NAME_FORBIDDEN_CHARACTERS;

/** A name used as a tag: non-empty, bounded, no control characters. */
export const nameSchema = z
  .string({ error: (i) => (i.input === undefined ? 'is a required property' : `${describe(i.input)} is not of type 'string'`) })
  .superRefine((s, ctx) => {
    const problem = coreNameProblem(s);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  });

const UNIT_NAMES: Record<string, string> = { s: 'seconds', ms: 'milliseconds', us: 'microseconds' };

/** Explains why a number is not a plausible epoch-ns timestamp, or returns undefined when it is. */
export function timestampProblem(value: number): string | undefined {
  if (!Number.isFinite(value) || !Number.isInteger(value)) return `${value} is not an integer`;
  // 64-bit ns (InfluxDB, SQLite) end in April 2262, before core's plausibility bound.
  if (value >= MIN_PLAUSIBLE_NS && value < MAX_PLAUSIBLE_NS && value < 2 ** 63) return undefined;
  if (value >= 2 ** 63 && value < MAX_PLAUSIBLE_NS) return `${value} is after 2262, beyond 64-bit ns timestamps`;
  const unit = guessTimestampUnit(value);
  const looks = UNIT_NAMES[unit];
  return looks === undefined
    ? `${value} is not a plausible timestamp in ns since the epoch`
    : `${value} looks like ${looks} since the epoch; expected nanoseconds`;
}

/** An epoch-ns timestamp. 0 means absent, as the original collector treats it. */
export const timestampSchema = z
  .number({ error: (i) => `${describe(i.input)} is not of type 'integer'` })
  .superRefine((v, ctx) => {
    if (v === 0) return;
    const problem = timestampProblem(v);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  })
  .transform((v) => (v === 0 ? undefined : v));

/** `topology`: any location keys (the original accepted all), each becoming a tag. */
export const topologySchema = topologyMapSchema(nameSchema, { reservedMessage: 'is a reserved tag name', typeError: "is not of type 'object'" });

/** The original's `measurement` model. */
export const measurementSchema = z.object({
  sensor: nameSchema,
  unit: nameSchema,
  value: z.number({ error: (i) => (i.input === undefined ? 'is a required property' : `${describe(i.input)} is not of type 'number'`) }).finite(),
  time: timestampSchema.optional(),
});

/** The original's `measurementPost` model, plus the collector's top-level collect `time`. */
export const measurementPostSchema = z.object({
  environment: nameSchema,
  topology: z.union([topologySchema, z.null().transform(() => undefined)]).optional(),
  measurements: z.array(measurementSchema, {
    error: (i) => (i.input === undefined ? 'is a required property' : `${describe(i.input)} is not of type 'array'`),
  }),
  time: timestampSchema.optional(),
});

/** The original's `recorderPost` model. */
export const recorderPostSchema = z.object({ scenario: nameSchema, step: nameSchema });

/** The original's `stepPost` model. */
export const stepPostSchema = z.object({ step: nameSchema });

/** The original's (removed) `powerPost` model of `/servers/{server}/consumption`. */
export const powerPostSchema = z.object({
  power: z.number({ error: (i) => (i.input === undefined ? 'is a required property' : `${describe(i.input)} is not of type 'integer'`) }).finite(),
  time: timestampSchema.optional(),
  environment: nameSchema,
});

/** One reading of a validated batch; `time` is absent when the client sent none (or 0). */
export interface MeasurementInput {
  sensor: string;
  unit: string;
  value: number;
  time: number | undefined;
}

/** A validated `measurementPost` body. */
export interface MeasurementPostInput {
  environment: string;
  topology: Record<string, string> | undefined;
  measurements: MeasurementInput[];
  time: number | undefined;
}

/** The 400 body of the original (flask-restx): one reason per offending field. */
export interface ValidationBody {
  errors: Record<string, string>;
  message: 'Input payload validation failed';
}

/** What the body parsers return: the value, or the 400 body. */
export type ParseResult<T> = { ok: true; value: T } | { ok: false; body: ValidationBody };

/**
 * Most problems a 400 lists. The original listed every one, but a 2 MB body of 1,000,000 bad readings made a
 * 50 MB answer (20 MB: a process stuck for tens of minutes); past this many, one more entry counts the rest.
 */
export const MAX_LISTED_PROBLEMS = 100;

/** The key of the entry counting the problems past {@link MAX_LISTED_PROBLEMS}: never a field path. */
export const MORE_PROBLEMS_KEY = '...';

/**
 * The original's 400 body for `errors`: the first {@link MAX_LISTED_PROBLEMS} problems, keyed by field, then (when
 * there are more, in `errors` or counted in `unlisted` without a message) `"...": "<n> more problems not listed"`.
 */
export function validationBody(errors: Record<string, string>, unlisted = 0): ValidationBody {
  const fields = Object.keys(errors);
  if (fields.length <= MAX_LISTED_PROBLEMS && unlisted === 0) return { errors, message: 'Input payload validation failed' };
  const listed: Record<string, string> = {};
  for (const f of fields.slice(0, MAX_LISTED_PROBLEMS)) listed[f] = errors[f] as string;
  const more = Math.max(0, fields.length - MAX_LISTED_PROBLEMS) + unlisted;
  listed[MORE_PROBLEMS_KEY] = `${more} more problem${more === 1 ? '' : 's'} not listed (the first ${MAX_LISTED_PROBLEMS} are)`;
  return { errors: listed, message: 'Input payload validation failed' };
}

function notAnObject(input: unknown): { ok: false; body: ValidationBody } {
  return { ok: false, body: validationBody({ '': `${input === undefined ? 'no body' : describe(input)} is not of type 'object'` }) };
}

const DESCRIBE_MAX_CHARS = 120;

/**
 * A short JSON rendering of a refused value for an error message: nested arrays and objects beyond the first
 * level show as `[...]` / `{...}` and the text is cut at 120 characters. JSON.stringify of the whole value would
 * copy a large body into the answer and overflow the stack on a deeply nested one (a 20 KB body of 10,000 `[`).
 */
export function describe(v: unknown): string {
  const text = describeAt(v, 0);
  return text.length > DESCRIBE_MAX_CHARS ? `${text.slice(0, DESCRIBE_MAX_CHARS)}...` : text;
}

function describeAt(v: unknown, depth: number): string {
  if (typeof v !== 'object' || v === null) return JSON.stringify(v) ?? String(v);
  const array = Array.isArray(v);
  if (depth > 0) return array ? '[...]' : '{...}';
  const parts: string[] = [];
  let length = 0;
  const entries = array ? (v as unknown[]).map((x) => [undefined, x] as const) : Object.entries(v);
  for (const [k, x] of entries) {
    const part = k === undefined ? describeAt(x, depth + 1) : `${JSON.stringify(k)}:${describeAt(x, depth + 1)}`;
    parts.push(part);
    length += part.length + 1;
    if (length > DESCRIBE_MAX_CHARS) break;
  }
  return array ? `[${parts.join(',')}]` : `{${parts.join(',')}}`;
}

/** The same rules as {@link nameSchema}, in the same order, without allocating on success. */
function nameProblem(v: unknown, field: string): string | undefined {
  if (typeof v !== 'string') return v === undefined ? `'${field}' is a required property` : `${describe(v)} is not of type 'string'`;
  return coreNameProblem(v);
}

/** The same rules as {@link timestampSchema}; 0 and absent both mean "no time". */
function timeProblem(v: unknown): string | undefined {
  if (v === undefined || v === 0) return undefined;
  if (typeof v !== 'number') return `${describe(v)} is not of type 'integer'`;
  return timestampProblem(v);
}

/** How many problems a reading has, as the loop below would list them, without writing their messages. */
function readingProblemCount(m: unknown): number {
  if (m === null || typeof m !== 'object' || Array.isArray(m)) return 1;
  const { sensor, unit, value, time } = m as Record<string, unknown>;
  return (
    (typeof sensor === 'string' && coreNameProblem(sensor) === undefined ? 0 : 1) +
    (typeof unit === 'string' && coreNameProblem(unit) === undefined ? 0 : 1) +
    (typeof value === 'number' && Number.isFinite(value) ? 0 : 1) +
    (time === undefined || time === 0 || (typeof time === 'number' && timestampProblem(time) === undefined) ? 0 : 1)
  );
}

/**
 * A topology key no JavaScript object can hold as data: `topology["__proto__"] = v` sets the prototype (or does
 * nothing), so the key would be lost on the way to the store, the MQTT message and the dashboard.
 */
const UNSTORABLE_KEY = '__proto__';

/**
 * Validates a `measurementPost` body by hand: the ingest hot path runs it once per reading, where a schema
 * library costs more than the rest of the request. Accepts exactly what {@link measurementPostSchema} accepts
 * and names each offending field the same way (`measurements.3.value`), first problem per field; topology
 * problems are named per key (`topology.rack`) where the schema only says `topology`.
 */
export function parseMeasurementPost(input: unknown): ParseResult<MeasurementPostInput> {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return notAnObject(input);
  const o = input as Record<string, unknown>;
  let errors: Record<string, string> | undefined;
  // Problems past the listed ones are only counted; readings are then checked without writing messages.
  let listed = 0;
  let unlisted = 0;
  const fail = (field: string, message: string): void => {
    errors ??= {};
    if (errors[field] !== undefined) return;
    if (listed >= MAX_LISTED_PROBLEMS) {
      unlisted++;
      return;
    }
    errors[field] = message;
    listed++;
  };

  const environment = o['environment'];
  const envProblem = nameProblem(environment, 'environment');
  if (envProblem !== undefined) fail('environment', envProblem);

  let topology: Record<string, string> | undefined;
  const rawTopology = o['topology'];
  if (rawTopology !== undefined && rawTopology !== null) {
    if (typeof rawTopology !== 'object' || Array.isArray(rawTopology)) {
      fail('topology', `${describe(rawTopology)} is not of type 'object'`);
    } else {
      topology = {};
      for (const [k, v] of Object.entries(rawTopology as Record<string, unknown>)) {
        const keyProblem = k === UNSTORABLE_KEY ? 'must not be __proto__ (it cannot be stored as a location tag)' : nameProblem(k, k);
        if (keyProblem !== undefined) {
          fail(`topology.${k}`, `key ${keyProblem}`);
          continue;
        }
        if (RESERVED_TAG_KEYS.has(k)) {
          fail(`topology.${k}`, 'is a reserved tag name');
          continue;
        }
        const text = typeof v === 'number' || typeof v === 'boolean' ? String(v) : v;
        const valueProblem = nameProblem(text, k);
        if (valueProblem !== undefined) fail(`topology.${k}`, valueProblem);
        else topology[k] = text as string;
      }
    }
  }

  const rawList = o['measurements'];
  const measurements: MeasurementInput[] = [];
  if (!Array.isArray(rawList)) {
    fail('measurements', rawList === undefined ? `'measurements' is a required property` : `${describe(rawList)} is not of type 'array'`);
  } else {
    for (let i = 0; i < rawList.length; i++) {
      const m: unknown = rawList[i];
      if (listed >= MAX_LISTED_PROBLEMS) {
        unlisted += readingProblemCount(m);
        continue;
      }
      if (m === null || typeof m !== 'object' || Array.isArray(m)) {
        fail(`measurements.${i}`, `${describe(m)} is not of type 'object'`);
        continue;
      }
      const r = m as Record<string, unknown>;
      const { sensor, unit, value, time } = r;
      // One combined check first: a valid reading (the common case) costs four type tests and two regex runs.
      const sp = nameProblem(sensor, 'sensor');
      const up = nameProblem(unit, 'unit');
      const vp =
        typeof value === 'number'
          ? Number.isFinite(value)
            ? undefined
            : 'must be a finite number'
          : value === undefined
            ? `'value' is a required property`
            : `${describe(value)} is not of type 'number'`;
      const tp = timeProblem(time);
      if (sp !== undefined || up !== undefined || vp !== undefined || tp !== undefined) {
        if (sp !== undefined) fail(`measurements.${i}.sensor`, sp);
        if (up !== undefined) fail(`measurements.${i}.unit`, up);
        if (vp !== undefined) fail(`measurements.${i}.value`, vp);
        if (tp !== undefined) fail(`measurements.${i}.time`, tp);
        continue;
      }
      if (errors === undefined) {
        measurements.push({ sensor: sensor as string, unit: unit as string, value: value as number, time: time === 0 ? undefined : (time as number | undefined) });
      }
    }
  }

  const time = o['time'];
  const batchTimeProblem = timeProblem(time);
  if (batchTimeProblem !== undefined) fail('time', batchTimeProblem);

  if (errors !== undefined) return { ok: false, body: validationBody(errors, unlisted) };
  return {
    ok: true,
    value: {
      environment: environment as string,
      topology,
      measurements,
      time: time === 0 ? undefined : (time as number | undefined),
    },
  };
}


/** Parses `input` or returns the original's validation body naming every offending field. */
export function parseBody<S extends z.ZodType>(schema: S, input: unknown): ParseResult<z.output<S>> {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return notAnObject(input);
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
  return { ok: false, body: validationBody(errors) };
}
