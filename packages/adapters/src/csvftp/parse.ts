/**
 * Pure parsing of the CSV files meters drop on FTP servers: encodings, the `name (unit)` header, per-line date
 * and time zone, millisecond (and finer) precision. Timestamps depend only on the file's content, so a file sent
 * twice yields identical points.
 */
import { MAX_PLAUSIBLE_NS, MIN_PLAUSIBLE_NS, type Reading } from '@energyrecorder/core';

/** How a line's wall-clock time is turned into an instant. */
export type ZoneSpec =
  | { kind: 'offset'; minutes: number }
  | { kind: 'zone'; name: string }
  | { kind: 'local' };

/** Why a line or cell was skipped. */
export interface CsvWarning {
  /** 1-based line number in the file. */
  line: number;
  message: string;
}

/** Result of parsing one file. */
export interface CsvParseResult {
  readings: Reading[];
  warnings: CsvWarning[];
  /** Data lines that produced at least one reading. */
  goodLines: number;
  /** Data lines skipped because their time is implausible (see {@link isPlausibleTimestampNs}); not in `warnings`. */
  implausibleTimeLines: number;
  /** 1-based number of the first such line. */
  firstImplausibleLine?: number;
}

/** Options of {@link parseMeterCsv}. */
export interface CsvParseOptions {
  /** Overrides the zone column of every line (the original's `tz` key). */
  tz?: string | undefined;
  /** Field separator; default `,`. */
  delimiter?: string;
  /**
   * Decimal separator of the value cells; default `,` when `delimiter` is `;` (the European spreadsheet layout),
   * else `.`. With `,`, a `.` is still read as the decimal point; a cell with both (`1.234,5`) is non-numeric.
   */
  decimal?: '.' | ',' | undefined;
  /** Put into each reading's `source`. */
  source?: string;
}

/** Unit used when a header cell has no `(unit)`, as the original. */
export const CSV_NO_UNIT = 'n/d';

const OFFSET = /^(?:UTC|GMT)?([+-])(\d{1,2})(?::?(\d{2}))?$/i;

function isIanaZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/**
 * Reads a zone column or the `tz` key: `Z`, `±HH`, `±HHMM`, `±HH:MM` (optionally after `UTC`/`GMT`), an IANA
 * name such as `Europe/Paris` or `UTC`, else the host's local time (as the original did for anything else).
 */
export function parseZone(text: string | undefined): ZoneSpec {
  const t = (text ?? '').trim();
  if (t === '' || t.toLowerCase() === 'local') return { kind: 'local' };
  if (t === 'Z' || t === 'z') return { kind: 'offset', minutes: 0 };
  const m = OFFSET.exec(t);
  if (m) {
    const minutes = Number(m[2]) * 60 + Number(m[3] ?? '0');
    if (Number(m[2]) <= 18 && Number(m[3] ?? '0') < 60) return { kind: 'offset', minutes: m[1] === '-' ? -minutes : minutes };
  }
  if (isIanaZone(t)) return { kind: 'zone', name: t };
  return { kind: 'local' };
}

/** Whether a zone text is understood (anything else falls back to local time). */
export function isKnownZone(text: string): boolean {
  const t = text.trim();
  return t.toLowerCase() === 'local' || parseZone(t).kind !== 'local';
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Offset of `zone` from UTC at instant `utcMs`, in minutes, from the platform's tz database. */
export function zoneOffsetMinutes(zone: string, utcMs: number): number {
  let f = formatters.get(zone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone, f);
  }
  const parts: Record<string, number> = {};
  for (const p of f.formatToParts(new Date(utcMs))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  const wall = Date.UTC(parts['year'] ?? 1970, (parts['month'] ?? 1) - 1, parts['day'] ?? 1, parts['hour'] ?? 0, parts['minute'] ?? 0, parts['second'] ?? 0);
  const whole = Math.floor(utcMs / 1000) * 1000;
  return Math.round((wall - whole) / 60_000);
}

/**
 * Converts a wall-clock time (expressed as if it were UTC, in ms) in an IANA zone to epoch ms. In the hour
 * repeated when clocks go back, and in the hour skipped when they go forward, the zone's standard-time offset
 * is used, as pytz's `localize()` did by default in the original.
 */
export function zonedWallToEpochMs(wallMs: number, zone: string): number {
  const day = 86_400_000;
  const before = zoneOffsetMinutes(zone, wallMs - day);
  const after = zoneOffsetMinutes(zone, wallMs + day);
  const candidates = [...new Set([before, after])]
    .map((off) => wallMs - off * 60_000)
    .filter((t) => wallMs - zoneOffsetMinutes(zone, t) * 60_000 === t);
  if (candidates.length === 1 && candidates[0] !== undefined) return candidates[0];
  return wallMs - Math.min(before, after) * 60_000;
}

/** A wall-clock date and time, with the fraction of a second kept in ms (may have decimals). */
export interface WallTime {
  /** The wall time read as if it were UTC, in ms. */
  wallMs: number;
  /** Zone written inside the date cell itself (ISO style `Z` / `+02:00`), if any. */
  inlineZone: ZoneSpec | undefined;
}

const DATE_TIME =
  /^(\d{4})[/-](\d{1,2})[/-](\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/** Parses `YYYY/MM/DD HH:MM:SS[.fff]` (`-` and `T` accepted, optional ISO zone); undefined when malformed. */
export function parseWallTime(text: string): WallTime | undefined {
  const m = DATE_TIME.exec(text.trim());
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6] ?? '0'].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return undefined;
  const base = Date.UTC(year, month - 1, day, hour, minute, second);
  // Day 31 of a 30-day month rolls over in Date.UTC: refuse it instead.
  if (new Date(base).getUTCDate() !== day) return undefined;
  // Scale the digits as an integer count of ns so ".123" is exactly 123 ms, not 123.00000000000001.
  const fraction = m[7] === undefined ? 0 : Number(m[7].padEnd(9, '0')) / 1e6;
  return { wallMs: base + fraction, inlineZone: m[8] === undefined ? undefined : parseZone(m[8]) };
}

let hostZoneCache: { tz: string | undefined; name: string | undefined } | undefined;

/** The host's IANA zone name (undefined when the platform gives none), looked up again when `TZ` changes. */
function hostZone(): string | undefined {
  const tz = process.env['TZ'];
  if (hostZoneCache === undefined || hostZoneCache.tz !== tz) {
    const name = new Intl.DateTimeFormat().resolvedOptions().timeZone;
    hostZoneCache = { tz, name: name !== '' && isIanaZone(name) ? name : undefined };
  }
  return hostZoneCache.name;
}

/** Epoch ms of a wall time in a zone. */
export function wallToEpochMs(wallMs: number, zone: ZoneSpec): number {
  switch (zone.kind) {
    case 'offset':
      return wallMs - zone.minutes * 60_000;
    case 'zone':
      return zonedWallToEpochMs(wallMs, zone.name);
    case 'local': {
      // The host's zone by name, so its repeated and skipped hours follow the same standard-time rule as a named
      // zone (the Date constructor would take daylight time in the repeated hour).
      const host = hostZone();
      if (host !== undefined) return zonedWallToEpochMs(wallMs, host);
      const d = new Date(wallMs);
      const whole = Math.floor(wallMs);
      const local = new Date(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds());
      return local.getTime() + (wallMs - whole);
    }
  }
}

/** Splits one CSV line; double quotes group a field and `""` escapes a quote. */
export function splitCsvLine(line: string, delimiter = ','): string[] {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field.trim() === '') {
      quoted = true;
      field = '';
    } else if (c === delimiter) {
      out.push(field);
      field = '';
    } else field += c;
  }
  out.push(field);
  return out.map((f) => f.trim());
}

/** `Power (W)` → `{name: 'Power', unit: 'W'}`; no parentheses → unit `n/d`. */
export function parseHeaderCell(cell: string): { name: string; unit: string } {
  const m = /^(.*?)\s*\(([^()]*)\)\s*$/.exec(cell.trim());
  if (m && (m[1] ?? '') !== '') return { name: (m[1] ?? '').trim(), unit: (m[2] ?? '').trim() || CSV_NO_UNIT };
  return { name: cell.trim(), unit: CSV_NO_UNIT };
}

/** 64-bit ns timestamps (InfluxDB, SQLite) end in April 2262, before core's upper bound. */
const MAX_STORABLE_NS = 2 ** 63;

/**
 * Whether an epoch-ns time is one the recording API accepts: after 2001-09-09 and before 2262. A meter whose
 * clock was reset writes 2000-01-01 or 1970-01-01; one such point makes the API refuse the whole batch, and a
 * time <= 0 is read downstream as "no time" and replaced by the collect time.
 */
export function isPlausibleTimestampNs(ns: number): boolean {
  return ns >= MIN_PLAUSIBLE_NS && ns < Math.min(MAX_PLAUSIBLE_NS, MAX_STORABLE_NS);
}

const NUMBER = /^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/;

/**
 * Parses one meter CSV: header `date, zone, name (unit), ...`; each data line `datetime, zone, values...`.
 * Non-numeric cells and unreadable lines are skipped and reported in `warnings`; lines with an implausible time
 * are skipped and only counted, so the caller can report them once per file.
 */
export function parseMeterCsv(text: string, options: CsvParseOptions = {}): CsvParseResult {
  const delimiter = options.delimiter ?? ',';
  const decimalComma = (options.decimal ?? (delimiter === ';' ? ',' : '.')) === ',';
  const override = options.tz === undefined || options.tz.trim() === '' ? undefined : parseZone(options.tz);
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\n|\r/);
  const warnings: CsvWarning[] = [];
  const readings: Reading[] = [];
  let goodLines = 0;
  let implausibleTimeLines = 0;
  let firstImplausibleLine: number | undefined;
  const headerIndex = lines.findIndex((l) => l.trim() !== '');
  if (headerIndex < 0) return { readings, warnings, goodLines, implausibleTimeLines };
  const header = splitCsvLine(lines[headerIndex] ?? '', delimiter).slice(2).map(parseHeaderCell);
  if (header.length === 0) warnings.push({ line: headerIndex + 1, message: 'header has no value columns after date and zone' });
  for (let i = headerIndex + 1; i < lines.length; i++) {
    const raw = lines[i] ?? '';
    if (raw.trim() === '') continue;
    const lineNo = i + 1;
    const cells = splitCsvLine(raw, delimiter);
    const wall = parseWallTime(cells[0] ?? '');
    if (wall === undefined) {
      warnings.push({ line: lineNo, message: `unreadable date "${(cells[0] ?? '').slice(0, 40)}"; line skipped` });
      continue;
    }
    const zoneText = cells[1] ?? '';
    const zone = override ?? wall.inlineZone ?? parseZone(zoneText);
    if (override === undefined && wall.inlineZone === undefined && zoneText !== '' && !isKnownZone(zoneText)) {
      warnings.push({ line: lineNo, message: `unknown time zone "${zoneText}"; using the host's local time` });
    }
    const epochMs = wallToEpochMs(wall.wallMs, zone);
    const timestampNs = Math.round(epochMs * 1_000_000);
    if (!isPlausibleTimestampNs(timestampNs)) {
      implausibleTimeLines += 1;
      firstImplausibleLine ??= lineNo;
      continue;
    }
    let any = false;
    header.forEach((col, c) => {
      const cell = cells[c + 2];
      if (cell === undefined || cell === '') return;
      const text = decimalComma ? cell.replace(',', '.') : cell;
      if (!NUMBER.test(text)) {
        warnings.push({ line: lineNo, message: `non-numeric value "${cell.slice(0, 40)}" for ${col.name}; cell skipped` });
        return;
      }
      const value = Number(text);
      if (!Number.isFinite(value)) {
        // `1e999` passes the pattern but is Infinity, which no time-series store accepts.
        warnings.push({ line: lineNo, message: `value "${cell.slice(0, 40)}" out of range for ${col.name}; cell skipped` });
        return;
      }
      const reading: Reading = { sensor: col.name, unit: col.unit, value, timestampNs };
      if (options.source !== undefined) reading.source = options.source;
      readings.push(reading);
      any = true;
    });
    if (any) goodLines += 1;
  }
  const result: CsvParseResult = { readings, warnings, goodLines, implausibleTimeLines };
  if (firstImplausibleLine !== undefined) result.firstImplausibleLine = firstImplausibleLine;
  return result;
}

/** Normalises Python-style encoding names (`utf8`, `latin1`, `cp1252`, `utf_16_le`) to WHATWG labels. */
export function normaliseEncoding(name: string): string {
  const n = name.trim().toLowerCase().replace(/_/g, '-');
  const aliases: Record<string, string> = {
    utf8: 'utf-8',
    'utf-8-sig': 'utf-8',
    u8: 'utf-8',
    latin1: 'latin1',
    'latin-1': 'latin1',
    'iso-8859-1': 'latin1',
    'iso8859-1': 'latin1',
    l1: 'latin1',
    cp1252: 'windows-1252',
    'windows-1252': 'windows-1252',
    utf16: 'utf-16',
    'utf-16': 'utf-16',
    'utf-16le': 'utf-16le',
    'utf-16-le': 'utf-16le',
    'utf-16be': 'utf-16be',
    'utf-16-be': 'utf-16be',
  };
  return aliases[n] ?? n;
}

// Windows-1252 differs from ISO-8859-1 only in 0x80-0x9F. Node's TextDecoder('windows-1252') decodes as
// ISO-8859-1, so the euro sign and typographic quotes come out as C1 controls: map that range ourselves.
const CP1252_HIGH = [
  0x20ac, 0x81, 0x201a, 0x192, 0x201e, 0x2026, 0x2020, 0x2021, 0x2c6, 0x2030, 0x160, 0x2039, 0x152, 0x8d, 0x17d, 0x8f,
  0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x2dc, 0x2122, 0x161, 0x203a, 0x153, 0x9d, 0x17e, 0x178,
];

function decodeWindows1252(b: Uint8Array): string {
  let out = '';
  for (const byte of b) out += String.fromCharCode(byte >= 0x80 && byte < 0xa0 ? (CP1252_HIGH[byte - 0x80] ?? byte) : byte);
  return out;
}

/** Whether {@link decodeText} can handle the encoding. */
export function isSupportedEncoding(name: string): boolean {
  const label = normaliseEncoding(name);
  if (label === 'latin1' || label === 'utf-16' || label === 'windows-1252') return true;
  try {
    new TextDecoder(label);
    return true;
  } catch {
    return false;
  }
}

/**
 * Decodes file bytes. A byte-order mark wins over the configured encoding (meters writing UTF-16 always put
 * one); `latin1` is true ISO-8859-1 (as Python's), `cp1252` is Windows-1252.
 */
export function decodeText(bytes: Uint8Array, encoding: string): string {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) return new TextDecoder('utf-8').decode(b.subarray(3));
  if (b[0] === 0xff && b[1] === 0xfe) return new TextDecoder('utf-16le').decode(b.subarray(2));
  if (b[0] === 0xfe && b[1] === 0xff) return new TextDecoder('utf-16be').decode(b.subarray(2));
  const label = normaliseEncoding(encoding);
  if (label === 'latin1') return b.toString('latin1');
  if (label === 'windows-1252') return decodeWindows1252(b);
  if (label === 'utf-16') return new TextDecoder('utf-16le').decode(b);
  return new TextDecoder(label).decode(b);
}

/** Converts the original's `file_filter` glob (`*`, `?`, `[abc]`) to a whole-name regular expression. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] ?? '';
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        const body = glob.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\');
        re += `[${body}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}
