import { ValidationError } from './errors.js';

/** A value of a line-protocol field. Integers are written with the `i` suffix only when given as bigint. */
export type FieldValue = number | bigint | string | boolean;

/** One InfluxDB point. */
export interface Point {
  measurement: string;
  /** Tags in the order they should be written. Empty values are dropped (InfluxDB refuses them). */
  tags?: ReadonlyArray<readonly [string, string]> | Readonly<Record<string, string>>;
  fields: Readonly<Record<string, FieldValue>>;
  /** Timestamp in ns since the epoch; absent lets the server stamp it. */
  timestampNs?: number | bigint;
}

// InfluxDB 1.x ends a key or tag value at the first `,`, `=` or space whose previous byte is not a backslash and
// unescapes only `\,` `\ ` `\=` (and `\"` in field keys); it keeps every other backslash. A backslash is written
// as itself, as the original wrote it, so InfluxDB stores `DOM\scen` as sent (Grafana queries and the series of
// pre-migration data see the same value). A newline, CR or tab travels as a backslash pair, stored with its
// backslash, which decodeTagValue removes.
// influxd's line splitter, though, reads every backslash as escaping the next byte: a backslash right before a
// character escaped here would pair with the escape's own backslash (`\\ `), leaving that character bare. Such
// values, and a trailing backslash (which always swallows the separator), cannot be written faithfully: refused.
const UNWRITABLE_BACKSLASH = /\\(?=[ ,=\n\r\t]|$)/;
const UNWRITABLE_BACKSLASH_IN_FIELD_KEY = /\\(?=[ ,=\n\r\t"]|$)/;

function escapeKeyOrTag(value: string, what = 'tag', fieldKey = false): string {
  if (value.endsWith('\\')) {
    throw new ValidationError(what, 'InfluxDB 1.x line protocol cannot carry a name or tag value ending with a backslash');
  }
  if ((fieldKey ? UNWRITABLE_BACKSLASH_IN_FIELD_KEY : UNWRITABLE_BACKSLASH).test(value)) {
    throw new ValidationError(
      what,
      `InfluxDB 1.x line protocol cannot carry a backslash right before a space, comma, "="${fieldKey ? ', double quote' : ''} or control character`,
    );
  }
  let out = '';
  for (const ch of value) {
    switch (ch) {
      case ',':
        out += '\\,';
        break;
      case '=':
        out += '\\=';
        break;
      case ' ':
        out += '\\ ';
        break;
      case '\n':
        out += '\\\n';
        break;
      case '\r':
        out += '\\\r';
        break;
      case '\t':
        out += '\\\t';
        break;
      default:
        out += ch;
    }
  }
  return out;
}

/** Escapes a measurement name (commas and spaces; backslashes and newlines as in tags). */
export function escapeMeasurement(name: string): string {
  if (name === '') throw new ValidationError('measurement', 'must not be empty');
  // A line starting with `#` is a comment to InfluxDB: the point would be dropped without an error.
  if (name.startsWith('#')) throw new ValidationError('measurement', 'must not start with "#" (InfluxDB reads the line as a comment)');
  return escapeKeyOrTag(name, 'measurement').replace(/\\=/g, '=');
}

/** Escapes a tag key, tag value or field key. */
export function escapeTag(value: string): string {
  return escapeKeyOrTag(value);
}

/**
 * Reverses what InfluxDB 1.x leaves behind of {@link escapeTag} when reading a stored tag value back: it keeps
 * the backslash of `\LF`, `\CR` and `\TAB` pairs. Every other backslash is the value's own (escapeTag writes a
 * backslash as itself and refuses one right before a character it escapes), so it stays.
 */
export function decodeTagValue(stored: string): string {
  return stored.replace(/\\([\n\r\t])/g, '$1');
}

/** Escapes a string field value (backslashes and double quotes) and quotes it. */
export function quoteFieldString(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function formatField(key: string, value: FieldValue): string {
  let v: string;
  if (typeof value === 'bigint') v = `${value}i`;
  else if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new ValidationError(`fields.${key}`, 'must be a finite number');
    v = String(value);
  } else if (typeof value === 'boolean') v = value ? 'true' : 'false';
  else v = quoteFieldString(value);
  if (key === '') throw new ValidationError('fields', 'a field key must not be empty');
  return `${escapeKeyOrTag(key, `fields.${key}`, true)}=${v}`;
}

function formatTimestamp(ts: number | bigint): string {
  if (typeof ts === 'bigint') return ts.toString();
  if (!Number.isFinite(ts)) throw new ValidationError('timestampNs', 'must be finite');
  return BigInt(Math.round(ts)).toString();
}

/** Encodes one point as a line of InfluxDB line protocol (no trailing newline). */
export function encodePoint(point: Point): string {
  let line = escapeMeasurement(point.measurement);
  const tags = point.tags === undefined ? [] : Array.isArray(point.tags) ? point.tags : Object.entries(point.tags);
  for (const [k, v] of tags as ReadonlyArray<readonly [string, string]>) {
    if (k === '' || v === '') continue;
    line += `,${escapeTag(k)}=${escapeTag(v)}`;
  }
  const fields = Object.entries(point.fields);
  if (fields.length === 0) throw new ValidationError('fields', 'a point needs at least one field');
  line += ` ${fields.map(([k, v]) => formatField(k, v)).join(',')}`;
  if (point.timestampNs !== undefined) line += ` ${formatTimestamp(point.timestampNs)}`;
  return line;
}

/** Encodes points as a line-protocol body, one per line. */
export function encodePoints(points: readonly Point[]): string {
  return points.map(encodePoint).join('\n');
}
