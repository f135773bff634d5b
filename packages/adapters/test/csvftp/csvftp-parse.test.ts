import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { build } from 'esbuild';
import { DEFAULT_CSVFTP, csvFtpConfigSchema } from '../../src/csvftp/config.js';
import {
  decodeText,
  globToRegExp,
  parseHeaderCell,
  parseMeterCsv,
  parseWallTime,
  parseZone,
  splitCsvLine,
  wallToEpochMs,
  zonedWallToEpochMs,
} from '../../src/csvftp/parse.js';

// Epoch ns exceed 2^53, so compare at ms resolution (rounded, not truncated).
const iso = (ns: number | undefined): string => new Date(Math.round((ns ?? NaN) / 1e6)).toISOString();

describe('csvftp zones', () => {
  it('reads offsets, Z, UTC and IANA names', () => {
    expect(parseZone('+0200')).toEqual({ kind: 'offset', minutes: 120 });
    expect(parseZone('-05:30')).toEqual({ kind: 'offset', minutes: -330 });
    expect(parseZone('Z')).toEqual({ kind: 'offset', minutes: 0 });
    expect(parseZone('UTC')).toEqual({ kind: 'zone', name: 'UTC' });
    expect(parseZone('Europe/Paris')).toEqual({ kind: 'zone', name: 'Europe/Paris' });
    expect(parseZone('CEST-ish')).toEqual({ kind: 'local' });
  });

  it('follows the DST change when the zone is Europe/Paris', () => {
    const wall = (s: string): number => parseWallTime(s)?.wallMs ?? NaN;
    // Clocks go forward at 02:00 local on 2024-03-31 and back at 03:00 local on 2024-10-27.
    expect(new Date(zonedWallToEpochMs(wall('2024/03/31 01:30:00'), 'Europe/Paris')).toISOString()).toBe('2024-03-31T00:30:00.000Z');
    expect(new Date(zonedWallToEpochMs(wall('2024/03/31 03:30:00'), 'Europe/Paris')).toISOString()).toBe('2024-03-31T01:30:00.000Z');
    expect(new Date(zonedWallToEpochMs(wall('2024/10/27 01:30:00'), 'Europe/Paris')).toISOString()).toBe('2024-10-26T23:30:00.000Z');
    expect(new Date(zonedWallToEpochMs(wall('2024/10/27 03:30:00'), 'Europe/Paris')).toISOString()).toBe('2024-10-27T02:30:00.000Z');
  });

  it('uses standard time for the repeated and the skipped hour', () => {
    const wall = (s: string): number => parseWallTime(s)?.wallMs ?? NaN;
    expect(new Date(zonedWallToEpochMs(wall('2024/10/27 02:30:00'), 'Europe/Paris')).toISOString()).toBe('2024-10-27T01:30:00.000Z');
    expect(new Date(zonedWallToEpochMs(wall('2024/03/31 02:30:00'), 'Europe/Paris')).toISOString()).toBe('2024-03-31T01:30:00.000Z');
  });

  it('converts local times in the host zone, with the standard-time rule at its DST changes', async () => {
    // Jest's process.env is a copy, so TZ can only be changed for a child process: run parse.ts there, bundled.
    const bundle = await build({
      entryPoints: [join(__dirname, '..', '..', 'src', 'csvftp', 'parse.ts')],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      write: false,
      logLevel: 'silent',
    });
    const code = `${bundle.outputFiles[0]?.text ?? ''}
      const csv = module.exports;
      const out = JSON.parse(process.argv[1]).map((t) => new Date(csv.wallToEpochMs(csv.parseWallTime(t).wallMs, { kind: 'local' })).toISOString());
      process.stdout.write(JSON.stringify(out));`;
    const inZone = (tz: string, times: string[]): string[] => {
      const r = spawnSync(process.execPath, ['-e', code, JSON.stringify(times)], { env: { ...process.env, TZ: tz }, encoding: 'utf8' });
      expect(r.stderr).toBe('');
      return JSON.parse(r.stdout) as string[];
    };

    // New York: clocks go back at 02:00 EDT on 2024-11-03 (01:30 happens twice), forward at 02:00 EST on 2024-03-10.
    expect(inZone('America/New_York', ['2024/07/01 12:00:00.250', '2024/01/15 12:00:00', '2024/11/03 01:30:00', '2024/03/10 02:30:00'])).toEqual([
      '2024-07-01T16:00:00.250Z',
      '2024-01-15T17:00:00.000Z',
      '2024-11-03T06:30:00.000Z',
      '2024-03-10T07:30:00.000Z',
    ]);
    expect(inZone('Asia/Tokyo', ['2024/07/01 12:00:00'])).toEqual(['2024-07-01T03:00:00.000Z']);
  });

  it('handles a southern-hemisphere zone', () => {
    const w = parseWallTime('2024-01-15 12:00:00')?.wallMs ?? NaN;
    expect(new Date(wallToEpochMs(w, { kind: 'zone', name: 'Australia/Sydney' })).toISOString()).toBe('2024-01-15T01:00:00.000Z');
  });
});

describe('csvftp dates', () => {
  it('keeps milliseconds and finer fractions', () => {
    expect(parseWallTime('2024/05/01 10:00:00.123')?.wallMs).toBe(Date.UTC(2024, 4, 1, 10, 0, 0, 123));
    expect(parseWallTime('2024-05-01 10:00:00.1234')?.wallMs).toBeCloseTo(Date.UTC(2024, 4, 1, 10) + 123.4, 6);
  });

  it('reads an ISO zone written inside the date cell', () => {
    expect(parseWallTime('2024-05-01T10:00:00+02:00')?.inlineZone).toEqual({ kind: 'offset', minutes: 120 });
  });

  it('refuses impossible dates', () => {
    expect(parseWallTime('2024/02/30 10:00:00')).toBeUndefined();
    expect(parseWallTime('2024/13/01 10:00:00')).toBeUndefined();
    expect(parseWallTime('yesterday')).toBeUndefined();
  });
});

describe('csvftp CSV parsing', () => {
  const csv = [
    'date,tz,Power (W),Energy (kWh),Status',
    '2024/05/01 10:00:00.250,+02:00,120.5,1.25,ok',
    '2024/05/01 10:00:01,Z,121,n/a,',
    'garbage line',
    '',
  ].join('\r\n');

  it('produces readings with units from the header and ms-precise timestamps', () => {
    const r = parseMeterCsv(csv, { source: 'f.csv' });
    expect(r.readings.map((x) => [x.sensor, x.unit, x.value, iso(x.timestampNs)])).toEqual([
      ['Power', 'W', 120.5, '2024-05-01T08:00:00.250Z'],
      ['Energy', 'kWh', 1.25, '2024-05-01T08:00:00.250Z'],
      ['Power', 'W', 121, '2024-05-01T10:00:01.000Z'],
    ]);
    expect(r.goodLines).toBe(2);
    expect(r.readings[0]?.source).toBe('f.csv');
  });

  it('warns about non-numeric cells and unreadable lines', () => {
    const r = parseMeterCsv(csv);
    expect(r.warnings.map((w) => w.line)).toEqual([2, 3, 4]);
    expect(r.warnings[2]?.message).toContain('unreadable date');
  });

  it('skips a cell with a warning when its number overflows to Infinity', () => {
    const r = parseMeterCsv('date,tz,P (W),Q (var)\n2024/05/01 10:00:00,Z,1e999,2\n');
    expect(r.readings.map((x) => [x.sensor, x.value])).toEqual([['Q', 2]]);
    expect(r.warnings.map((w) => w.message)).toEqual(['value "1e999" out of range for P; cell skipped']);
  });

  it('applies the tz override instead of the zone column', () => {
    const r = parseMeterCsv(csv, { tz: 'UTC' });
    expect(iso(r.readings[0]?.timestampNs)).toBe('2024-05-01T10:00:00.250Z');
  });

  it('skips and counts lines whose time the API would refuse when the meter clock was reset', () => {
    const r = parseMeterCsv(
      [
        'date,tz,P (W)',
        '1970/01/01 00:00:00,Europe/Paris,1',
        '2000/01/01 00:00:05,Z,2',
        '2001/09/09 01:46:39,Z,3',
        '2001/09/09 01:46:40,Z,4',
        '2024/05/01 10:00:00,Z,5',
        '2262/05/01 00:00:00,Z,6',
      ].join('\n'),
    );
    // 1e18 ns is 2001-09-09T01:46:40Z; 2^63 ns (the end of 64-bit ns storage) is in April 2262.
    expect(r.readings.map((x) => x.value)).toEqual([4, 5]);
    expect(r.implausibleTimeLines).toBe(4);
    expect(r.firstImplausibleLine).toBe(2);
    expect(r.warnings).toEqual([]);
  });

  it('gives identical timestamps when the same file is parsed twice', () => {
    expect(parseMeterCsv(csv).readings).toEqual(parseMeterCsv(csv).readings);
  });

  it('reads decimal commas in ;-delimited files by default, and with decimal: "," in others', () => {
    const values = (text: string, options: Parameters<typeof parseMeterCsv>[1]): Array<number | string> => {
      const r = parseMeterCsv(text, options);
      return [...r.readings.map((x) => x.value), ...r.warnings.map((w) => w.message)];
    };
    const semicolon = 'Date;TZ;P (W);Q (var);E (kWh)\n2024/05/01 10:00:00;UTC;1,5;-2,25;3.5\n';
    // `;` files: decimal comma by default; a point is still a decimal point (what the original read).
    expect(values(semicolon, { delimiter: ';' })).toEqual([1.5, -2.25, 3.5]);
    expect(values(semicolon, { delimiter: ';', decimal: ',' })).toEqual([1.5, -2.25, 3.5]);
    // decimal: '.' keeps the original's reading: "1,5" is not a number.
    expect(values(semicolon, { delimiter: ';', decimal: '.' })).toEqual([
      3.5,
      'non-numeric value "1,5" for P; cell skipped',
      'non-numeric value "-2,25" for Q; cell skipped',
    ]);
    // Two separators (thousands grouping) are not guessed at.
    expect(values('D;Z;P (W)\n2024/05/01 10:00:00;UTC;1.234,5\n', { delimiter: ';' })).toEqual([
      'non-numeric value "1.234,5" for P; cell skipped',
    ]);
    // `,` files keep the original's default; a quoted "1,5" is read with decimal: ','.
    const comma = 'D,Z,P (W)\n2024/05/01 10:00:00,UTC,"1,5"\n';
    expect(values(comma, {})).toEqual(['non-numeric value "1,5" for P; cell skipped']);
    expect(values(comma, { decimal: ',' })).toEqual([1.5]);
  });

  it('accepts decimal "." or "," and no other', () => {
    expect(csvFtpConfigSchema.parse({ host: 'ftp', delimiter: ';', decimal: ',' }).decimal).toBe(',');
    expect(csvFtpConfigSchema.parse({ host: 'ftp' }).decimal).toBeUndefined();
    expect(csvFtpConfigSchema.safeParse({ host: 'ftp', decimal: ';' }).success).toBe(false);
  });

  it('splits quoted fields and header units', () => {
    expect(splitCsvLine('"a, b",2,"say ""hi"""')).toEqual(['a, b', '2', 'say "hi"']);
    expect(parseHeaderCell('Active power (kW)')).toEqual({ name: 'Active power', unit: 'kW' });
    expect(parseHeaderCell('Counter')).toEqual({ name: 'Counter', unit: 'n/d' });
  });
});

describe('csvftp encodings and filters', () => {
  it('decodes latin1, cp1252 and BOM-marked UTF-16 and UTF-8', () => {
    expect(decodeText(Buffer.from([0x54, 0xb0, 0x43]), 'latin1')).toBe('T°C');
    expect(decodeText(Buffer.from([0x80]), 'cp1252')).toBe('€');
    expect(decodeText(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('T°', 'utf16le')]), 'utf8')).toBe('T°');
    expect(decodeText(Buffer.from([0xef, 0xbb, 0xbf, 0x41]), 'latin1')).toBe('A');
  });

  it('matches the original file_filter globs', () => {
    expect(globToRegExp('*.csv').test('meter-1.csv')).toBe(true);
    expect(globToRegExp('*.csv').test('meter-1.csv.part')).toBe(false);
    expect(globToRegExp('m?[0-9].CSV').test('m10.CSV')).toBe(true);
  });

  it('refuses unknown encodings and zones by key when parsed', () => {
    const r = csvFtpConfigSchema.safeParse({ host: 'ftp', encoding: 'klingon', tz: 'Mars/Base' });
    expect(r.success).toBe(false);
    expect(r.success ? [] : r.error.issues.map((i) => i.path.join('.'))).toEqual(['encoding', 'tz']);
  });

  it('applies the defaults of the original keys when parsed', () => {
    expect(csvFtpConfigSchema.parse({ host: 'ftp.lab:2121', user: 'u', pass: 'p', root_dir: '/meters' })).toMatchObject({
      address: 'ftp.lab',
      port: 2121,
      file_filter: '*',
      encoding: 'utf8',
      purge: false,
      settle_ms: 30000,
    });
  });

  it('bounds the files read per poll and the wait for acknowledgements when the keys are absent', () => {
    const cfg = csvFtpConfigSchema.parse({ host: 'ftp.lab' });
    expect(cfg.max_files).toBe(DEFAULT_CSVFTP.maxFiles);
    expect(cfg.max_files).toBe(100);
    expect(cfg.ack_timeout_ms).toBe(3_600_000);
  });
});
