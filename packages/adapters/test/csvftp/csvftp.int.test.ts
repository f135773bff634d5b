import { appendFileSync, existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileSystem, FtpSrv } from 'ftp-srv';
import { AdapterError, noopLogger, type LogFields, type Logger, type Reading } from '@energyrecorder/core';
import { getFreePort, makeTempDir, removeDir } from '@energyrecorder/testkit';
import { CsvFtpAdapter, csvFtpAdapterDefinition } from '../../src/csvftp/adapter.js';
import { csvFtpConfigSchema } from '../../src/csvftp/config.js';
import { warningsLogger } from '../fakes/capture-logger.js';
import { makeSelfSignedCert, type TestCert } from '../fakes/http-server.js';

const USER = 'meter';
const PASS = 'meter-pass-1';
/** Logs in to a file system that refuses to send files named `locked*`, as a meter still writing them does. */
const LOCKING_USER = 'locking-meter';

class LockingFileSystem extends FileSystem {
  override read(fileName: string, options?: { start?: unknown }): Promise<unknown> {
    if (/(^|\/)locked[^/]*$/.test(fileName)) return Promise.reject(new Error('file is locked'));
    return super.read(fileName, options);
  }
}

/** Logs in to a file system that tells {@link onFileRead} which file a client starts downloading. */
const WATCHED_USER = 'watched-meter';
let onFileRead: (fileName: string) => void = () => undefined;

class WatchedFileSystem extends FileSystem {
  override read(fileName: string, options?: { start?: unknown }): Promise<unknown> {
    onFileRead(fileName);
    return super.read(fileName, options);
  }
}

/** Logs in to a file system whose listings give every file a size of 0, as some servers' listing formats do. */
const SIZELESS_USER = 'sizeless-meter';

class SizelessFileSystem extends FileSystem {
  override list(path?: string): Promise<unknown> {
    return (super.list(path) as Promise<Array<{ size: number }>>).then((stats) => stats.map((st) => Object.assign(st, { size: 0 })));
  }
}

/** Logs in to a file system that refuses every DELE (550) while {@link refuseDeletes} is true. */
const NO_DELETE_USER = 'no-delete-meter';
let refuseDeletes = true;

class NoDeleteFileSystem extends FileSystem {
  override delete(path: string): Promise<unknown> {
    if (refuseDeletes) return Promise.reject(new Error('Permission denied'));
    return super.delete(path);
  }
}

/** ftp-srv logs through bunyan to stdout by default; tests keep it quiet. */
function quietBunyan(): Record<string, unknown> {
  const log: Record<string, unknown> = {};
  for (const level of ['trace', 'debug', 'info', 'warn', 'error', 'fatal']) log[level] = () => undefined;
  log['child'] = () => log;
  return log;
}

/** What the collector hands to acknowledge(): readings rebuilt from the spooled wire form, without `source`. */
const asAcknowledged = (readings: readonly Reading[]): Reading[] =>
  readings.map((r) => ({ sensor: r.sensor, unit: r.unit, value: r.value, timestampNs: Math.round(r.timestampNs) }));

const iso = (r: Reading | undefined): string => new Date(Math.round((r?.timestampNs ?? NaN) / 1e6)).toISOString();

describe('csvftp adapter against an ftp-srv server', () => {
  let root: string;
  let server: FtpSrv;
  let port: number;

  beforeAll(async () => {
    root = makeTempDir('csvftp');
    port = await getFreePort();
    const pasvMin = 20_000 + Math.floor(Math.random() * 20_000);
    server = new FtpSrv({
      url: `ftp://127.0.0.1:${port}`,
      pasv_url: '127.0.0.1',
      pasv_min: pasvMin,
      pasv_max: pasvMin + 200,
      anonymous: false,
      greeting: 'test meter drop box',
      log: quietBunyan(),
    });
    server.on('login', ({ connection, username, password }, resolve, reject) => {
      if (username === USER && password === PASS) resolve({ root });
      else if (username === LOCKING_USER && password === PASS) resolve({ fs: new LockingFileSystem(connection, { root, cwd: '/' }) });
      else if (username === WATCHED_USER && password === PASS) resolve({ fs: new WatchedFileSystem(connection, { root, cwd: '/' }) });
      else if (username === NO_DELETE_USER && password === PASS) resolve({ fs: new NoDeleteFileSystem(connection, { root, cwd: '/' }) });
      else if (username === SIZELESS_USER && password === PASS) resolve({ fs: new SizelessFileSystem(connection, { root, cwd: '/' }) });
      else reject(new Error('bad credentials'));
    });
    await server.listen();
  });

  afterEach(() => {
    onFileRead = () => undefined;
  });

  afterAll(async () => {
    await server.close();
    removeDir(root);
  });

  function dir(name: string): string {
    const d = join(root, name);
    mkdirSync(d, { recursive: true });
    return d;
  }

  function create(entry: Record<string, unknown>, logger: Logger = noopLogger, now?: () => number): CsvFtpAdapter {
    const config = csvFtpConfigSchema.parse({
      id: 'meter',
      type: 'csvftp',
      host: `127.0.0.1:${port}`,
      user: USER,
      pass: PASS,
      settle_ms: 0,
      timeout: 5,
      ...entry,
    });
    if (now !== undefined) return new CsvFtpAdapter(config, { logger, timeoutMs: 5000, now });
    const adapter = csvFtpAdapterDefinition.create(config, { logger, requestTimeoutMs: 5000, equipmentId: 'meter' });
    if (!(adapter instanceof CsvFtpAdapter)) throw new Error('unexpected adapter class');
    return adapter;
  }

  const signal = (): AbortSignal => new AbortController().signal;

  it('reads UTF-8 files with IANA zones across the autumn DST change', async () => {
    writeFileSync(
      join(dir('paris'), 'synthetic-meter-utf8.csv'),
      [
        'Date,TZ,Puissance (W),Température (°C)',
        '2024/10/27 01:30:00.500,Europe/Paris,100,21.5',
        '2024/10/27 03:30:00,Europe/Paris,101,21.6',
        '2024/10/27 02:30:00,+0100,102,21.7',
        '2024-10-27 02:31:00,Z,103,x',
      ].join('\n'),
    );
    const lines: Array<[string, LogFields]> = [];
    const readings = await create({ root_dir: '/paris', file_filter: '*.csv' }, warningsLogger(lines)).read(signal());
    const power = readings.filter((r) => r.sensor === 'Puissance');
    expect(power.map((r) => [r.value, iso(r)])).toEqual([
      [100, '2024-10-26T23:30:00.500Z'],
      [101, '2024-10-27T02:30:00.000Z'],
      [102, '2024-10-27T01:30:00.000Z'],
      [103, '2024-10-27T02:31:00.000Z'],
    ]);
    expect(readings.find((r) => r.sensor === 'Température')?.unit).toBe('°C');
    expect(lines.some(([m]) => m.includes('non-numeric'))).toBe(true);
  });

  it('reads latin1 and windows-1252 files when the encoding says so', async () => {
    const text = 'Date,TZ,Température (°C),Coût (€)\n2024/01/10 08:00:00,UTC,19.5,0.25\n';
    writeFileSync(join(dir('latin1'), 'synthetic-meter-latin1.csv'), Buffer.from(text.replace('€', 'EUR'), 'latin1'));
    const cp = Buffer.from(text.replace('€', '\u0000'), 'latin1');
    cp[cp.indexOf(0)] = 0x80;
    writeFileSync(join(dir('cp1252'), 'synthetic-meter-cp1252.csv'), cp);
    const latin = await create({ root_dir: '/latin1', encoding: 'latin1' }).read(signal());
    const win = await create({ root_dir: '/cp1252', encoding: 'cp1252' }).read(signal());
    expect(latin.map((r) => [r.sensor, r.unit, r.value])).toEqual([
      ['Température', '°C', 19.5],
      ['Coût', 'EUR', 0.25],
    ]);
    expect(win[1]?.unit).toBe('€');
    expect(iso(win[0])).toBe('2024-01-10T08:00:00.000Z');
  });

  it('reads UTF-16LE files with a BOM and applies the tz override', async () => {
    const text = 'Date,TZ,P (kW)\r\n2024/03/31 01:59:59.999,ignored,1.5\r\n2024/03/31 03:00:00,ignored,1.6\r\n';
    writeFileSync(join(dir('utf16'), 'synthetic-meter-utf16.csv'), Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]));
    const readings = await create({ root_dir: '/utf16', encoding: 'utf-16', tz: 'Europe/Paris' }).read(signal());
    // Spring forward: 01:59:59.999 CET and 03:00:00 CEST are one millisecond apart.
    expect(readings.map((r) => [r.value, iso(r)])).toEqual([
      [1.5, '2024-03-31T00:59:59.999Z'],
      [1.6, '2024-03-31T01:00:00.000Z'],
    ]);
  });

  it('gives identical points when the same file is read again by a new adapter', async () => {
    const first = await create({ root_dir: '/paris' }).read(signal());
    const second = await create({ root_dir: '/paris' }).read(signal());
    expect(second).toEqual(first);
  });

  it('purges files only after acknowledge when purge is on', async () => {
    const d = dir('purge');
    writeFileSync(join(d, 'a.csv'), 'Date,TZ,P (W)\n2024/05/01 10:00:00,Z,5\n');
    writeFileSync(join(d, 'empty.csv'), 'Date,TZ,P (W)\nnot a date,Z,5\n');
    const adapter = create({ root_dir: '/purge', purge: true });
    const readings = await adapter.read(signal());
    expect(readings.map((r) => r.value)).toEqual([5]);
    expect(existsSync(join(d, 'a.csv'))).toBe(true);
    expect(existsSync(join(d, 'empty.csv'))).toBe(false);
    expect(await adapter.read(signal())).toEqual([]);
    await adapter.acknowledge(asAcknowledged(readings), signal());
    expect(existsSync(join(d, 'a.csv'))).toBe(false);
    expect(adapter.pendingFiles).toEqual([]);
  });

  it('keeps a file whose deletion the server refuses, without reading it again, and deletes it once it can', async () => {
    const d = dir('undeletable');
    writeFileSync(join(d, 'a.csv'), 'Date,TZ,P (W)\n2024/05/01 10:00:00,Z,5\n');
    writeFileSync(join(d, 'empty.csv'), 'Date,TZ,P (W)\nnot a date,Z,5\n');
    const lines: Array<[string, LogFields]> = [];
    let now = 1_000_000;
    const adapter = create({ root_dir: '/undeletable', user: NO_DELETE_USER, purge: true }, warningsLogger(lines), () => now);
    const refused = (): string[] =>
      lines.filter(([m]) => m.startsWith('the server refused to delete')).map(([, f]) => `${String(f['file'])} ${String(f['ftpCode'])}`);
    refuseDeletes = true;
    const readings = await adapter.read(signal());
    expect(readings.map((r) => r.value)).toEqual([5]);
    // The file without readings could not be purged at once: kept, and its purge retried.
    expect(existsSync(join(d, 'empty.csv'))).toBe(true);
    expect(refused()).toEqual(['empty.csv 550']);
    await adapter.acknowledge(asAcknowledged(readings), signal());
    expect(existsSync(join(d, 'a.csv'))).toBe(true);
    expect(adapter.pendingFiles.sort()).toEqual(['a.csv', 'empty.csv']);
    expect(refused()).toEqual(['empty.csv 550', 'a.csv 550']);
    // Neither read nor sent again, however long the purge keeps failing (past ack_timeout_ms too).
    now += 2 * 3_600_000;
    expect(await adapter.read(signal())).toEqual([]);
    await adapter.acknowledge([], signal());
    expect(adapter.pendingFiles.sort()).toEqual(['a.csv', 'empty.csv']);
    // Warned once per file per 15 minutes, not at every attempt.
    expect(refused()).toEqual(['empty.csv 550', 'a.csv 550', 'a.csv 550', 'empty.csv 550']);
    now += 60_000;
    expect(await adapter.read(signal())).toEqual([]);
    expect(refused()).toHaveLength(4);
    // Deletes allowed again: the next poll purges both without reading them.
    refuseDeletes = false;
    expect(await adapter.read(signal())).toEqual([]);
    expect(existsSync(join(d, 'a.csv'))).toBe(false);
    expect(existsSync(join(d, 'empty.csv'))).toBe(false);
    expect(adapter.pendingFiles).toEqual([]);
  });

  it('keeps a file whose readings were only partly acknowledged', async () => {
    const d = dir('partial');
    writeFileSync(join(d, 'b.csv'), 'Date,TZ,P (W),Q (var)\n2024/05/01 10:00:00,Z,5,6\n');
    const adapter = create({ root_dir: '/partial', purge: true });
    const readings = await adapter.read(signal());
    await adapter.acknowledge(asAcknowledged(readings.slice(0, 1)), signal());
    expect(existsSync(join(d, 'b.csv'))).toBe(true);
    // The rest arrives in a second confirmation (the collector confirms per pushed batch).
    await adapter.acknowledge(asAcknowledged(readings.slice(1)), signal());
    expect(existsSync(join(d, 'b.csv'))).toBe(false);
  });

  it('keeps a file when the acknowledged values differ from what it produced', async () => {
    const d = dir('mismatch');
    writeFileSync(join(d, 'c.csv'), 'Date,TZ,P (W)\n2024/05/01 10:00:00,Z,5\n');
    const adapter = create({ root_dir: '/mismatch', purge: true });
    const readings = await adapter.read(signal());
    await adapter.acknowledge(asAcknowledged(readings).map((r) => ({ ...r, value: r.value + 1 })), signal());
    expect(existsSync(join(d, 'c.csv'))).toBe(true);
  });

  it('waits until a file stopped changing for settle_ms', async () => {
    const d = dir('settle');
    writeFileSync(join(d, 'c.csv'), 'Date,TZ,P (W)\n2024/05/01 10:00:00,Z,5\n');
    let now = 1_000_000;
    const adapter = create({ root_dir: '/settle', settle_ms: 30_000 }, noopLogger, () => now);
    expect(await adapter.read(signal())).toEqual([]);
    now += 10_000;
    writeFileSync(join(d, 'c.csv'), 'Date,TZ,P (W)\n2024/05/01 10:00:00,Z,5\n2024/05/01 10:00:01,Z,6\n');
    expect(await adapter.read(signal())).toEqual([]);
    now += 29_000;
    expect(await adapter.read(signal())).toEqual([]);
    now += 1_000;
    expect((await adapter.read(signal())).map((r) => r.value)).toEqual([5, 6]);
  });

  it('reads at most max_files per poll and continues on the next one', async () => {
    const d = dir('many');
    for (const n of [1, 2, 3]) writeFileSync(join(d, `m${n}.csv`), `Date,TZ,P (W)\n2024/05/01 10:00:0${n},Z,${n}\n`);
    const lines: Array<[string, LogFields]> = [];
    const adapter = create({ root_dir: '/many', max_files: 2 }, warningsLogger(lines));
    const first = await adapter.read(signal());
    expect(first.map((r) => r.value)).toEqual([1, 2]);
    expect(lines.some(([m]) => m.includes('max_files'))).toBe(true);
    await adapter.acknowledge(first, signal());
    expect((await adapter.read(signal())).map((r) => r.value)).toEqual([3]);
  });

  it('does not download a file larger than max_file_bytes, warns once while it is unchanged, and reads it once it fits', async () => {
    const d = dir('large');
    const line = (n: number): string => `2024/05/01 10:${String(Math.floor(n / 60)).padStart(2, '0')}:${String(n % 60).padStart(2, '0')},Z,${n}\n`;
    writeFileSync(join(d, 'a-small.csv'), `Date,TZ,P (W)\n${line(1)}`);
    let big = 'Date,TZ,P (W)\n';
    for (let n = 0; n < 100; n++) big += line(n);
    writeFileSync(join(d, 'b-big.csv'), big);
    const downloads: string[] = [];
    onFileRead = (name) => downloads.push(name);
    const lines: Array<[string, LogFields]> = [];
    const adapter = create({ root_dir: '/large', user: WATCHED_USER, max_file_bytes: 1000 }, warningsLogger(lines));
    const first = await adapter.read(signal());
    expect(first.map((r) => r.value)).toEqual([1]);
    await adapter.acknowledge(first, signal());
    expect(await adapter.read(signal())).toEqual([]);
    expect(downloads.map((n) => n.replace(/^.*\//, ''))).toEqual(['a-small.csv']);
    const warned = lines.filter(([m]) => m.includes('max_file_bytes'));
    expect(warned).toHaveLength(1);
    expect(warned[0]?.[1]).toMatchObject({ file: 'b-big.csv', bytes: big.length, maxFileBytes: 1000 });
    // The meter starts a new, smaller file under that name: it is read.
    writeFileSync(join(d, 'b-big.csv'), `Date,TZ,P (W)\n${line(7)}`);
    expect((await adapter.read(signal())).map((r) => r.value)).toEqual([7]);
  });

  it('spreads a backlog of large files over polls, within max_file_bytes read per poll', async () => {
    const d = dir('budget');
    const body = (v: number): string => `Date,TZ,P (W)\n${'2024/05/01 10:00:00,Z,0\n'.repeat(20)}2024/05/01 10:00:01,Z,${v}\n`;
    for (const v of [1, 2, 3]) writeFileSync(join(d, `f${v}.csv`), body(v));
    const size = body(1).length;
    const lines: Array<[string, LogFields]> = [];
    // Room for one file and a half per poll.
    const adapter = create({ root_dir: '/budget', max_file_bytes: Math.floor(size * 1.5) }, warningsLogger(lines));
    const seen: number[] = [];
    for (let poll = 0; poll < 3; poll++) {
      const readings = await adapter.read(signal());
      expect(new Set(readings.map((r) => r.value)).size).toBe(2);
      seen.push(Math.max(...readings.map((r) => r.value)));
      await adapter.acknowledge(readings, signal());
    }
    expect(seen).toEqual([1, 2, 3]);
    expect(await adapter.read(signal())).toEqual([]);
    expect(lines.some(([m]) => m.includes('file larger than max_file_bytes'))).toBe(false);
  });

  it('bounds a download whose listing gave no size, and keeps the session for the other files', async () => {
    const d = dir('sizeless');
    writeFileSync(join(d, 'a-big.csv'), `Date,TZ,P (W)\n${'2024/05/01 10:00:00,Z,5\n'.repeat(200)}`);
    writeFileSync(join(d, 'b-small.csv'), 'Date,TZ,P (W)\n2024/05/01 10:00:00,Z,9\n');
    const lines: Array<[string, LogFields]> = [];
    const adapter = create({ root_dir: '/sizeless', user: SIZELESS_USER, max_file_bytes: 1000 }, warningsLogger(lines));
    const first = await adapter.read(signal());
    expect(first.map((r) => r.value)).toEqual([9]);
    expect(lines.filter(([m, f]) => m.includes('max_file_bytes') && f['file'] === 'a-big.csv')).toHaveLength(1);
    await adapter.acknowledge(first, signal());
    // Not downloaded again while its listing is unchanged.
    expect(await adapter.read(signal())).toEqual([]);
    expect(lines.filter(([m]) => m.includes('max_file_bytes'))).toHaveLength(1);
  });

  it('reads the other files and retries later when the server refuses one file', async () => {
    const d = dir('locking');
    writeFileSync(join(d, 'a-ok.csv'), 'Date,TZ,P (W)\n2024/05/01 10:00:00,Z,1\n');
    writeFileSync(join(d, 'locked-b.csv'), 'Date,TZ,P (W)\n2024/05/01 10:00:00,Z,2\n');
    const lines: Array<[string, LogFields]> = [];
    const adapter = create({ root_dir: '/locking', user: LOCKING_USER }, warningsLogger(lines));
    expect((await adapter.read(signal())).map((r) => r.value)).toEqual([1]);
    expect(lines.some(([m, f]) => f['file'] === 'locked-b.csv' && m.includes('file skipped'))).toBe(true);
    // Once the meter is done with it (here: renamed away from the lock pattern), it is read; a-ok.csv waits for
    // its acknowledgement and is not sent twice.
    renameSync(join(d, 'locked-b.csv'), join(d, 'b.csv'));
    expect((await adapter.read(signal())).map((r) => r.value)).toEqual([2]);
  });

  it('marks no file pending when the read is aborted part-way, so the next poll reads them all', async () => {
    const d = dir('aborted');
    for (const n of [1, 2, 3]) writeFileSync(join(d, `f${n}.csv`), `Date,TZ,P (W)\n2024/05/01 10:00:0${n},Z,${n}\n`);
    const adapter = create({ root_dir: '/aborted', user: WATCHED_USER, purge: true });
    const deadline = new AbortController();
    onFileRead = (name) => {
      if (name.endsWith('f3.csv')) deadline.abort(new Error('poll deadline'));
    };
    const err = await adapter.read(deadline.signal).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as AdapterError).code).toBe('ER_ABORTED');
    expect(adapter.pendingFiles).toEqual([]);
    onFileRead = () => undefined;
    expect((await adapter.read(signal())).map((r) => r.value)).toEqual([1, 2, 3]);
    expect(adapter.pendingFiles).toEqual(['f1.csv', 'f2.csv', 'f3.csv']);
  });

  it('reads a pending file again when its acknowledgement did not come within ack_timeout_ms', async () => {
    const d = dir('unacknowledged');
    writeFileSync(join(d, 'u.csv'), 'Date,TZ,P (W)\n2024/05/01 10:00:00,Z,7\n');
    let now = 1_000_000;
    const lines: Array<[string, LogFields]> = [];
    const adapter = create({ root_dir: '/unacknowledged', purge: true, ack_timeout_ms: 60_000 }, warningsLogger(lines), () => now);
    expect((await adapter.read(signal())).map((r) => r.value)).toEqual([7]);
    now += 59_999;
    expect(await adapter.read(signal())).toEqual([]);
    now += 1;
    const again = await adapter.read(signal());
    expect(again.map((r) => r.value)).toEqual([7]);
    expect(lines.some(([m, f]) => f['file'] === 'u.csv' && m.includes('ack_timeout_ms'))).toBe(true);
    // Pending again from that read on, and purged once acknowledged.
    expect(await adapter.read(signal())).toEqual([]);
    await adapter.acknowledge(asAcknowledged(again), signal());
    expect(existsSync(join(d, 'u.csv'))).toBe(false);
  });

  it('skips lines with implausible times with one warning per file and keeps files left without readings', async () => {
    const d = dir('clock');
    writeFileSync(join(d, 'a-good.csv'), 'Date,TZ,P (W)\n2024/05/01 10:00:00,Z,100\n');
    writeFileSync(join(d, 'b-rtc-reset.csv'), 'Date,TZ,P (W)\n2000/01/01 00:00:05,Z,200\n2000/01/01 00:00:10,Z,201\n');
    writeFileSync(join(d, 'c-epoch.csv'), 'Date,TZ,P (W)\n1970/01/01 00:00:00,Europe/Paris,5\n');
    writeFileSync(join(d, 'd-mixed.csv'), 'Date,TZ,P (W)\n2000/01/01 00:00:05,Z,300\n2024/05/01 10:00:01,Z,301\n');
    const lines: Array<[string, LogFields]> = [];
    const adapter = create({ root_dir: '/clock', purge: true }, warningsLogger(lines));
    const readings = await adapter.read(signal());
    expect(readings.map((r) => r.value)).toEqual([100, 301]);
    const timeWarnings = (): Array<[unknown, unknown]> => lines.filter(([m]) => m.includes('implausible time')).map(([, f]) => [f['file'], f['lines']]);
    expect(timeWarnings()).toEqual([
      ['b-rtc-reset.csv', 2],
      ['c-epoch.csv', 1],
      ['d-mixed.csv', 1],
    ]);
    expect(adapter.pendingFiles).toEqual(['a-good.csv', 'd-mixed.csv']);
    // Files without a plausible reading are neither read again (nor warned about) while unchanged, nor deleted.
    expect(await adapter.read(signal())).toEqual([]);
    expect(timeWarnings()).toHaveLength(3);
    await adapter.acknowledge(asAcknowledged(readings), signal());
    expect(adapter.pendingFiles).toEqual([]);
    expect(existsSync(join(d, 'a-good.csv'))).toBe(false);
    expect(existsSync(join(d, 'b-rtc-reset.csv'))).toBe(true);
    expect(existsSync(join(d, 'c-epoch.csv'))).toBe(true);
  });

  it('does not purge a file that grew after it was read, and reads it again', async () => {
    const d = dir('append');
    const file = join(d, 'day.csv');
    writeFileSync(file, 'Date,TZ,P (W)\n2024/05/01 10:00:00,Z,1\n');
    const adapter = create({ root_dir: '/append', purge: true });
    const first = await adapter.read(signal());
    appendFileSync(file, '2024/05/01 10:01:00,Z,2\n');
    await adapter.acknowledge(asAcknowledged(first), signal());
    expect(existsSync(file)).toBe(true);
    expect(adapter.pendingFiles).toEqual([]);
    const second = await adapter.read(signal());
    expect(second.map((r) => r.value)).toEqual([1, 2]);
    await adapter.acknowledge(asAcknowledged(second), signal());
    expect(existsSync(file)).toBe(false);
  });

  it('fails with ER_CSVFTP_AUTH when the password is wrong', async () => {
    const err = await create({ root_dir: '/paris', pass: 'wrong' })
      .read(signal())
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(AdapterError);
    expect((err as AdapterError).code).toBe('ER_CSVFTP_AUTH');
    expect((err as AdapterError).retryable).toBe(false);
    expect((err as AdapterError).message).not.toContain('wrong');
  });

  it('fails with ER_CSVFTP_PATH when root_dir does not exist', async () => {
    const err = await create({ root_dir: '/nowhere' })
      .read(signal())
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect((err as AdapterError).code).toBe('ER_CSVFTP_PATH');
  });
});

describe('csvftp adapter over FTPS (explicit AUTH TLS, self-signed certificate)', () => {
  let root: string;
  let server: FtpSrv;
  let port: number;
  let cert: TestCert;

  beforeAll(async () => {
    root = makeTempDir('csvftps');
    cert = await makeSelfSignedCert(root);
    port = await getFreePort();
    const pasvMin = 20_000 + Math.floor(Math.random() * 20_000);
    server = new FtpSrv({
      url: `ftp://127.0.0.1:${port}`,
      pasv_url: '127.0.0.1',
      pasv_min: pasvMin,
      pasv_max: pasvMin + 200,
      anonymous: false,
      tls: { key: cert.keyPem, cert: cert.certPem },
      log: quietBunyan(),
    });
    server.on('login', ({ username, password }, resolve, reject) => {
      if (username === USER && password === PASS) resolve({ root: join(root, 'files') });
      else reject(new Error('bad credentials'));
    });
    mkdirSync(join(root, 'files'), { recursive: true });
    writeFileSync(join(root, 'files', 'synthetic-meter.csv'), 'Date,TZ,Power (W)\n2024/01/02 03:04:05,UTC,123\n');
    await server.listen();
  });

  afterAll(async () => {
    await server.close();
    removeDir(root);
  });

  const create = (entry: Record<string, unknown>): CsvFtpAdapter => {
    const config = csvFtpConfigSchema.parse({ id: 'meter', type: 'csvftp', host: `127.0.0.1:${port}`, user: USER, pass: PASS, settle_ms: 0, timeout: 5, secure: true, root_dir: '/', file_filter: '*.csv', ...entry });
    const adapter = csvFtpAdapterDefinition.create(config, { logger: noopLogger, requestTimeoutMs: 5000, equipmentId: 'meter' });
    if (!(adapter instanceof CsvFtpAdapter)) throw new Error('unexpected adapter class');
    return adapter;
  };

  it('refuses the self-signed certificate by default, and verifies it against the CA bundle verify_cert names', async () => {
    await expect(create({}).read(new AbortController().signal)).rejects.toBeInstanceOf(AdapterError);
    const readings = await create({ verify_cert: cert.certFile }).read(new AbortController().signal);
    expect(readings.map((r) => [r.sensor, r.value])).toEqual([['Power', 123]]);
    await expect(create({ verify_cert: join(root, 'missing-ca.pem') }).read(new AbortController().signal)).rejects.toMatchObject({
      code: 'ER_ADAPTER_CONFIG',
      retryable: false,
    });
  });
});
