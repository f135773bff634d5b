import { fstatSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rm, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { join, resolve as resolvePath } from 'node:path';
import { crc32 } from 'node:zlib';
import { noopLogger, type Logger } from '@energyrecorder/core';
import { StoreUnavailableError } from '../errors.js';
import type { EncodedLines } from '../store.js';

/**
 * What the sender made of one write: stored (influxd answered 204, or stored all but points its retention
 * drops), or refused for good (a 400 that sending again cannot change). An outage throws instead.
 */
export type SendOutcome = { stored: true } | { stored: false; reason: string };

/** Options of {@link WriteQueue}. */
export interface WriteQueueOptions {
  /** Directory of the queue's segment files (created when missing). One API process per directory. */
  dir: string;
  /** Most bytes of line protocol held for influxd; appends beyond it are refused (503). */
  maxBytes: number;
  /** Writes one body to influxd. Throws when influxd is unreachable or answers a transient error. */
  send: (body: Buffer) => Promise<SendOutcome>;
  logger?: Logger;
  /** A segment file is closed for appends beyond this size (bytes). Default 32 MiB. */
  segmentBytes?: number;
  /** Upper bound of one write to influxd (bytes). Default 8 MiB. */
  maxGroupBytes?: number;
  /** Concurrent writes to influxd. Default 2. */
  maxInFlight?: number;
  /** Delay before the first retry after an outage; doubles up to {@link maxRetryMs}. Default 200 ms. */
  minRetryMs?: number;
  /** Longest delay between retries. Default 10 s. */
  maxRetryMs?: number;
}

/** Sizes of what the queue holds, for metrics. */
export interface WriteQueueStatus {
  /** Bytes of line protocol acknowledged to clients and not yet stored by influxd. */
  readonly bytes: number;
  /** Batches in {@link bytes}. */
  readonly batches: number;
  /** Batches influxd refused for good, kept in `rejected.lp` of the queue directory. */
  readonly rejected: number;
  /** Time of the oldest batch not yet stored (epoch ms), undefined when none. */
  readonly oldestMs: number | undefined;
}

/** Record header: payload length and its CRC-32, both little-endian uint32. */
const HEADER = 8;
const SEGMENT_RE = /^seg-(\d{16})\.lp$/;
const LOCK_FILE = 'lock.pid';
const REJECTED_FILE = 'rejected.lp';
/** A fully stored segment smaller than this is kept for more appends rather than replaced at once. */
const ROTATE_IDLE_BYTES = 1 << 20;
/** Append buffers larger than this are not kept for reuse. */
const MAX_SPARE_APPEND_BYTES = 4 * 1024 * 1024;
/** Append buffers kept for reuse. */
const SPARE_APPEND_BUFFERS = 8;

interface Segment {
  readonly id: number;
  readonly path: string;
  fh: FileHandle;
  /** Bytes of whole records in the file. */
  size: number;
  /** Records not yet stored by influxd. */
  pending: number;
}

interface QueuedRecord {
  readonly seg: Segment;
  /** Offset of the payload in the segment file. */
  readonly offset: number;
  readonly length: number;
  readonly seq: number;
  readonly atMs: number;
  /** Sent on its own (its group was refused: this one may be the culprit). */
  alone?: boolean;
}

interface PendingAppend {
  /** The batch's records, header and payload each: one, or several for a batch larger than one write. */
  readonly records: readonly Buffer[];
  /** Sequence number of the first record; the others follow. */
  readonly seq: number;
  /** Buffer to give back once written. */
  readonly release: Buffer | undefined;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

function errorCode(err: unknown): string | undefined {
  const c = (err as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errorCode(err) === 'EPERM';
  }
}

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Writes every buffer at `position` on, going on after a short write (libuv splits beyond IOV_MAX itself). */
async function writeAll(fh: FileHandle, buffers: readonly Buffer[], position: number): Promise<void> {
  let rest = buffers;
  let pos = position;
  while (rest.length > 0) {
    const { bytesWritten } = await fh.writev(rest, pos);
    if (bytesWritten === 0) throw Object.assign(new Error('the disk took no bytes: full?'), { code: 'ENOSPC' });
    pos += bytesWritten;
    let left = bytesWritten;
    let i = 0;
    while (i < rest.length && left >= (rest[i] as Buffer).length) left -= (rest[i++] as Buffer).length;
    rest = i < rest.length ? [(rest[i] as Buffer).subarray(left), ...rest.slice(i + 1)] : [];
  }
}

/** Queue directories open in this process. */
const openDirs = new Set<string>();

/**
 * The InfluxDB store's durable write queue: a batch is acknowledged once its line protocol is appended to a
 * local segment file and `fdatasync`ed (one sync covers every batch that arrived during the previous one), and
 * is written to influxd from there, several batches per write, until influxd stores it. An influxd outage,
 * restart or slowness therefore costs clients nothing until `maxBytes` are queued; the API process may be
 * killed (`kill -9`) at any time: the next start sends what influxd had not confirmed. influxd overwrites a
 * point with the same series and time, so a batch sent twice (confirmed, then sent again after a crash before
 * its segment was removed) is stored once.
 *
 * Files: `seg-<16 digits>.lp` (records: uint32 length, uint32 CRC-32, line protocol), `lock.pid`, and
 * `rejected.lp`: batches influxd refused for good (a field type conflict), kept as line protocol with the
 * reason in a `#` comment, never dropped silently.
 */
export class WriteQueue {
  private readonly logger: Logger;
  private readonly segmentBytes: number;
  private readonly maxGroupBytes: number;
  private readonly maxInFlight: number;
  private readonly minRetryMs: number;
  private readonly maxRetryMs: number;
  private readonly segments: Segment[] = [];
  private active: Segment | undefined;
  private nextSegmentId = 1;
  private readonly unsent: QueuedRecord[] = [];
  private readonly inFlight = new Set<QueuedRecord[]>();
  private pendingAppends: PendingAppend[] = [];
  /** Appends being written and synced by {@link flush}. */
  private syncing: PendingAppend[] = [];
  private flushing: Promise<void> | undefined;
  private seq = 0;
  private backlogBytes = 0;
  private backlogBatches = 0;
  private rejectedCount = 0;
  private retryMs = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private outageSince: number | undefined;
  private lastOutageLog = 0;
  private drainWaiters: Array<{ seq: number; resolve: () => void }> = [];
  private readonly spare: Buffer[] = [];
  /** Buffers of maxGroupBytes + 64 KiB, one per write in flight: the bodies read back for influxd. */
  private readonly spareBodies: Buffer[] = [];
  private opened = false;
  private closing = false;
  private locked = false;

  constructor(private readonly options: WriteQueueOptions) {
    this.logger = options.logger ?? noopLogger;
    this.segmentBytes = options.segmentBytes ?? 32 * 1024 * 1024;
    this.maxGroupBytes = options.maxGroupBytes ?? 8 * 1024 * 1024;
    this.maxInFlight = options.maxInFlight ?? 2;
    this.minRetryMs = options.minRetryMs ?? 200;
    this.maxRetryMs = options.maxRetryMs ?? 10_000;
  }

  get status(): WriteQueueStatus {
    const oldest = this.oldestRecord();
    return { bytes: this.backlogBytes, batches: this.backlogBatches, rejected: this.rejectedCount, oldestMs: oldest?.atMs };
  }

  /**
   * Takes the directory (refused when another live process holds it), reads the batches a previous run left
   * unsent, truncates a write that a crash cut short (never acknowledged), and starts sending them.
   */
  async open(): Promise<void> {
    const dir = this.options.dir;
    const key = resolvePath(dir);
    if (openDirs.has(key)) throw new Error(`InfluxDB write queue ${dir} is already open in this process: give each store its own INFLUX.queue_dir`);
    // Claimed before the first await: a second open of the directory meanwhile would find our pid in lock.pid,
    // take it for a lock left by an earlier process with that pid, and open the directory too.
    openDirs.add(key);
    try {
      await mkdir(dir, { recursive: true });
      await this.takeLock();
    } catch (err) {
      openDirs.delete(key);
      throw err;
    }
    this.locked = true;
    try {
      const names = (await readdir(dir)).filter((n) => SEGMENT_RE.test(n)).sort();
      for (const [i, name] of names.entries()) await this.recover(name, i === names.length - 1);
    } catch (err) {
      await this.releaseLock();
      throw err;
    }
    this.opened = true;
    if (this.backlogBatches > 0) {
      this.logger.info({ dir, batches: this.backlogBatches, bytes: this.backlogBytes }, 'InfluxDB write queue: sending what the previous run left');
    }
    this.pump();
  }

  /**
   * Appends one batch; resolves once it is on disk (fdatasync), rejects with a StoreUnavailableError (503)
   * when the queue is full, closing, or its disk refuses the write: nothing is acknowledged that is not kept.
   */
  append(lines: EncodedLines): Promise<void> {
    if (!this.opened || this.closing) {
      return Promise.reject(new StoreUnavailableError(this.closing ? 'the API is shutting down' : 'the InfluxDB write queue is not open yet', { retryAfterS: 2 }));
    }
    const bytes = HEADER + lines.maxBytes;
    if (this.backlogBytes + bytes > this.options.maxBytes && this.backlogBatches > 0) {
      return Promise.reject(
        new StoreUnavailableError(
          `the InfluxDB write queue is full: ${this.backlogBytes} bytes wait for influxd (INFLUX.queue_max_bytes is ${this.options.maxBytes})`,
          { retryAfterS: 10 },
        ),
      );
    }
    const buf = this.takeBuffer(bytes);
    const end = lines.writeTo(buf, HEADER);
    let records: Buffer[];
    let release: Buffer | undefined = buf;
    if (end - HEADER <= this.maxGroupBytes) {
      records = [buf.subarray(0, end)];
    } else {
      // influxd refuses bodies over its max-body-size (25 MB by default): a huge batch becomes several
      // records, cut between lines, each sent in a write of its own.
      records = this.split(buf, end);
      this.giveBack(buf);
      release = undefined;
    }
    const seq = this.seq + 1;
    for (const r of records) {
      const payload = r.length - HEADER;
      r.writeUInt32LE(payload, 0);
      r.writeUInt32LE(crc32(r.subarray(HEADER)), 4);
      this.backlogBytes += payload;
      this.backlogBatches++;
      this.seq++;
    }
    return new Promise<void>((resolve, reject) => {
      this.pendingAppends.push({ records, seq, release, resolve, reject });
      this.startFlush();
    });
  }

  /** Lines `[HEADER, end)` of `buf` as records of at most maxGroupBytes of whole lines each (room left for headers). */
  private split(buf: Buffer, end: number): Buffer[] {
    const out: Buffer[] = [];
    let start = HEADER;
    while (start < end) {
      let stop = Math.min(end, start + this.maxGroupBytes);
      if (stop < end) {
        const nl = buf.lastIndexOf(0x0a, stop - 1);
        // A single line longer than a write (not produced by our encoders) is kept whole.
        stop = nl >= start ? nl + 1 : Math.max(stop, buf.indexOf(0x0a, stop) + 1 || end);
      }
      const record = Buffer.allocUnsafe(HEADER + stop - start);
      buf.copy(record, HEADER, start, stop);
      out.push(record);
      start = stop;
    }
    return out;
  }

  /**
   * Resolves once every batch appended before the call is stored by influxd (reads see them); rejects with a
   * StoreUnavailableError after `timeoutMs`.
   */
  drained(timeoutMs: number): Promise<void> {
    const seq = this.seq;
    if (this.settledUpTo() >= seq) return Promise.resolve();
    // Someone waits for the queue: try influxd now rather than at the end of an outage's back-off.
    if (this.retryTimer !== undefined && this.opened) {
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
      this.pump();
    }
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.drainWaiters = this.drainWaiters.filter((w) => w.resolve !== done);
        reject(
          new StoreUnavailableError(
            `${this.backlogBatches} batches of readings (${this.backlogBytes} bytes) still wait in the write queue for InfluxDB, which has not stored them within ${timeoutMs} ms; the answer would miss them`,
          ),
        );
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.drainWaiters.push({ seq, resolve: done });
    });
  }

  /**
   * Stops taking batches, syncs the appends in progress, sends what it can within `drainMs`, and releases the
   * directory. What influxd did not store stays on disk for the next start.
   */
  async close(drainMs = 5_000): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    while (this.flushing !== undefined) await this.flushing;
    if (this.opened && this.backlogBatches > 0) {
      await this.drained(drainMs).catch(() => undefined);
    }
    this.opened = false;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    // Writes in flight end within the sender's own timeout; their records stay queued if they fail.
    while (this.inFlight.size > 0) await new Promise((r) => setTimeout(r, 20));
    // A segment whose batches are all stored (the active one, kept for more appends) is not left behind to be
    // sent again by the next start.
    for (const seg of [...this.segments]) {
      if (seg.pending === 0) await this.dropSegment(seg);
      else await seg.fh.close().catch(() => undefined);
    }
    if (this.backlogBatches > 0) {
      this.logger.warn(
        { dir: this.options.dir, batches: this.backlogBatches, bytes: this.backlogBytes },
        'InfluxDB write queue: readings influxd has not stored yet stay on disk; they are sent at the next start',
      );
    }
    if (this.locked) await this.releaseLock();
  }

  // --- appends ---------------------------------------------------------------------------------------------

  private startFlush(): void {
    this.flushing ??= this.flush().finally(() => {
      this.flushing = undefined;
      // A caller resumed by the last round's resolve() runs before this callback, so its next append found
      // `flushing` still set and started nothing: without this it would wait for another append to come.
      if (this.pendingAppends.length > 0) this.startFlush();
    });
  }

  private async flush(): Promise<void> {
    while (this.pendingAppends.length > 0) {
      const batch = this.pendingAppends;
      this.pendingAppends = [];
      this.syncing = batch;
      let seg: Segment | undefined;
      let start = 0;
      try {
        seg = await this.appendTarget();
        start = seg.size;
        await writeAll(seg.fh, batch.flatMap((b) => b.records), start);
        await seg.fh.datasync();
      } catch (err) {
        // Not acknowledged: cut the file back so the next start does not find a torn record, and start a new
        // segment for the next appends in case this one cannot be repaired.
        if (seg !== undefined) {
          await seg.fh.truncate(start).catch(() => undefined);
          if (seg === this.active) this.active = undefined;
          if (seg.pending === 0) await this.dropSegment(seg);
        }
        const problem = new StoreUnavailableError(`cannot write the InfluxDB write queue in ${this.options.dir}: ${messageOf(err)}`, {
          cause: err,
          retryAfterS: 10,
        });
        this.logger.error({ dir: this.options.dir, err: messageOf(err), batches: batch.length }, 'InfluxDB write queue: append failed; batches refused with 503');
        for (const b of batch) {
          for (const r of b.records) {
            this.backlogBytes -= r.length - HEADER;
            this.backlogBatches--;
          }
          if (b.release !== undefined) this.giveBack(b.release);
          b.reject(problem);
        }
        this.syncing = [];
        this.settle();
        continue;
      }
      const atMs = Date.now();
      let offset = start;
      for (const b of batch) {
        let seq = b.seq;
        for (const r of b.records) {
          this.unsent.push({ seg, offset: offset + HEADER, length: r.length - HEADER, seq: seq++, atMs });
          seg.pending++;
          offset += r.length;
        }
        if (b.release !== undefined) this.giveBack(b.release);
        b.resolve();
      }
      this.syncing = [];
      seg.size = offset;
      this.pump();
    }
  }

  /** The segment appends go to: the active one, or a new one when it is full or was dropped. */
  private async appendTarget(): Promise<Segment> {
    const current = this.active;
    // An active segment whose directory was removed behind our back is unlinked: batches appended to it would be
    // acknowledged, yet missing at the next start.
    if (current !== undefined && current.size < this.segmentBytes && fstatSync(current.fh.fd).nlink > 0) return current;
    this.active = undefined;
    if (current !== undefined && current.pending === 0) await this.dropSegment(current);
    // The directory may have been removed behind our back: appending to an unlinked file would lose the data
    // at the next start.
    await mkdir(this.options.dir, { recursive: true });
    const id = this.nextSegmentId++;
    const path = join(this.options.dir, `seg-${String(id).padStart(16, '0')}.lp`);
    const fh = await open(path, 'wx+');
    // The new name must survive a power loss too.
    const dirHandle = await open(this.options.dir, 'r');
    await dirHandle.sync().finally(() => dirHandle.close());
    const seg: Segment = { id, path, fh, size: 0, pending: 0 };
    this.segments.push(seg);
    this.active = seg;
    return seg;
  }

  // --- sending -----------------------------------------------------------------------------------------------

  private pump(): void {
    while (this.opened && this.retryTimer === undefined && this.inFlight.size < this.maxInFlight && this.unsent.length > 0) {
      const group: QueuedRecord[] = [];
      let bytes = 0;
      const first = this.unsent[0] as QueuedRecord;
      if (first.alone === true) {
        group.push(this.unsent.shift() as QueuedRecord);
      } else {
        while (this.unsent.length > 0) {
          const r = this.unsent[0] as QueuedRecord;
          // Counted with its header, read along with it (see read()).
          if (r.alone === true || (group.length > 0 && bytes + r.length + HEADER + 1 > this.maxGroupBytes)) break;
          group.push(this.unsent.shift() as QueuedRecord);
          bytes += r.length + HEADER + 1;
        }
      }
      this.inFlight.add(group);
      void this.sendGroup(group).finally(() => {
        this.inFlight.delete(group);
        // confirm() settled the drain waiters while this group was still in flight, holding them back: the last
        // group stored would otherwise leave drained() waiting for its timeout.
        this.settle();
        this.pump();
      });
    }
  }

  private async sendGroup(group: QueuedRecord[]): Promise<void> {
    let body: Buffer | undefined;
    let outcome: SendOutcome;
    try {
      body = await this.read(group);
      outcome = await this.options.send(body);
    } catch (err) {
      // The body is not reused: an aborted request may still hold it in a socket queue.
      this.requeue(group);
      this.onOutage(err);
      return;
    }
    this.giveBackBody(body);
    if (this.outageSince !== undefined) {
      this.logger.info({ dir: this.options.dir, afterMs: Date.now() - this.outageSince, batches: this.backlogBatches }, 'InfluxDB write queue: influxd stores again');
      this.outageSince = undefined;
    }
    this.retryMs = 0;
    if (outcome.stored) {
      await this.confirm(group);
      return;
    }
    if (group.length > 1) {
      // One batch may be the culprit: send each alone, so the others are stored.
      for (const r of group) r.alone = true;
      this.requeue(group);
      return;
    }
    await this.reject(group[0] as QueuedRecord, outcome.reason);
  }

  /**
   * The records' line protocol, in one body: one read per run of records that follow each other in a segment
   * (their headers read along, then squeezed out), a newline after a body that does not end with one so that
   * its last line does not run into the next.
   */
  private async read(group: readonly QueuedRecord[]): Promise<Buffer> {
    let need = 0;
    for (const r of group) need += r.length + HEADER + 1;
    const buf = this.takeBody(need);
    let p = 0;
    let i = 0;
    while (i < group.length) {
      const first = group[i] as QueuedRecord;
      let j = i + 1;
      let end = first.offset + first.length;
      while (j < group.length) {
        const r = group[j] as QueuedRecord;
        if (r.seg !== first.seg || r.offset !== end + HEADER) break;
        end = r.offset + r.length;
        j++;
      }
      const span = end - first.offset;
      const { bytesRead } = await first.seg.fh.read(buf, p, span, first.offset);
      if (bytesRead !== span) throw new Error(`InfluxDB write queue: ${first.seg.path} is shorter than its records (read ${bytesRead} of ${span} bytes at ${first.offset})`);
      // Squeeze out the headers between the records read, left to right: the write position never passes the
      // read position (a header is 8 bytes, a newline 1).
      let w = p;
      for (let k = i; k < j; k++) {
        const r = group[k] as QueuedRecord;
        const from = p + (r.offset - first.offset);
        if (from !== w) buf.copyWithin(w, from, from + r.length);
        w += r.length;
        if (buf[w - 1] !== 0x0a) buf[w++] = 0x0a;
      }
      p = w;
      i = j;
    }
    return buf.subarray(0, p);
  }

  private takeBody(bytes: number): Buffer {
    const size = this.maxGroupBytes + (1 << 16);
    if (bytes > size) return Buffer.allocUnsafeSlow(bytes);
    return this.spareBodies.pop() ?? Buffer.allocUnsafeSlow(size);
  }

  private giveBackBody(buf: Buffer): void {
    const whole = Buffer.from(buf.buffer, 0, buf.buffer.byteLength);
    if (whole.length === this.maxGroupBytes + (1 << 16) && this.spareBodies.length <= this.maxInFlight) this.spareBodies.push(whole);
  }

  private requeue(group: QueuedRecord[]): void {
    this.unsent.unshift(...group);
    // Two writes may fail in either order: keep the queue in append order, which drained() relies on.
    for (let i = group.length; i < this.unsent.length; i++) {
      if ((this.unsent[i] as QueuedRecord).seq < (this.unsent[i - 1] as QueuedRecord).seq) {
        this.unsent.sort((a, b) => a.seq - b.seq);
        break;
      }
    }
  }

  private onOutage(err: unknown): void {
    const now = Date.now();
    this.outageSince ??= now;
    this.retryMs = this.retryMs === 0 ? this.minRetryMs : Math.min(this.maxRetryMs, this.retryMs * 2);
    if (now - this.lastOutageLog >= 60_000) {
      this.lastOutageLog = now;
      this.logger.warn(
        { dir: this.options.dir, err: messageOf(err), batches: this.backlogBatches, bytes: this.backlogBytes, retryMs: this.retryMs },
        'InfluxDB write queue: influxd did not store a write; readings stay queued on disk and are sent again',
      );
    }
    if (this.retryTimer === undefined && this.opened) {
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.pump();
      }, this.retryMs);
    }
  }

  private async confirm(group: readonly QueuedRecord[]): Promise<void> {
    for (const r of group) {
      this.backlogBytes -= r.length;
      this.backlogBatches--;
      r.seg.pending--;
    }
    this.settle();
    for (const seg of new Set(group.map((r) => r.seg))) {
      if (seg.pending > 0) continue;
      if (seg !== this.active) {
        await this.dropSegment(seg);
      } else if (seg.size >= ROTATE_IDLE_BYTES && this.flushing === undefined) {
        // Everything in it is stored: start a new segment rather than send it again after a restart.
        this.active = undefined;
        await this.dropSegment(seg);
      }
    }
  }

  private async reject(r: QueuedRecord, reason: string): Promise<void> {
    const body = await this.read([r]);
    const note = `# ${new Date().toISOString()} InfluxDB refused these lines for good: ${reason.replace(/[\r\n]+/g, ' ')}\n`;
    try {
      await writeFile(join(this.options.dir, REJECTED_FILE), Buffer.concat([Buffer.from(note, 'utf8'), body]), { flag: 'a' });
    } catch (err) {
      // Kept queued rather than lost: a refusal is not a reason to drop what a client was told is stored.
      this.giveBackBody(body);
      this.requeue([r]);
      this.onOutage(err);
      return;
    }
    this.giveBackBody(body);
    this.rejectedCount++;
    this.logger.error(
      { dir: this.options.dir, file: REJECTED_FILE, reason, bytes: r.length },
      'InfluxDB refused a queued batch for good; its lines are kept in the queue directory',
    );
    await this.confirm([r]);
  }

  /** Resolves the drain waiters whose batches are all stored (or refused at append). */
  private settle(): void {
    if (this.drainWaiters.length === 0) return;
    const upTo = this.settledUpTo();
    const still: typeof this.drainWaiters = [];
    for (const w of this.drainWaiters) {
      if (w.seq <= upTo) w.resolve();
      else still.push(w);
    }
    this.drainWaiters = still;
  }

  /** Every batch with a sequence number up to this one is stored (or was never acknowledged). */
  private settledUpTo(): number {
    let lowest = Infinity;
    const head = this.unsent[0];
    if (head !== undefined) lowest = head.seq;
    for (const g of this.inFlight) for (const r of g) if (r.seq < lowest) lowest = r.seq;
    const appending = this.syncing[0] ?? this.pendingAppends[0];
    if (appending !== undefined && appending.seq < lowest) lowest = appending.seq;
    return lowest === Infinity ? this.seq : lowest - 1;
  }

  private oldestRecord(): QueuedRecord | undefined {
    let oldest = this.unsent[0];
    for (const g of this.inFlight) for (const r of g) if (oldest === undefined || r.seq < oldest.seq) oldest = r;
    return oldest;
  }

  // --- files ---------------------------------------------------------------------------------------------------

  private async dropSegment(seg: Segment): Promise<void> {
    const i = this.segments.indexOf(seg);
    if (i < 0) return;
    this.segments.splice(i, 1);
    await seg.fh.close().catch(() => undefined);
    await unlink(seg.path).catch((err: unknown) => {
      if (errorCode(err) !== 'ENOENT') this.logger.warn({ file: seg.path, err: messageOf(err) }, 'InfluxDB write queue: a stored segment could not be removed');
    });
  }

  /** Reads one segment left by an earlier run; records after a torn or damaged one cannot be trusted. */
  private async recover(name: string, last: boolean): Promise<void> {
    const path = join(this.options.dir, name);
    const id = Number((SEGMENT_RE.exec(name) as RegExpExecArray)[1]);
    this.nextSegmentId = Math.max(this.nextSegmentId, id + 1);
    const data = await readFile(path);
    const records: Array<{ offset: number; length: number }> = [];
    let p = 0;
    let problem: string | undefined;
    while (p < data.length) {
      if (p + HEADER > data.length) {
        problem = 'a record header cut short';
        break;
      }
      const length = data.readUInt32LE(p);
      const sum = data.readUInt32LE(p + 4);
      if (p + HEADER + length > data.length) {
        problem = 'a record cut short';
        break;
      }
      if (crc32(data.subarray(p + HEADER, p + HEADER + length)) !== sum) {
        problem = 'a record whose checksum does not match';
        break;
      }
      records.push({ offset: p + HEADER, length });
      p += HEADER + length;
    }
    if (problem !== undefined) {
      const lost = data.length - p;
      if (last) {
        // The last write of a crashed run, never synced, so never acknowledged.
        this.logger.warn({ file: path, at: p, bytes: lost }, `InfluxDB write queue: ${problem} at the end of the last segment (a write the previous run never acknowledged); cut off`);
      } else {
        this.logger.error({ file: path, at: p, bytes: lost }, `InfluxDB write queue: ${problem} in a segment: the ${lost} bytes after it cannot be read and are not sent`);
      }
    }
    if (records.length === 0) {
      await unlink(path);
      return;
    }
    const fh = await open(path, 'r+');
    if (problem !== undefined && last) await fh.truncate(p);
    const seg: Segment = { id, path, fh, size: p, pending: records.length };
    this.segments.push(seg);
    const atMs = Date.now();
    for (const r of records) {
      this.unsent.push({ seg, offset: r.offset, length: r.length, seq: ++this.seq, atMs });
      this.backlogBytes += r.length;
      this.backlogBatches++;
    }
  }

  private async takeLock(): Promise<void> {
    const path = join(this.options.dir, LOCK_FILE);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await writeFile(path, String(process.pid), { flag: 'wx' });
        return;
      } catch (err) {
        if (errorCode(err) !== 'EEXIST') throw err;
      }
      const owner = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      // Our own pid is alive by definition; as this process does not hold the directory, the lock was left by
      // an earlier process with the same pid (PID 1 in a restarted container).
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
        throw new Error(`InfluxDB write queue ${this.options.dir} is in use by process ${owner}: give each API process its own INFLUX.queue_dir`);
      }
      this.logger.warn({ dir: this.options.dir, stalePid: owner }, 'InfluxDB write queue: lock of a dead process taken over');
      await rm(path, { force: true });
    }
    throw new Error(`InfluxDB write queue ${this.options.dir}: could not take the lock`);
  }

  private async releaseLock(): Promise<void> {
    this.locked = false;
    openDirs.delete(resolvePath(this.options.dir));
    await rm(join(this.options.dir, LOCK_FILE), { force: true }).catch((err: unknown) =>
      this.logger.warn({ dir: this.options.dir, err: messageOf(err) }, 'InfluxDB write queue: lock file not removed'),
    );
  }

  private takeBuffer(bytes: number): Buffer {
    const i = this.spare.findIndex((b) => b.length >= bytes);
    if (i >= 0) return this.spare.splice(i, 1)[0] as Buffer;
    // Powers of two from 64 KiB, so a buffer given back fits the next batches of about the same size.
    let size = 1 << 16;
    while (size < bytes) size *= 2;
    return Buffer.allocUnsafeSlow(size);
  }

  private giveBack(buf: Buffer): void {
    const whole = buf.byteOffset === 0 && buf.buffer.byteLength === buf.length ? buf : Buffer.from(buf.buffer, 0, buf.buffer.byteLength);
    if (whole.length > MAX_SPARE_APPEND_BYTES) return;
    this.spare.push(whole);
    if (this.spare.length > SPARE_APPEND_BUFFERS) this.spare.sort((a, b) => b.length - a.length).pop();
  }
}
