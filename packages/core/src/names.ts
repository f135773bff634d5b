/**
 * The rules every name stored as an InfluxDB tag follows (environment, scenario, step, equipment, sensor, unit,
 * topology keys and values): what the recording API accepts, so that collectors and the SDK can check a name
 * before sending it instead of losing a batch to a 400.
 */

/** Longest accepted name. */
export const MAX_NAME_LENGTH = 1024;

// Control characters would need escapes that InfluxDB keeps in stored tags and that MQTT topics cannot carry;
// refusing them keeps every store and sink lossless. That includes the C1 controls (U+0080-U+009F), Unicode
// non-characters and lone surrogates: MQTT brokers refuse a topic holding one (mosquitto drops the connection,
// and at QoS 1 the unacknowledged publish is re-sent at every reconnect), and a lone surrogate becomes U+FFFD in
// UTF-8, so the stored name would differ from the one sent. Quotes, commas, spaces, `=` and `/` are fine.
const NON_CHARACTERS = Array.from({ length: 16 }, (_, i) => `\\u{${(i + 1).toString(16)}fffe}\\u{${(i + 1).toString(16)}ffff}`).join('');

/** Characters no name may hold. */
export const NAME_FORBIDDEN_CHARACTERS = new RegExp(`[\\u0000-\\u001f\\u007f-\\u009f\\ufdd0-\\ufdef\\ufffe\\uffff${NON_CHARACTERS}]|\\p{Cs}`, 'u');

/**
 * A backslash line protocol cannot carry as itself: right before a space, comma or `=`, or at the end. Backslashes
 * are written as themselves, as the original wrote them, so InfluxDB stores `DOM\scen` as sent; before one of
 * these characters the escape's own backslash would follow (`\\ `), which influxd's line splitter reads as an
 * escaped backslash and a bare space (a quote later on the line then joins two lines into one refused write).
 * Commas and `=` follow the same rule, so that it stays one: no backslash before a character line protocol escapes.
 */
export const NAME_UNSTORABLE_BACKSLASH = /\\(?=[ ,=]|$)/;

/** Tag keys of `SensorMeasurement` (and `time`), which a topology key may not take. */
export const RESERVED_TAG_KEYS: ReadonlySet<string> = new Set(['equipement', 'environment', 'scenario', 'step', 'sensor', 'unit', 'value', 'time']);

/** Why `name` cannot be stored as a tag, or undefined when it can. */
export function nameProblem(name: string): string | undefined {
  if (name.length === 0) return 'must not be empty';
  if (name.length > MAX_NAME_LENGTH) return `must be at most ${MAX_NAME_LENGTH} characters`;
  if (NAME_FORBIDDEN_CHARACTERS.test(name)) return 'must not contain control characters (newline, tab, ...), non-characters or lone surrogates';
  // InfluxDB 1.x line protocol has no way to end a tag value with a backslash.
  if (name.charCodeAt(name.length - 1) === 92) return 'must not end with a backslash';
  if (NAME_UNSTORABLE_BACKSLASH.test(name)) {
    return 'must not have a backslash right before a space, comma or "=" (InfluxDB 1.x cannot store that sequence as written)';
  }
  return undefined;
}
