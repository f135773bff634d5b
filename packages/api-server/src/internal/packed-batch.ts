import { MIN_PLAUSIBLE_NS } from '@energyrecorder/core';
import { MAX_NAME_LENGTH } from './validation.js';
import { assignTimestampsBy, isWholeSecond, nsSecondsPart } from './timestamps.js';
import type { EncodedLines } from '../store.js';

/**
 * The ingest fast path for InfluxDB: a `measurementPost` body in the shape collectors send, scanned once as bytes
 * and later written out as line protocol by copying byte ranges, without JSON.parse, per-reading objects or
 * per-reading strings (measured, at batch 1,000, to be most of the API's CPU on the InfluxDB path).
 *
 * The scanner accepts a strict subset of JSON and of what `parseMeasurementPost` accepts, so that the stored
 * points are the general path's (values keep the client's spelling, `1.50`, which influxd reads as the same
 * double as `1.5`); anything else (escapes in strings, non-ASCII, topology, unknown
 * or repeated keys, exponents, invalid or implausible values) makes it answer `undefined` and the body takes the
 * general path, which also words every error. Accepted:
 *
 * - a top-level object with `environment` (a name), optional `time` (integer ns or 0), `topology: null` and
 *   `measurements`, an array of objects with `sensor` and `unit` (names), `value` (a number without exponent)
 *   and an optional `time`;
 * - names of printable ASCII without backslash or double quote, 1 to {@link MAX_NAME_LENGTH} characters.
 */

const enum B {
  TAB = 0x09,
  LF = 0x0a,
  CR = 0x0d,
  SPACE = 0x20,
  QUOTE = 0x22,
  COMMA = 0x2c,
  MINUS = 0x2d,
  DOT = 0x2e,
  ZERO = 0x30,
  NINE = 0x39,
  COLON = 0x3a,
  EQUALS = 0x3d,
  LBRACKET = 0x5b,
  BACKSLASH = 0x5c,
  RBRACKET = 0x5d,
  LBRACE = 0x7b,
  RBRACE = 0x7d,
  TILDE = 0x7e,
}

/** Numbers of more characters than this take the general path (it has all the wording for huge ones). */
const MAX_NUMBER_LENGTH = 64;
/** Above this first part of a timestamp (year 2096), `hi * 1e9` is no longer exact: general path. */
const MAX_TIME_HIGH = 4e9;

const KEY_ENVIRONMENT = bytesOf('environment');
const KEY_TIME = bytesOf('time');
const KEY_MEASUREMENTS = bytesOf('measurements');
const KEY_TOPOLOGY = bytesOf('topology');
const KEY_SENSOR = bytesOf('sensor');
const KEY_UNIT = bytesOf('unit');
const KEY_VALUE = bytesOf('value');
const NULL = bytesOf('null');

function bytesOf(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** Slots per reading in {@link PackedReadings}' range table. */
const SLOTS = 6;
const SENSOR_START = 0;
const SENSOR_END = 1;
const UNIT_START = 2;
const UNIT_END = 3;
const VALUE_START = 4;
const VALUE_END = 5;

/** Readings of a body as byte ranges of it: sensor, unit and value text, plus each reading's own time. */
export class PackedReadings {
  constructor(
    readonly source: Buffer,
    /** Number of readings. */
    readonly length: number,
    private readonly ranges: readonly number[],
    /** Each reading's own time, NaN when it sent none (or 0). */
    private readonly ownTimes: readonly number[],
  ) {}

  sensor(i: number): string {
    const r = this.ranges;
    return this.source.toString('latin1', r[i * SLOTS + SENSOR_START] as number, r[i * SLOTS + SENSOR_END] as number);
  }

  unit(i: number): string {
    const r = this.ranges;
    return this.source.toString('latin1', r[i * SLOTS + UNIT_START] as number, r[i * SLOTS + UNIT_END] as number);
  }

  value(i: number): number {
    const r = this.ranges;
    return Number(this.source.toString('latin1', r[i * SLOTS + VALUE_START] as number, r[i * SLOTS + VALUE_END] as number));
  }

  /** The reading's own time, or undefined when it sent none (or 0). */
  ownTime(i: number): number | undefined {
    const t = this.ownTimes[i] as number;
    return Number.isNaN(t) ? undefined : t;
  }

  /**
   * Indices of the readings of one series, in order. The readings of the last sensor asked are remembered, so
   * asking one sensor in several units (the dashboard's power in W, kW, mW and MW) scans the batch once.
   */
  indicesOf(sensor: string, unit: string): number[] {
    const out: number[] = [];
    // Scanned names are printable ASCII: a name with other characters matches none.
    if (!PRINTABLE_ASCII.test(sensor) || !PRINTABLE_ASCII.test(unit)) return out;
    if (this.sensorAsked !== sensor) {
      const s = Buffer.from(sensor, 'latin1');
      const r = this.ranges;
      const found: number[] = [];
      for (let i = 0; i < this.length; i++) {
        const o = i * SLOTS;
        if (this.equals(r[o + SENSOR_START] as number, r[o + SENSOR_END] as number, s)) found.push(i);
      }
      this.sensorAsked = sensor;
      this.sensorIndices = found;
    }
    if (this.sensorIndices.length === 0) return out;
    const u = Buffer.from(unit, 'latin1');
    const r = this.ranges;
    for (const i of this.sensorIndices) {
      const o = i * SLOTS;
      if (this.equals(r[o + UNIT_START] as number, r[o + UNIT_END] as number, u)) out.push(i);
    }
    return out;
  }

  private sensorAsked: string | undefined;
  private sensorIndices: number[] = [];

  private equals(start: number, end: number, name: Buffer): boolean {
    if (end - start !== name.length) return false;
    const src = this.source;
    for (let j = 0; j < name.length; j++) if (src[start + j] !== name[j]) return false;
    return true;
  }

  /** Stored timestamps, as `assignTimestamps` gives them for the same readings. */
  assignTimes(fallbackNs: number): ArrayLike<number | bigint> {
    // Our collector's case: every reading has its own ns time, none a whole second, and they rise, so each keeps
    // its own (no allocation).
    const own = this.ownTimes;
    let previous = -Infinity;
    let i = 0;
    while (i < this.length && (own[i] as number) > previous && !isWholeSecond(own[i] as number)) previous = own[i++] as number;
    if (i === this.length) return own;
    return assignTimestampsBy(
      this.length,
      (i) => this.ownTime(i),
      (i) => `${this.sensor(i)}\u0000${this.unit(i)}`,
      (i) => this.value(i),
      fallbackNs,
    );
  }

  /**
   * One line-protocol line per reading: `head,sensor=<s><mid>,unit=<u><tail> value=<v> <time>\n`, with the tag
   * parts given as bytes: the general encoder's lines for the same readings, with each value spelt as the client
   * sent it (`1.50` where the general encoder prints `1.5`; influxd reads both as the same double).
   */
  encodeLines(head: Uint8Array, mid: Uint8Array, tail: Uint8Array, times: ArrayLike<number | bigint>): EncodedLines {
    const src = this.source;
    const r = this.ranges;
    const n = this.length;
    // The constant parts of a line, each one copy: `head,sensor=`, `mid,unit=`, `tail value=`.
    const beforeSensor = Buffer.concat([head, SENSOR_TAG]);
    const beforeUnit = Buffer.concat([mid, UNIT_TAG]);
    const beforeValue = Buffer.concat([tail, VALUE_FIELD]);
    // A name byte takes at most two (an escaped space, comma or `=`), a timestamp at most 20 digits.
    let maxBytes = n * (beforeSensor.length + beforeUnit.length + beforeValue.length + 22);
    for (let i = 0; i < n; i++) {
      const o = i * SLOTS;
      maxBytes += 2 * ((r[o + SENSOR_END] as number) - (r[o + SENSOR_START] as number) + (r[o + UNIT_END] as number) - (r[o + UNIT_START] as number));
      maxBytes += (r[o + VALUE_END] as number) - (r[o + VALUE_START] as number);
    }
    const writeTo = (out: Buffer, offset: number): number => {
      let p = offset;
      for (let i = 0; i < n; i++) {
        const o = i * SLOTS;
        out.set(beforeSensor, p);
        p += beforeSensor.length;
        p = copyName(src, r[o + SENSOR_START] as number, r[o + SENSOR_END] as number, out, p);
        out.set(beforeUnit, p);
        p += beforeUnit.length;
        p = copyName(src, r[o + UNIT_START] as number, r[o + UNIT_END] as number, out, p);
        out.set(beforeValue, p);
        p += beforeValue.length;
        const ve = r[o + VALUE_END] as number;
        for (let j = r[o + VALUE_START] as number; j < ve; j++) out[p++] = src[j] as number;
        out[p++] = B.SPACE;
        p = writeTime(times, i, out, p);
        out[p++] = B.LF;
      }
      return p;
    };
    return { maxBytes, writeTo };
  }
}

const SENSOR_TAG = Buffer.from(',sensor=', 'latin1');
const UNIT_TAG = Buffer.from(',unit=', 'latin1');
const VALUE_FIELD = Buffer.from(' value=', 'latin1');

/** Copies a name, escaping what line protocol needs escaped in a tag value (only these occur in scanned names). */
function copyName(src: Buffer, start: number, end: number, to: Buffer, p: number): number {
  for (let j = start; j < end; j++) {
    const c = src[j] as number;
    if (c === B.SPACE || c === B.COMMA || c === B.EQUALS) to[p++] = B.BACKSLASH;
    to[p++] = c;
  }
  return p;
}

function writeAscii(text: string, to: Buffer, p: number): number {
  for (let j = 0; j < text.length; j++) to[p++] = text.charCodeAt(j);
  return p;
}

/**
 * Decimal digits of the epoch-ns timestamp `times[i]`, as `formatNs` prints it. Given the array and index rather
 * than the value: a double passed to a call that is not inlined is boxed, a heap allocation per reading.
 */
function writeTime(times: ArrayLike<number | bigint>, i: number, to: Buffer, p: number): number {
  const t = times[i] as number | bigint;
  if (typeof t === 'bigint' || !(t >= 1e9 && t < 2 ** 62)) return writeAscii(String(t), to, p);
  const hi = nsSecondsPart(t);
  const lo = t - hi * 1e9;
  // hi has at least one digit (int32 steps below 2^31, String beyond), lo exactly nine.
  if (hi >= 2 ** 31) {
    p = writeAscii(String(hi), to, p);
  } else {
    let digits = 1;
    for (let d = hi | 0; d >= 10; d = (d / 10) | 0) digits++;
    p = writeDigits(hi | 0, digits, to, p);
  }
  return writeDigits(lo | 0, 9, to, p);
}

/** Writes the last `digits` decimal digits of a non-negative int32, zero-padded. */
function writeDigits(v: number, digits: number, to: Buffer, p: number): number {
  for (let j = digits - 1; j >= 0; j--) {
    const q = (v / 10) | 0;
    to[p + j] = B.ZERO + (v - q * 10);
    v = q;
  }
  return p + digits;
}

/** A scanned body: what `parseMeasurementPost` would return, with the readings kept as byte ranges. */
export class ScannedMeasurementPost {
  /** Never given: a body with a topology takes the general path. */
  readonly topology = undefined;

  constructor(
    readonly environment: string,
    readonly time: number | undefined,
    readonly measurements: PackedReadings,
  ) {}
}

/** What the scanner's steps return when the body leaves the accepted subset (an offset or time never is -1). */
const OUT = -1;

class Scanner {
  p = 0;
  constructor(readonly b: Buffer) {}

  ws(): void {
    const b = this.b;
    let p = this.p;
    while (p < b.length) {
      const c = b[p] as number;
      if (c !== B.SPACE && c !== B.LF && c !== B.CR && c !== B.TAB) break;
      p++;
    }
    this.p = p;
  }

  /** Consumes `c` after optional whitespace; false when the next byte is something else. */
  take(c: number): boolean {
    this.ws();
    if (this.b[this.p] !== c) return false;
    this.p++;
    return true;
  }

  /** A string of printable ASCII without `\` or `"`: its end (exclusive) with `this.p` after the quote, or OUT. */
  name(): number {
    const b = this.b;
    let p = this.p;
    if (b[p] !== B.QUOTE) return OUT;
    const start = ++p;
    for (;;) {
      const c = b[p];
      if (c === B.QUOTE) break;
      if (c === undefined || c < B.SPACE || c > B.TILDE || c === B.BACKSLASH) return OUT;
      p++;
    }
    const len = p - start;
    if (len === 0 || len > MAX_NAME_LENGTH) return OUT;
    this.p = p + 1;
    return p;
  }

  /**
   * A key followed by `:`; returns which of `keys` it is, or OUT. `quoted[hint]` (`"key":`) is tried first as
   * bytes: the collector always writes the keys in the same order, without spaces.
   */
  key(keys: readonly Uint8Array[], quoted: readonly Uint8Array[], hint: number): number {
    const b = this.b;
    const expected = quoted[hint];
    if (expected !== undefined) {
      const p = this.p;
      let j = 0;
      while (j < expected.length && b[p + j] === expected[j]) j++;
      if (j === expected.length) {
        this.p = p + j;
        return hint;
      }
    }
    this.ws();
    const start = this.p + 1;
    const end = this.name();
    if (end === OUT || !this.take(B.COLON)) return OUT;
    outer: for (let k = 0; k < keys.length; k++) {
      const key = keys[k] as Uint8Array;
      if (key.length !== end - start) continue;
      for (let j = 0; j < key.length; j++) if (b[start + j] !== key[j]) continue outer;
      return k;
    }
    return OUT;
  }

  literal(word: Uint8Array): boolean {
    const b = this.b;
    for (let j = 0; j < word.length; j++) if (b[this.p + j] !== word[j]) return false;
    const after = b[this.p + word.length];
    // `nullx` is not JSON; leave it to JSON.parse to say so.
    if (after !== undefined && ((after >= 0x61 && after <= 0x7a) || (after >= B.ZERO && after <= B.NINE))) return false;
    this.p += word.length;
    return true;
  }

  /**
   * A JSON number without exponent, not a negative zero: its end (exclusive), `this.p` after it, or OUT. Copied
   * verbatim into line protocol, it gives influxd the same double as JSON.parse does (both round correctly).
   */
  number(): number {
    const b = this.b;
    const start = this.p;
    let p = start;
    if (b[p] === B.MINUS) p++;
    const intStart = p;
    let nonZero = false;
    while (p < b.length && (b[p] as number) >= B.ZERO && (b[p] as number) <= B.NINE) {
      if (b[p] !== B.ZERO) nonZero = true;
      p++;
    }
    const intLen = p - intStart;
    if (intLen === 0 || (intLen > 1 && b[intStart] === B.ZERO)) return OUT;
    if (b[p] === B.DOT) {
      p++;
      const fracStart = p;
      while (p < b.length && (b[p] as number) >= B.ZERO && (b[p] as number) <= B.NINE) {
        if (b[p] !== B.ZERO) nonZero = true;
        p++;
      }
      if (p === fracStart) return OUT;
    }
    const next = b[p];
    if (next === 0x65 || next === 0x45) return OUT;
    if (p - start > MAX_NUMBER_LENGTH) return OUT;
    // -0 prints as 0 through the general path; let it go there.
    if (b[start] === B.MINUS && !nonZero) return OUT;
    this.p = p;
    return p;
  }

  /**
   * An integer timestamp in ns, 0 meaning absent (NaN), as the double JSON.parse gives, stored at `into[at]`
   * (a double returned from a call that is not inlined would be a heap allocation per reading): false when not a
   * plain non-negative integer, or not plausible, or beyond what the exact split below covers.
   */
  time(into: Float64Array, at: number): boolean {
    const b = this.b;
    const n = b.length;
    const start = this.p;
    // Epoch ns until 2286 have 19 digits: read them in one pass, the 10 high ones and the 9 low ones apart.
    if (start + 19 < n) {
      let hi = 0;
      let lo = 0;
      let j = start;
      for (; j < start + 10; j++) {
        const d = (b[j] as number) - B.ZERO;
        if (d < 0 || d > 9) break;
        hi = hi * 10 + d;
      }
      if (j === start + 10) {
        for (; j < start + 19; j++) {
          const d = (b[j] as number) - B.ZERO;
          if (d < 0 || d > 9) break;
          lo = (lo * 10 + d) | 0;
        }
        const next = b[j] as number;
        if (j === start + 19 && (next < B.ZERO || next > B.NINE) && next !== B.DOT && next !== 0x65 && next !== 0x45 && b[start] !== B.ZERO) {
          this.p = j;
          if (hi >= MAX_TIME_HIGH) return false;
          const v = hi * 1e9 + lo;
          if (!(v >= MIN_PLAUSIBLE_NS)) return false;
          into[at] = v;
          return true;
        }
      }
    }
    let p = start;
    while (p < n) {
      const d = (b[p] as number) - B.ZERO;
      if (d < 0 || d > 9) break;
      p++;
    }
    const len = p - start;
    const next = b[p];
    if (len === 0 || len > 19 || next === B.DOT || next === 0x65 || next === 0x45) return false;
    if (len > 1 && b[start] === B.ZERO) return false;
    this.p = p;
    if (len === 1) {
      if (b[start] !== B.ZERO) return false;
      into[at] = Number.NaN;
      return true;
    }
    // Up to 10 high digits and the last 9 apart: each part is exact, `hi * 1e9` too below MAX_TIME_HIGH, and
    // the one rounding of the sum is the correctly rounded value of the whole integer, as JSON.parse's.
    const split = Math.max(start, p - 9);
    let hi = 0;
    for (let j = start; j < split; j++) hi = hi * 10 + ((b[j] as number) - B.ZERO);
    let lo = 0;
    for (let j = split; j < p; j++) lo = (lo * 10 + ((b[j] as number) - B.ZERO)) | 0;
    if (hi >= MAX_TIME_HIGH) return false;
    const v = hi * 1e9 + lo;
    // An integer below 4e18 here: plausible (timestampProblem) exactly when not before MIN_PLAUSIBLE_NS.
    if (!(v >= MIN_PLAUSIBLE_NS)) return false;
    into[at] = v;
    return true;
  }
}

const TOP_KEYS = [KEY_ENVIRONMENT, KEY_TIME, KEY_MEASUREMENTS, KEY_TOPOLOGY];
const READING_KEYS = [KEY_SENSOR, KEY_UNIT, KEY_VALUE, KEY_TIME];
const quote = (key: Uint8Array): Uint8Array => Uint8Array.from([B.QUOTE, ...key, B.QUOTE, B.COLON]);
/** The top-level keys in the collector's order (`environment`, `time`, `measurements`), quoted with their colon. */
const TOP_QUOTED = TOP_KEYS.map(quote);
/** The reading keys in the collector's order, quoted with their colon. */
const READING_QUOTED = READING_KEYS.map(quote);

/**
 * Scans a `measurementPost` body for the fast path; `undefined` when the body is anything but the plain shape,
 * valid, that the general path would store as it is (see the module comment).
 */
export function scanMeasurementPost(body: Buffer): ScannedMeasurementPost | undefined {
  const s = new Scanner(body);
  if (!s.take(B.LBRACE)) return undefined;
  let environment: string | undefined;
  let time = Number.NaN;
  let seen = 0;
  let readings: PackedReadings | undefined;
  for (let index = 0; ; index++) {
    const k = s.key(TOP_KEYS, TOP_QUOTED, index);
    if (k === OUT || (seen & (1 << k)) !== 0) return undefined;
    seen |= 1 << k;
    s.ws();
    if (k === 0) {
      const start = s.p + 1;
      const end = s.name();
      if (end === OUT) return undefined;
      environment = body.toString('latin1', start, end);
    } else if (k === 1) {
      if (!s.time(TOP_TIME, 0)) return undefined;
      time = TOP_TIME[0] as number;
    } else if (k === 2) {
      readings = scanReadings(s);
      if (readings === undefined) return undefined;
    } else if (!s.literal(NULL)) {
      return undefined;
    }
    if (s.take(B.COMMA)) continue;
    if (!s.take(B.RBRACE)) return undefined;
    break;
  }
  s.ws();
  if (s.p !== body.length || environment === undefined || readings === undefined) return undefined;
  return new ScannedMeasurementPost(environment, Number.isNaN(time) ? undefined : time, readings);
}

/** The batch's own time, as {@link Scanner.time} stores it. */
const TOP_TIME = new Float64Array(1);

/**
 * Scan tables, reused: the scan is synchronous, and its result is copied out exactly sized (`keep`). Tables sized
 * from the body and filled up front were 90 KB of V8 heap per request at batch 1,000, alive until influxd
 * answered, so the scavenger copied and promoted them.
 */
let scratchRanges = new Int32Array(SLOTS * 4096);
let scratchTimes = new Float64Array(4096);
/** Readings beyond which the scratch tables are let go after a scan, so one huge body does not pin its tables. */
const SCRATCH_KEEP = 1 << 16;

/**
 * The scan's result, copied out of the scratch tables exactly sized, as plain arrays: they live on the V8 heap
 * and die with the request. (Typed arrays here, even carved from shared slabs, were off-heap memory that made V8
 * run a full mark-compact every ~200 ms at batch 1,000: measured worse.)
 */
function keep(n: number): { ranges: number[]; times: number[] } {
  const ranges = new Array<number>(SLOTS * n);
  for (let j = 0; j < SLOTS * n; j++) ranges[j] = scratchRanges[j] as number;
  const times = new Array<number>(n);
  for (let j = 0; j < n; j++) times[j] = scratchTimes[j] as number;
  return { ranges, times };
}

function grow(): void {
  const ranges = new Int32Array(scratchRanges.length * 2);
  ranges.set(scratchRanges);
  scratchRanges = ranges;
  const times = new Float64Array(scratchTimes.length * 2);
  times.set(scratchTimes);
  scratchTimes = times;
}

function scanReadings(s: Scanner): PackedReadings | undefined {
  const n = scanInto(s);
  if (n === OUT) return undefined;
  const { ranges, times } = keep(n);
  if (scratchTimes.length > SCRATCH_KEEP) {
    scratchRanges = new Int32Array(SLOTS * 4096);
    scratchTimes = new Float64Array(4096);
  }
  return new PackedReadings(s.b, n, ranges, times);
}

/** Scans the readings array into the scratch tables: the number of readings, or OUT. */
function scanInto(s: Scanner): number {
  if (!s.take(B.LBRACKET)) return OUT;
  let n = 0;
  if (s.take(B.RBRACKET)) return 0;
  for (;;) {
    if (!s.take(B.LBRACE)) return OUT;
    if (n === scratchTimes.length) grow();
    const ranges = scratchRanges;
    const o = n * SLOTS;
    let seen = 0;
    scratchTimes[n] = Number.NaN;
    for (let index = 0; ; index++) {
      const k = s.key(READING_KEYS, READING_QUOTED, index);
      if (k === OUT || (seen & (1 << k)) !== 0) return OUT;
      seen |= 1 << k;
      s.ws();
      if (k === 0 || k === 1) {
        const start = s.p + 1;
        const end = s.name();
        if (end === OUT) return OUT;
        ranges[o + (k === 0 ? SENSOR_START : UNIT_START)] = start;
        ranges[o + (k === 0 ? SENSOR_END : UNIT_END)] = end;
      } else if (k === 2) {
        const start = s.p;
        const end = s.number();
        if (end === OUT) return OUT;
        ranges[o + VALUE_START] = start;
        ranges[o + VALUE_END] = end;
      } else if (!s.time(scratchTimes, n)) {
        return OUT;
      }
      if (s.take(B.COMMA)) continue;
      if (!s.take(B.RBRACE)) return OUT;
      break;
    }
    // sensor, unit and value are required.
    if ((seen & 0b111) !== 0b111) return OUT;
    n++;
    if (s.take(B.COMMA)) continue;
    if (!s.take(B.RBRACKET)) return OUT;
    break;
  }
  return n;
}
