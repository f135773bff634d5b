import { crc32 } from 'node:zlib';
import type { Stats } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, truncate, writeFile, type FileHandle } from 'node:fs/promises';
import { join, resolve as resolvePath } from 'node:path';
import { noopLogger, type Logger } from '@energyrecorder/core';
import { SpoolError } from '../errors.js';

/** One spooled batch: the readings of one device's poll, as they will be POSTed. */
export interface SpoolRecord {
  environment: string;
  equipmentId: string;
  topology?: Record<string, string>;
  /** Collect time of the poll, epoch ns. */
  time: number;
  measurements: WireMeasurement[];
}

/** One measurement as the recording API expects it. */
export interface WireMeasurement {
  sensor: string;
  unit: string;
  value: number;
  /** Epoch ns. */
  time: number;
}

/** A place in the spool: a segment and a byte offset inside it. */
export interface SpoolPosition {
  segment: number;
  offset: number;
}

/** A record read back from the spool with the position just after it. */
export interface PeekedRecord {
  record: SpoolRecord;
  /** Position of the record itself: a stable identity while it is in the spool. */
  at: SpoolPosition;
  /** Position just after it: commit this to consume it. */
  next: SpoolPosition;
  readings: number;
}

/** Options of {@link Spool.open}. */
export interface SpoolOptions {
  /**
   * Upper bound of the spool's size on disk (every segment file, the part already sent of the oldest one
   * included); above it the oldest segments are dropped. One append larger than the bound is kept whole, alone in
   * its segment, until it is sent or a later append pushes it out.
   */
  maxBytes: number;
  /**
   * Size at which a segment is closed and a new one started. Default `maxBytes / 8`, between 4 KiB and 8 MiB;
   * never more than `maxBytes`.
   */
  segmentBytes?: number;
  logger?: Logger;
  /** Calls fsync after each append and cursor update. Default true; benchmarks may turn it off. */
  fsync?: boolean;
}

/** Depth of the spool: what is waiting to be sent. */
export interface SpoolDepth {
  records: number;
  readings: number;
  /** Bytes of the records waiting. */
  bytes: number;
  /** Bytes of the segment files on disk: the waiting records plus the part already sent of the oldest segment. */
  diskBytes: number;
  segments: number;
  /**
   * Records and readings dropped since the process started: because the spool was full, or because a record
   * read back was corrupt (bad checksum).
   */
  droppedRecords: number;
  droppedReadings: number;
}

interface SegmentInfo {
  seq: number;
  size: number;
  records: number;
  readings: number;
  /**
   * Open from the moment the segment exists until it is deleted (`a+` for the one appended to): reads go through
   * it, so a segment removed behind the spool's back (its directory deleted) can still be read and rewritten.
   */
  fh?: FileHandle;
}

/** Identity of a file or directory, to tell that a path no longer names the one the spool opened. */
interface FileId {
  dev: number;
  ino: number;
}

const SEGMENT_RE = /^seg-(\d{12})\.log$/;
const CURSOR_FILE = 'cursor.json';
const LOCK_FILE = 'lock.pid';
/** First read of a peek; a record longer than this is read on until its newline, bounded by the segment. */
const PEEK_BYTES = 4 * 1024 * 1024;
/** Chunk size when unsent records are copied into a recreated spool directory. */
const COPY_BYTES = 1024 * 1024;
/**
 * The cursor file is always written padded to this size, so that on a full disk it can be overwritten in place
 * (same bytes, no new block) when a new file for the atomic rename cannot be written.
 */
const CURSOR_BYTES = 64;

/**
 * Spool directories this process holds open. A `lock.pid` naming our own pid is stale (a previous incarnation
 * with the same pid, as PID 1 in a restarted container) unless the directory is in here.
 */
const openSpoolDirs = new Set<string>();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else, so it is alive.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function fileId(st: Stats): FileId {
  return { dev: st.dev, ino: st.ino };
}

function sameFile(a: FileId | undefined, b: FileId | undefined): boolean {
  return a !== undefined && b !== undefined && a.dev === b.dev && a.ino === b.ino;
}

function errorCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** An error's message; `instanceof Error` is not enough, as errors may come from another realm (test sandboxes). */
function messageOf(err: unknown): string {
  const message = (err as { message?: unknown } | undefined)?.message;
  return typeof message === 'string' ? message : String(err);
}

function segmentName(seq: number): string {
  return `seg-${String(seq).padStart(12, '0')}.log`;
}

/** `<crc32 of rest, 8 hex> <readings count> <json>\n`: the count lets accounting skip JSON parsing. */
function encodeLine(record: SpoolRecord): Buffer {
  const body = `${record.measurements.length} ${JSON.stringify(record)}`;
  const crc = crc32(body).toString(16).padStart(8, '0');
  return Buffer.from(`${crc} ${body}\n`, 'utf8');
}

interface DecodedLine {
  readings: number;
  json: string;
}

function decodeLine(line: string): DecodedLine | undefined {
  if (line.length < 12 || line[8] !== ' ') return undefined;
  const body = line.slice(9);
  if (crc32(body).toString(16).padStart(8, '0') !== line.slice(0, 8)) return undefined;
  const space = body.indexOf(' ');
  const readings = Number(body.slice(0, space));
  if (space <= 0 || !Number.isInteger(readings)) return undefined;
  return { readings, json: body.slice(space + 1) };
}

/** Calls `fn` for each complete line of `buf` that ends before `end`, with its decoding and the offset after it. */
function forEachLine(buf: Buffer, end: number, fn: (decoded: DecodedLine | undefined, after: number) => void): void {
  let pos = 0;
  while (pos < end) {
    const nl = buf.indexOf(0x0a, pos);
    if (nl < 0 || nl >= end) break;
    fn(decodeLine(buf.toString('utf8', pos, nl)), nl + 1);
    pos = nl + 1;
  }
}

/** Writes all of `data` at the end of the file: `write` may write fewer bytes than asked (disk full, quotas). */
async function writeAll(fh: FileHandle, data: Buffer): Promise<void> {
  let written = 0;
  while (written < data.length) {
    const { bytesWritten } = await fh.write(data, written, data.length - written);
    if (bytesWritten <= 0) throw new Error(`short write: ${written} of ${data.length} bytes written`);
    written += bytesWritten;
  }
}

/**
 * Makes the directory's entries durable: a file just created, or a rename into it, survives a power cut only
 * once its directory is synced, whatever was fsynced in the file itself.
 */
async function syncDir(dir: string): Promise<void> {
  const dh = await open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

/** Reads up to `length` bytes at `position`; fewer only at the end of the file. */
async function readAt(fh: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await fh.read(buf, filled, length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled === length ? buf : buf.subarray(0, filled);
}

function isSpoolRecord(v: unknown): v is SpoolRecord {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return (
    typeof r['environment'] === 'string' &&
    typeof r['equipmentId'] === 'string' &&
    typeof r['time'] === 'number' &&
    Array.isArray(r['measurements'])
  );
}

/**
 * A durable FIFO of batches on disk. Batches are appended as checksummed lines to numbered segment files and
 * fsync'ed, and so is the directory when a segment is created; a cursor file (replaced atomically by rename,
 * then the directory synced) says how far the API has confirmed. A torn last line,
 * as left by `kill -9` or a power cut, fails its checksum and is cut off when the spool is opened. Segments the
 * cursor has passed are deleted; when the spool grows past `maxBytes`, whole oldest segments are dropped and
 * the number of readings lost is logged. A segment whose append failed (disk full) is never appended to again,
 * so it is deleted, giving its space back, as soon as it is sent. Every segment stays open while it exists: when
 * the directory is removed behind the spool's back, the next append or commit notices it (the path no longer
 * names the open file), recreates the directory and rewrites the unsent records there from the open files.
 * Calls must not overlap: the pusher runs them one at a time.
 */
export class Spool {
  private readonly segments: SegmentInfo[] = [];
  private cursor: SpoolPosition = { segment: 0, offset: 0 };
  /** Records and readings of the head segment that lie before the cursor. */
  private consumedRecords = 0;
  private consumedReadings = 0;
  private locked = false;
  /** The directory the spool opened, to notice it was removed or replaced. */
  private home: FileId | undefined;
  private droppedRecords = 0;
  private droppedReadings = 0;
  /** A segment file was created and its directory entry is not synced yet. */
  private dirDirty = false;
  /** Corrupt lines already counted as dropped, by position, so peeking them again does not count them twice. */
  private readonly corruptSeen = new Set<string>();
  private readonly logger: Logger;
  private readonly segmentBytes: number;
  private readonly fsync: boolean;

  private constructor(
    readonly dir: string,
    private readonly options: SpoolOptions,
  ) {
    this.logger = options.logger ?? noopLogger;
    const segmentBytes =
      options.segmentBytes ?? Math.min(8 * 1024 * 1024, Math.max(4096, Math.floor(options.maxBytes / 8)));
    // A segment larger than the bound could never be dropped while it is written to: the spool would outgrow it.
    this.segmentBytes = Math.max(1, Math.min(segmentBytes, options.maxBytes));
    this.fsync = options.fsync ?? true;
  }

  /** The bound of the spool's size on disk. */
  get maxBytes(): number {
    return this.options.maxBytes;
  }

  /** Opens (creating if needed) the spool in `dir`, repairing a torn tail. */
  static async open(dir: string, options: SpoolOptions): Promise<Spool> {
    const spool = new Spool(dir, options);
    try {
      await spool.load();
    } catch (err) {
      // Release the lock (if it was taken) so a later open in this process is not refused.
      await spool.close().catch(() => undefined);
      throw new SpoolError(`cannot open spool in ${dir}: ${messageOf(err)}`, err);
    }
    return spool;
  }

  /**
   * Two collectors appending to one spool would interleave and replay each other's batches: the first one takes
   * `lock.pid`; a lock left by a dead process (`kill -9`) is taken over.
   */
  private async lock(): Promise<void> {
    const key = resolvePath(this.dir);
    if (openSpoolDirs.has(key)) throw new Error(`spool ${this.dir} is already open in this process`);
    await this.takeLockFile();
    this.locked = true;
    openSpoolDirs.add(key);
  }

  private async takeLockFile(): Promise<void> {
    const path = join(this.dir, LOCK_FILE);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await writeFile(path, String(process.pid), { flag: 'wx' });
        return;
      } catch (err) {
        if (errorCode(err) !== 'EEXIST') throw err;
      }
      const owner = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      // Our own pid is alive by definition; since this process does not hold the spool, the lock was left by an
      // earlier process that had the same pid (PID 1 in a container restarted after a kill).
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
        throw new Error(`spool ${this.dir} is in use by process ${owner}`);
      }
      this.logger.warn({ dir: this.dir, stalePid: owner }, 'spool: lock of a dead process taken over');
      await rm(path, { force: true });
    }
    throw new Error(`spool ${this.dir}: could not take the lock`);
  }

  private async load(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await this.lock();
    this.home = fileId(await stat(this.dir));
    const names = (await readdir(this.dir)).filter((n) => SEGMENT_RE.test(n)).sort();
    try {
      const parsed: unknown = JSON.parse(await readFile(join(this.dir, CURSOR_FILE), 'utf8'));
      if (typeof parsed === 'object' && parsed !== null) {
        const c = parsed as Record<string, unknown>;
        if (typeof c['segment'] === 'number' && typeof c['offset'] === 'number') {
          this.cursor = { segment: c['segment'], offset: c['offset'] };
        }
      }
    } catch {
      // No cursor yet (fresh spool) or a torn one: start from the oldest segment; at worst some batches repeat.
    }
    for (let i = 0; i < names.length; i++) {
      const name = names[i] ?? '';
      const seq = Number(SEGMENT_RE.exec(name)?.[1]);
      const isLast = i === names.length - 1;
      if (seq < this.cursor.segment) {
        await rm(join(this.dir, name), { force: true });
        continue;
      }
      const info = await this.scanSegment(seq, isLast);
      info.fh = await open(join(this.dir, name), isLast ? 'a+' : 'r');
      this.segments.push(info);
    }
    const head = this.segments[0];
    if (head === undefined || head.seq !== this.cursor.segment) {
      this.cursor = { segment: head?.seq ?? this.cursor.segment, offset: 0 };
    }
    if (head !== undefined && this.cursor.offset > 0) {
      if (this.cursor.offset > head.size) this.cursor.offset = head.size;
      await this.countConsumed(head);
    }
    if (this.segments.length === 0) this.segments.push({ seq: this.cursor.segment + 1, size: 0, records: 0, readings: 0 });
  }

  private async scanSegment(seq: number, isLast: boolean): Promise<SegmentInfo> {
    const path = join(this.dir, segmentName(seq));
    const buf = await readFile(path);
    let records = 0;
    let readings = 0;
    let bad = 0;
    let validEnd = 0;
    forEachLine(buf, buf.length, (decoded, after) => {
      if (decoded === undefined) bad++;
      else {
        records++;
        readings += decoded.readings;
        validEnd = after;
      }
    });
    if (isLast && validEnd < buf.length) {
      // A torn or corrupt tail from a crash mid-append: cut it so new appends start on a clean line.
      await truncate(path, validEnd);
      this.logger.warn({ segment: seq, bytes: buf.length - validEnd }, 'spool: torn tail cut off');
      return { seq, size: validEnd, records, readings };
    }
    if (bad > 0) this.logger.warn({ segment: seq, lines: bad }, 'spool: corrupt lines skipped');
    return { seq, size: buf.length, records, readings };
  }

  private async countConsumed(head: SegmentInfo): Promise<void> {
    const buf = await readFile(join(this.dir, segmentName(head.seq)));
    forEachLine(buf, this.cursor.offset, (decoded) => {
      if (decoded === undefined) return;
      this.consumedRecords++;
      this.consumedReadings += decoded.readings;
    });
  }

  /** What is waiting, and what was dropped. */
  depth(): SpoolDepth {
    let records = -this.consumedRecords;
    let readings = -this.consumedReadings;
    let diskBytes = 0;
    for (const s of this.segments) {
      records += s.records;
      readings += s.readings;
      diskBytes += s.size;
    }
    return {
      records,
      readings,
      bytes: diskBytes - this.cursor.offset,
      diskBytes,
      segments: this.segments.length,
      droppedRecords: this.droppedRecords,
      droppedReadings: this.droppedReadings,
    };
  }

  /**
   * Appends records in one write and makes them durable before returning. Rejects with a {@link SpoolError}
   * when they could not be written whole (disk full, I/O error, directory removed and not recreatable): then
   * none of them is in the spool.
   */
  async append(records: readonly SpoolRecord[]): Promise<void> {
    if (records.length === 0) return;
    try {
      await this.ensureHome();
    } catch (err) {
      throw new SpoolError(`spool directory lost: ${messageOf(err)}`, err);
    }
    const lines = records.map(encodeLine);
    const data = Buffer.concat(lines);
    let tail = this.segments[this.segments.length - 1];
    if (tail === undefined || (tail.size > 0 && tail.size + data.length > this.segmentBytes)) {
      tail = this.startSegment();
    }
    try {
      if (tail.fh === undefined) {
        // An empty tail is a file this open creates (or one created but never synced into its directory).
        if (tail.size === 0) this.dirDirty = true;
        tail.fh = await open(join(this.dir, segmentName(tail.seq)), 'a+');
      }
      await writeAll(tail.fh, data);
      if (this.fsync) {
        await tail.fh.datasync();
        if (this.dirDirty) await syncDir(this.dir);
      }
      this.dirDirty = false;
    } catch (err) {
      await this.sealFailedTail(tail);
      throw new SpoolError(`spool write failed: ${messageOf(err)}`, err);
    }
    tail.size += data.length;
    tail.records += records.length;
    for (const r of records) tail.readings += r.measurements.length;
    await this.enforceBound();
  }

  /** Adds an empty segment after the last one; its file is created by the first append to it. */
  private startSegment(): SegmentInfo {
    const last = this.segments[this.segments.length - 1];
    const seg: SegmentInfo = { seq: (last?.seq ?? this.cursor.segment) + 1, size: 0, records: 0, readings: 0 };
    this.segments.push(seg);
    return seg;
  }

  /**
   * After a failed or short write (disk full), cuts the segment back to its last known good end (torn bytes
   * left behind, if even that fails, fail their checksum and are counted as corrupt when read) and seals it: the
   * next append starts a new segment. A sealed segment is deleted once sent, like any older one; a fully sent one
   * is deleted at once. That is what gives the space back on a disk the spool itself filled; reusing the failing
   * segment would keep its sent part on disk for as long as appends fail.
   */
  private async sealFailedTail(tail: SegmentInfo): Promise<void> {
    let cut = true;
    try {
      await tail.fh?.truncate(tail.size);
    } catch (err) {
      cut = false;
      this.logger.error(
        { segment: tail.seq, size: tail.size, err: messageOf(err) },
        'spool: could not cut a failed write back; continuing in a new segment',
      );
    }
    // An empty segment cut back holds nothing: the next append tries it again rather than piling up files.
    if (cut && tail.size === 0) return;
    this.startSegment();
    if (this.segments[0] === tail && this.cursor.offset >= tail.size) {
      // The cursor file may still name it: a cursor behind the oldest segment is read as its start.
      await this.removeHead().catch((err: unknown) =>
        this.logger.warn({ segment: tail.seq, err: messageOf(err) }, 'spool: could not delete a sent segment'),
      );
    }
  }

  /** Whether the directory is still the one opened and the segment appended to is still in it. */
  private async homeIntact(): Promise<boolean> {
    const dir = await stat(this.dir).catch(() => undefined);
    if (dir === undefined || !sameFile(fileId(dir), this.home)) return false;
    const tail = this.segments[this.segments.length - 1];
    if (tail?.fh === undefined) return true;
    const [own, there] = await Promise.all([tail.fh.stat(), stat(join(this.dir, segmentName(tail.seq))).catch(() => undefined)]);
    return there !== undefined && sameFile(fileId(own), fileId(there));
  }

  /** Recreates the spool's directory if it was removed or replaced (see {@link rehome}). */
  private async ensureHome(): Promise<void> {
    if (!(await this.homeIntact())) await this.rehome();
  }

  /**
   * The directory (or the segment appended to) was removed behind the spool's back: appends would go to a
   * deleted file and be lost at the next start. Recreates the directory and its lock, copies every unsent record
   * from the still-open segment files into one new segment, makes it durable, then drops the old segments. If any
   * step fails nothing changes: the old segments can still be read through their open files, and the next call
   * tries again.
   */
  private async rehome(): Promise<void> {
    const unsent = this.depth();
    this.logger.error(
      { dir: this.dir, batches: unsent.records, readings: unsent.readings },
      'spool directory or segment removed while in use: recreating it with the unsent batches',
    );
    await mkdir(this.dir, { recursive: true });
    const lockOwner = (await readFile(join(this.dir, LOCK_FILE), 'utf8').catch(() => '')).trim();
    // The lock went with the directory; only when a segment alone was removed is it still there, and ours.
    if (this.locked && lockOwner !== String(process.pid)) await this.takeLockFile();
    const last = this.segments[this.segments.length - 1];
    const fresh: SegmentInfo = {
      seq: (last?.seq ?? this.cursor.segment) + 1,
      size: 0,
      records: unsent.records,
      readings: unsent.readings,
    };
    if (unsent.bytes > 0) {
      const path = join(this.dir, segmentName(fresh.seq));
      const fh = await open(path, 'a+');
      try {
        for (const [i, seg] of this.segments.entries()) {
          for (let pos = i === 0 ? this.cursor.offset : 0; pos < seg.size; ) {
            const src = seg.fh ?? (await open(join(this.dir, segmentName(seg.seq)), 'r'));
            seg.fh = src;
            const chunk = await readAt(src, pos, Math.min(COPY_BYTES, seg.size - pos));
            if (chunk.length === 0) throw new Error(`segment ${seg.seq} ends at ${pos} of ${seg.size} bytes`);
            await writeAll(fh, chunk);
            pos += chunk.length;
            fresh.size += chunk.length;
          }
        }
        if (this.fsync) await fh.datasync();
      } catch (err) {
        await fh.close().catch(() => undefined);
        await rm(path, { force: true }).catch(() => undefined);
        throw err;
      }
      fresh.fh = fh;
    }
    if (this.fsync) await syncDir(this.dir);
    this.home = fileId(await stat(this.dir));
    const old = this.segments.splice(0, this.segments.length, fresh);
    this.cursor = { segment: fresh.seq, offset: 0 };
    this.consumedRecords = 0;
    this.consumedReadings = 0;
    this.corruptSeen.clear();
    for (const seg of old) await this.deleteSegment(seg);
    // Until the cursor names the new segment, a restart finds it as the oldest one and starts at its beginning.
    await this.writeCursor().catch((err: unknown) =>
      this.logger.warn({ err: messageOf(err) }, 'spool: cursor not written after recreating the directory'),
    );
  }

  /** Closes a segment and deletes its file, unless its name now belongs to another file. */
  private async deleteSegment(seg: SegmentInfo): Promise<void> {
    const path = join(this.dir, segmentName(seg.seq));
    const fh = seg.fh;
    seg.fh = undefined;
    if (fh !== undefined) {
      const [own, there] = await Promise.all([
        fh.stat().catch(() => undefined),
        stat(path).catch(() => undefined),
      ]);
      await fh.close().catch(() => undefined);
      if (there === undefined || (own !== undefined && !sameFile(fileId(own), fileId(there)))) return;
    }
    await rm(path, { force: true });
  }

  private async enforceBound(): Promise<void> {
    let dropped = 0;
    let droppedReadings = 0;
    // Everything on disk counts, the part already sent of the head segment too: that is what fills the disk.
    while (this.depth().diskBytes > this.options.maxBytes && this.segments.length > 1) {
      const head = this.segments[0];
      if (head === undefined) break;
      dropped += head.records - this.consumedRecords;
      droppedReadings += head.readings - this.consumedReadings;
      await this.removeHead();
    }
    if (dropped > 0) {
      this.droppedRecords += dropped;
      this.droppedReadings += droppedReadings;
      await this.writeCursor();
      this.logger.warn(
        { droppedBatches: dropped, droppedReadings, maxBytes: this.options.maxBytes },
        'spool full: oldest batches dropped',
      );
    }
  }

  /**
   * Reads up to `maxRecords` records from the cursor on, without consuming them. A line that cannot be decoded
   * (bad checksum, not a batch) is skipped, counted with the dropped records and logged.
   */
  async peek(maxRecords: number): Promise<PeekedRecord[]> {
    const out: PeekedRecord[] = [];
    let segIndex = 0;
    let offset = this.cursor.offset;
    while (out.length < maxRecords) {
      const seg = this.segments[segIndex];
      if (seg === undefined) break;
      if (offset >= seg.size) {
        segIndex++;
        offset = 0;
        continue;
      }
      const { buf, complete } = await this.readLines(seg, offset);
      let pos = 0;
      while (out.length < maxRecords) {
        const nl = buf.indexOf(0x0a, pos);
        if (nl < 0) break;
        const at = { segment: seg.seq, offset: offset + pos };
        const next = { segment: seg.seq, offset: offset + nl + 1 };
        const line = buf.toString('utf8', pos, nl);
        pos = nl + 1;
        const decoded = decodeLine(line);
        let record: unknown;
        try {
          record = decoded === undefined ? undefined : JSON.parse(decoded.json);
        } catch {
          record = undefined;
        }
        if (decoded !== undefined && isSpoolRecord(record)) {
          out.push({ record, at, next, readings: decoded.readings });
        } else {
          this.countCorrupt(at, line, decoded);
        }
      }
      if (!complete && out.length < maxRecords) {
        // The segment ends without a newline (changed behind our back): nothing after it can be read.
        this.countCorrupt({ segment: seg.seq, offset: offset + pos }, buf.toString('utf8', pos), undefined);
        segIndex++;
        offset = 0;
        continue;
      }
      offset += pos;
    }
    return out;
  }

  /**
   * Reads from `offset` up to at least one whole line: {@link PEEK_BYTES} first, then on until a newline if the
   * first line is longer (a device that returned a huge poll), bounded only by the segment's size. `buf` ends
   * on a newline unless `complete` is false (no newline before the end of the segment). Reads through the
   * segment's open file, so a segment deleted behind the spool's back is still read.
   */
  private async readLines(seg: SegmentInfo, offset: number): Promise<{ buf: Buffer; complete: boolean }> {
    const end = seg.size;
    seg.fh ??= await open(join(this.dir, segmentName(seg.seq)), 'r');
    const fh = seg.fh;
    let buf = await readAt(fh, offset, Math.min(PEEK_BYTES, end - offset));
    let lastNl = buf.lastIndexOf(0x0a);
    while (lastNl < 0 && offset + buf.length < end) {
      // Doubling keeps the number of reads logarithmic in the line's length.
      const want = Math.min(Math.max(PEEK_BYTES, buf.length), end - offset - buf.length);
      const more = await readAt(fh, offset + buf.length, want);
      if (more.length === 0) break;
      buf = Buffer.concat([buf, more]);
      lastNl = buf.lastIndexOf(0x0a);
    }
    if (lastNl < 0) return { buf, complete: false };
    return { buf: buf.subarray(0, lastNl + 1), complete: true };
  }

  /** Counts an unreadable line once as a dropped record (with its readings, when its count can be trusted). */
  private countCorrupt(at: SpoolPosition, line: string, decoded: DecodedLine | undefined): void {
    const key = `${at.segment}:${at.offset}`;
    if (this.corruptSeen.has(key)) return;
    this.corruptSeen.add(key);
    const readings = decoded?.readings ?? 0;
    this.droppedRecords++;
    this.droppedReadings += readings;
    this.logger.error(
      { segment: at.segment, offset: at.offset, bytes: Buffer.byteLength(line), readings, droppedRecords: this.droppedRecords },
      decoded === undefined ? 'spool: corrupt record (bad checksum) dropped' : 'spool: unreadable record dropped',
    );
  }

  /**
   * Consumes everything before `next` (a position returned by {@link peek}); `records` and `readings` are how
   * many that was, for the depth counters. Deletes segments left behind and persists the cursor (recreating the
   * directory first if it was removed).
   */
  async commit(next: SpoolPosition, records: number, readings: number): Promise<void> {
    let remainingRecords = records;
    let remainingReadings = readings;
    while (this.segments.length > 0) {
      const head = this.segments[0];
      if (head === undefined) break;
      if (head.seq < next.segment) {
        remainingRecords -= head.records - this.consumedRecords;
        remainingReadings -= head.readings - this.consumedReadings;
        this.segments.shift();
        this.consumedRecords = 0;
        this.consumedReadings = 0;
        this.cursor = { segment: next.segment, offset: 0 };
        await this.deleteSegment(head);
        continue;
      }
      this.consumedRecords += Math.max(0, remainingRecords);
      this.consumedReadings += Math.max(0, remainingReadings);
      this.cursor = { ...next };
      break;
    }
    for (const key of this.corruptSeen) {
      const [segment = 0, offset = 0] = key.split(':').map(Number);
      if (segment < this.cursor.segment || (segment === this.cursor.segment && offset < this.cursor.offset)) {
        this.corruptSeen.delete(key);
      }
    }
    const head = this.segments[0];
    // A fully consumed segment that is no longer written to is removed at once; the tail one is reused.
    if (head !== undefined && this.segments.length > 1 && this.cursor.offset >= head.size) await this.removeHead();
    if (this.segments.length === 0) this.startSegment();
    // rehome() writes the cursor itself.
    if (await this.homeIntact()) await this.writeCursor();
    else await this.rehome();
  }

  /** Deletes the head segment (it is never the one written to) and moves the cursor to the start of the next. */
  private async removeHead(): Promise<void> {
    const head = this.segments.shift();
    if (head === undefined) return;
    this.cursor = { segment: this.segments[0]?.seq ?? head.seq + 1, offset: 0 };
    this.consumedRecords = 0;
    this.consumedReadings = 0;
    await this.deleteSegment(head);
  }

  private async writeCursor(): Promise<void> {
    const text = `${JSON.stringify(this.cursor).padEnd(CURSOR_BYTES - 1)}\n`;
    const path = join(this.dir, CURSOR_FILE);
    const tmp = `${path}.tmp`;
    try {
      const fh = await open(tmp, 'w');
      try {
        await fh.writeFile(text);
        if (this.fsync) await fh.datasync();
      } finally {
        await fh.close();
      }
      await rename(tmp, path);
    } catch (err) {
      const code = errorCode(err);
      if (code !== 'ENOSPC' && code !== 'EDQUOT') throw err;
      await rm(tmp, { force: true }).catch(() => undefined);
      // A full disk cannot take a new file but can take the same few bytes over the cursor's own. Not atomic: a
      // torn cursor is read as none, which replays from the oldest segment (duplicates, never a loss).
      await this.overwriteCursor(path, text).catch(() => {
        throw err;
      });
      return;
    }
    if (this.fsync) await syncDir(this.dir);
  }

  private async overwriteCursor(path: string, text: string): Promise<void> {
    const fh = await open(path, 'r+');
    try {
      const data = Buffer.from(text, 'utf8');
      const { bytesWritten } = await fh.write(data, 0, data.length, 0);
      if (bytesWritten !== data.length) throw new Error(`short cursor write: ${bytesWritten} of ${data.length} bytes`);
      if (this.fsync) await fh.datasync();
    } finally {
      await fh.close();
    }
  }

  /**
   * Closes the segment files and releases the lock. The spool can be opened again later. If the directory was
   * removed and cannot be recreated, the unsent batches are lost: that is logged as an error with their count.
   */
  async close(): Promise<void> {
    const unsent = this.depth();
    if (this.home !== undefined && unsent.records > 0) {
      try {
        await this.ensureHome();
      } catch (err) {
        this.logger.error(
          { dir: this.dir, batches: unsent.records, readings: unsent.readings, err: messageOf(err) },
          `spool directory removed and not recreatable: ${unsent.readings} unsent readings lost`,
        );
      }
    }
    for (const seg of this.segments) {
      const fh = seg.fh;
      seg.fh = undefined;
      await fh?.close().catch(() => undefined);
    }
    if (this.locked) {
      this.locked = false;
      openSpoolDirs.delete(resolvePath(this.dir));
      // The directory may be gone or replaced (see rehome): closing must still succeed.
      await rm(join(this.dir, LOCK_FILE), { force: true }).catch((err: unknown) =>
        this.logger.warn({ dir: this.dir, err: messageOf(err) }, 'spool: lock file not removed'),
      );
    }
  }

  /** Total bytes of segment files on disk (for tests and diagnostics). */
  async diskBytes(): Promise<number> {
    let total = 0;
    for (const s of this.segments) {
      total += await stat(join(this.dir, segmentName(s.seq))).then(
        (st) => st.size,
        () => 0,
      );
    }
    return total;
  }
}
