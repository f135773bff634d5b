import { appendFileSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, removeDir } from '@energyrecorder/testkit';
import { Spool, type SpoolRecord } from '../src/internal/spool.js';
import { captureLogger, type LogLine } from './helpers/capture-logger.js';
import { smallDisk, type SmallDisk } from './helpers/small-disk.js';

function rec(i: number, readings = 1): SpoolRecord {
  return {
    environment: 'E',
    equipmentId: `d${i % 3}`,
    time: 1_700_000_000_000_000_000 + i,
    measurements: Array.from({ length: readings }, (_, k) => ({ sensor: `s${k}`, unit: 'W', value: i, time: 1_700_000_000_000_000_000 + i })),
  };
}

/**
 * Makes every `FileHandle.write` take at most `allow(call, size)` bytes (the kernel's short writes), or fail with
 * ENOSPC when that is 0. `file` is any existing file, opened once to reach the FileHandle prototype.
 */
async function limitWrites(file: string, allow: (call: number, size: number) => number): Promise<{ calls: () => number; restore: () => void }> {
  const probe = await openFile(file, 'r');
  const proto = Object.getPrototypeOf(probe) as { write: (...args: unknown[]) => Promise<{ bytesWritten: number }> };
  await probe.close();
  const realWrite = proto.write;
  let calls = 0;
  const spy = jest.spyOn(proto, 'write').mockImplementation(async function (this: unknown, ...args: unknown[]) {
    calls++;
    const [data, offset, length] = args as [Buffer, number | undefined, number | undefined];
    const from = offset ?? 0;
    const n = allow(calls, length ?? data.length - from);
    if (n === 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    return realWrite.call(this, data, from, n);
  });
  return { calls: () => calls, restore: () => spy.mockRestore() };
}

const valuesOf = (peeked: { record: SpoolRecord }[]): (number | undefined)[] =>
  peeked.map((p) => p.record.measurements[0]?.value);

describe('Spool', () => {
  let dir: string;
  beforeEach(() => {
    dir = makeTempDir('spool');
  });
  afterEach(() => removeDir(dir));

  it('returns records in append order and forgets them when committed', async () => {
    const spool = await Spool.open(dir, { maxBytes: 1 << 20 });
    await spool.append([rec(1), rec(2)]);
    await spool.append([rec(3)]);
    const peeked = await spool.peek(10);
    expect(peeked.map((p) => p.record.measurements[0]?.value)).toEqual([1, 2, 3]);
    const second = peeked[1];
    if (second === undefined) throw new Error('missing');
    await spool.commit(second.next, 2, 2);
    expect((await spool.peek(10)).map((p) => p.record.measurements[0]?.value)).toEqual([3]);
    expect(spool.depth()).toMatchObject({ records: 1, readings: 1 });
    await spool.close();
  });

  it('keeps unconfirmed records and the cursor when reopened', async () => {
    const spool = await Spool.open(dir, { maxBytes: 1 << 20, segmentBytes: 300 });
    for (let i = 0; i < 20; i++) await spool.append([rec(i, 2)]);
    const peeked = await spool.peek(5);
    const fifth = peeked[4];
    if (fifth === undefined) throw new Error('missing');
    await spool.commit(fifth.next, 5, 10);
    await spool.close();
    const again = await Spool.open(dir, { maxBytes: 1 << 20, segmentBytes: 300 });
    expect(again.depth()).toMatchObject({ records: 15, readings: 30 });
    const rest = await again.peek(100);
    expect(rest.map((p) => p.record.measurements[0]?.value)).toEqual(Array.from({ length: 15 }, (_, i) => i + 5));
    await again.append([rec(99)]);
    expect((await again.peek(100)).at(-1)?.record.measurements[0]?.value).toBe(99);
    await again.close();
  });

  it('cuts a torn last line and appends cleanly after it when the previous process died mid-write', async () => {
    const spool = await Spool.open(dir, { maxBytes: 1 << 20 });
    await spool.append([rec(1), rec(2)]);
    await spool.close();
    const seg = readdirSync(dir).find((n) => n.startsWith('seg-'));
    if (seg === undefined) throw new Error('no segment');
    appendFileSync(join(dir, seg), '0badc0de 1 {"environment":"E","equipm');
    const again = await Spool.open(dir, { maxBytes: 1 << 20 });
    await again.append([rec(3)]);
    expect((await again.peek(10)).map((p) => p.record.measurements[0]?.value)).toEqual([1, 2, 3]);
    await again.close();
  });

  it('drops the oldest segments and counts the lost readings when it grows past maxBytes', async () => {
    const lines: LogLine[] = [];
    const spool = await Spool.open(dir, { maxBytes: 4000, segmentBytes: 1000, logger: captureLogger(lines) });
    for (let i = 0; i < 60; i++) await spool.append([rec(i, 1)]);
    const depth = spool.depth();
    const logged = lines.filter((w) => w.level === 'warn' && w.msg === 'spool full: oldest batches dropped');
    expect(logged.reduce((n, w) => n + Number(w.fields['droppedReadings']), 0)).toBe(depth.droppedReadings);
    expect(depth.bytes).toBeLessThanOrEqual(4000);
    expect(depth.droppedRecords).toBeGreaterThan(0);
    expect(depth.droppedRecords + depth.records).toBe(60);
    expect(depth.droppedReadings).toBe(depth.droppedRecords);
    const values = (await spool.peek(1000)).map((p) => p.record.measurements[0]?.value);
    // What is left is the newest records, still in order.
    expect(values).toEqual(Array.from({ length: depth.records }, (_, i) => 60 - depth.records + i));
    await spool.close();
  });

  it('counts the sent part of the oldest segment against maxBytes when the head is partly committed', async () => {
    const spool = await Spool.open(dir, { maxBytes: 4000, segmentBytes: 1000 });
    const sizes: number[] = [];
    for (let i = 0; i < 80; i++) {
      await spool.append([rec(i, 1)]);
      // The API confirms one record in three: the head segment is always partly sent.
      if (i % 3 === 0) {
        const [first] = await spool.peek(1);
        if (first !== undefined) await spool.commit(first.next, 1, 1);
      }
      sizes.push(await spool.diskBytes());
      expect(spool.depth().diskBytes).toBe(sizes.at(-1));
    }
    expect(Math.max(...sizes)).toBeLessThanOrEqual(4000);
    expect(spool.depth().droppedRecords).toBeGreaterThan(0);
    await spool.close();
  });

  it('keeps its files within a bound smaller than the smallest default segment', async () => {
    const spool = await Spool.open(dir, { maxBytes: 1000 });
    for (let i = 0; i < 40; i++) {
      await spool.append([rec(i, 1)]);
      expect(await spool.diskBytes()).toBeLessThanOrEqual(1000);
    }
    expect(spool.depth().records).toBeGreaterThan(0);
    // One append larger than the bound is kept whole, alone in its segment.
    await spool.append(Array.from({ length: 20 }, (_, i) => rec(100 + i, 1)));
    expect(spool.depth()).toMatchObject({ records: 20, segments: 1 });
    await spool.close();
  });

  it('refuses a second opener and takes over the lock of a dead process when two collectors share a dir', async () => {
    const first = await Spool.open(dir, { maxBytes: 1 << 20 });
    await expect(Spool.open(dir, { maxBytes: 1 << 20 })).rejects.toMatchObject({ code: 'ER_SPOOL' });
    await first.close();
    // A pid that cannot exist, as left by a collector killed with SIGKILL.
    writeFileSync(join(dir, 'lock.pid'), '2147483646');
    const again = await Spool.open(dir, { maxBytes: 1 << 20 });
    await again.close();
  });

  it('deletes segment files once every record in them is confirmed', async () => {
    const spool = await Spool.open(dir, { maxBytes: 1 << 20, segmentBytes: 500 });
    for (let i = 0; i < 30; i++) await spool.append([rec(i)]);
    const before = readdirSync(dir).filter((n) => n.startsWith('seg-')).length;
    const all = await spool.peek(1000);
    const last = all.at(-1);
    if (last === undefined) throw new Error('empty');
    await spool.commit(last.next, all.length, all.length);
    const after = readdirSync(dir).filter((n) => n.startsWith('seg-')).length;
    expect(before).toBeGreaterThan(2);
    expect(after).toBe(1);
    expect(spool.depth()).toMatchObject({ records: 0, bytes: 0 });
    await spool.close();
  });

  it('reads a record longer than the 4 MiB peek window and everything after it when one poll is huge', async () => {
    const spool = await Spool.open(dir, { maxBytes: 256 << 20 });
    await spool.append([rec(1)]);
    await spool.append([rec(2, 70_000)]); // about 5 MB on one line
    for (let i = 3; i < 8; i++) await spool.append([rec(i)]);
    const window = await spool.peek(2000);
    expect(valuesOf(window)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(window[1]?.record.measurements).toHaveLength(70_000);
    const last = window.at(-1);
    if (last === undefined) throw new Error('empty');
    await spool.commit(last.next, 7, 70_006);
    await spool.append([rec(8)]);
    expect(valuesOf(await spool.peek(10))).toEqual([8]);
    expect(spool.depth()).toMatchObject({ records: 1, droppedRecords: 0 });
    await spool.close();
  });

  it('counts and logs a record with a bad checksum as dropped when it is read back', async () => {
    const lines: LogLine[] = [];
    const spool = await Spool.open(dir, { maxBytes: 1 << 20, logger: captureLogger(lines) });
    await spool.append([rec(1), rec(2, 3), rec(3)]);
    await spool.close();
    const seg = readdirSync(dir).find((n) => n.startsWith('seg-'));
    if (seg === undefined) throw new Error('no segment');
    const text = readFileSync(join(dir, seg), 'utf8').split('\n');
    // Flip one digit of the second record's value: its checksum no longer matches.
    text[1] = (text[1] ?? '').replace('"value":2', '"value":9');
    writeFileSync(join(dir, seg), text.join('\n'));
    const again = await Spool.open(dir, { maxBytes: 1 << 20, logger: captureLogger(lines) });
    expect(valuesOf(await again.peek(10))).toEqual([1, 3]);
    expect(valuesOf(await again.peek(10))).toEqual([1, 3]);
    expect(again.depth()).toMatchObject({ records: 2, droppedRecords: 1 });
    expect(lines.filter((l) => l.level === 'error' && /corrupt record/.test(l.msg ?? ''))).toHaveLength(1);
    await again.close();
  });

  it('syncs the directory when it creates a segment and when it renames the cursor, so both survive a power cut', async () => {
    const spool = await Spool.open(dir, { maxBytes: 1 << 20, segmentBytes: 4096 });
    const probe = await openFile(dir, 'r');
    const proto = Object.getPrototypeOf(probe) as { sync: () => Promise<void> };
    await probe.close();
    const spy = jest.spyOn(proto, 'sync');
    try {
      await spool.append([rec(1)]);
      expect(spy).toHaveBeenCalledTimes(1);
      await spool.append([rec(2)]);
      expect(spy).toHaveBeenCalledTimes(1);
      // Past segmentBytes: a new segment, a new directory entry.
      await spool.append([rec(3, 80)]);
      expect(spy).toHaveBeenCalledTimes(2);
      const [first] = await spool.peek(1);
      if (first === undefined) throw new Error('missing');
      await spool.commit(first.next, 1, 1);
      expect(spy).toHaveBeenCalledTimes(3);
    } finally {
      spy.mockRestore();
      await spool.close();
    }
  });

  it('rejects and cuts the segment back to its last good end when a write is short and the disk is full', async () => {
    const spool = await Spool.open(dir, { maxBytes: 1 << 20, fsync: false });
    await spool.append([rec(1)]);
    const seg = readdirSync(dir).find((n) => n.startsWith('seg-'));
    if (seg === undefined) throw new Error('no segment');
    const goodEnd = statSync(join(dir, seg)).size;
    // First call: the kernel takes only part of it; second call: the disk is full.
    const writes = await limitWrites(join(dir, seg), (call, size) => (call === 1 ? Math.max(1, Math.floor(size / 2)) : 0));
    try {
      await expect(spool.append([rec(2, 20)])).rejects.toMatchObject({ code: 'ER_SPOOL' });
    } finally {
      writes.restore();
    }
    expect(writes.calls()).toBe(2);
    expect(statSync(join(dir, seg)).size).toBe(goodEnd);
    expect(spool.depth()).toMatchObject({ records: 1, readings: 1 });
    await spool.append([rec(3)]);
    expect(valuesOf(await spool.peek(10))).toEqual([1, 3]);
    await spool.close();
  });

  it('writes the rest when a write is short but the disk has room', async () => {
    const spool = await Spool.open(dir, { maxBytes: 1 << 20, fsync: false });
    await spool.append([rec(1)]);
    const seg = readdirSync(dir).find((n) => n.startsWith('seg-'));
    if (seg === undefined) throw new Error('no segment');
    const writes = await limitWrites(join(dir, seg), (_call, size) => Math.min(size, 100));
    try {
      await spool.append([rec(2, 20), rec(3, 20)]);
    } finally {
      writes.restore();
    }
    expect(valuesOf(await spool.peek(10))).toEqual([1, 2, 3]);
    await spool.close();
  });

  it('takes over a lock holding its own pid when this process does not hold the spool', async () => {
    // Left by an earlier incarnation with the same pid: PID 1 of a container restarted after a kill.
    writeFileSync(join(dir, 'lock.pid'), String(process.pid));
    const spool = await Spool.open(dir, { maxBytes: 1 << 20 });
    expect(readFileSync(join(dir, 'lock.pid'), 'utf8')).toBe(String(process.pid));
    // Still one holder per process: a second open of the same directory is refused.
    await expect(Spool.open(dir, { maxBytes: 1 << 20 })).rejects.toMatchObject({ code: 'ER_SPOOL' });
    await spool.close();
    expect(existsSync(join(dir, 'lock.pid'))).toBe(false);
  });
});

describe('Spool when its directory or disk fails under it', () => {
  let dir: string;
  let disk: SmallDisk | undefined;
  beforeEach(() => {
    dir = makeTempDir('spool-faults');
  });
  afterEach(() => {
    disk?.restore();
    disk = undefined;
    removeDir(dir);
  });

  it('recreates the directory and keeps every unsent record when the directory is removed while open', async () => {
    const lines: LogLine[] = [];
    const spool = await Spool.open(dir, { maxBytes: 1 << 20, segmentBytes: 300, logger: captureLogger(lines) });
    for (let i = 0; i < 10; i++) await spool.append([rec(i, 2)]);
    const [, second] = await spool.peek(2);
    if (second === undefined) throw new Error('missing');
    await spool.commit(second.next, 2, 4);
    expect(spool.depth().segments).toBeGreaterThan(2);
    rmSync(dir, { recursive: true, force: true });
    await spool.append([rec(10, 2)]);
    expect(existsSync(dir)).toBe(true);
    expect(readFileSync(join(dir, 'lock.pid'), 'utf8')).toBe(String(process.pid));
    expect(valuesOf(await spool.peek(100))).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(spool.depth()).toMatchObject({ records: 9, readings: 18, droppedRecords: 0 });
    expect(lines.some((l) => l.level === 'error' && /directory or segment removed/.test(l.msg))).toBe(true);
    await spool.close();
    // On disk, not only in the open files of the removed directory.
    const again = await Spool.open(dir, { maxBytes: 1 << 20, segmentBytes: 300 });
    expect(valuesOf(await again.peek(100))).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10]);
    await again.close();
  });

  it('rewrites the unsent records into a new segment when the segment appended to is deleted', async () => {
    const spool = await Spool.open(dir, { maxBytes: 1 << 20 });
    await spool.append([rec(1), rec(2)]);
    const seg = readdirSync(dir).find((n) => n.startsWith('seg-'));
    if (seg === undefined) throw new Error('no segment');
    rmSync(join(dir, seg));
    await spool.append([rec(3)]);
    expect(valuesOf(await spool.peek(10))).toEqual([1, 2, 3]);
    await spool.close();
    const again = await Spool.open(dir, { maxBytes: 1 << 20 });
    expect(valuesOf(await again.peek(10))).toEqual([1, 2, 3]);
    await again.close();
  });

  it('reads, commits and gives the space back when the spool itself filled the disk', async () => {
    const spool = await Spool.open(dir, { maxBytes: 1 << 20, fsync: false });
    await spool.append([rec(0)]);
    const [first] = await spool.peek(1);
    if (first === undefined) throw new Error('missing');
    // A cursor file exists from here on, as on any spool that has delivered something.
    await spool.commit(first.next, 1, 1);
    disk = await smallDisk(dir, 4000);
    let appended = 1;
    for (; appended < 100; appended++) {
      const ok = await spool.append([rec(appended)]).then(
        () => true,
        () => false,
      );
      if (!ok) break;
    }
    expect(appended).toBeLessThan(100);
    expect(disk.used()).toBeLessThanOrEqual(4000);
    const window = await spool.peek(1000);
    expect(valuesOf(window)).toEqual(Array.from({ length: appended - 1 }, (_, i) => i + 1));
    // The API confirmed half of it: the cursor is written although no new file fits.
    const half = window[Math.floor(window.length / 2) - 1];
    if (half === undefined) throw new Error('missing');
    await spool.commit(half.next, Math.floor(window.length / 2), Math.floor(window.length / 2));
    // Then the rest: the segment that failed is deleted, and appends work again without freeing anything else.
    const rest = await spool.peek(1000);
    const last = rest.at(-1);
    if (last === undefined) throw new Error('empty');
    await spool.commit(last.next, rest.length, rest.length);
    expect(disk.used()).toBeLessThan(200);
    await spool.append([rec(500)]);
    expect(valuesOf(await spool.peek(10))).toEqual([500]);
    await spool.close();
    disk.restore();
    disk = undefined;
    const again = await Spool.open(dir, { maxBytes: 1 << 20 });
    expect(valuesOf(await again.peek(10))).toEqual([500]);
    await again.close();
  });

  it('persists a cursor that stops inside a segment on a full disk, so a restart resumes there', async () => {
    const spool = await Spool.open(dir, { maxBytes: 1 << 20, fsync: false });
    for (let i = 0; i < 6; i++) await spool.append([rec(i)]);
    const [first] = await spool.peek(1);
    if (first === undefined) throw new Error('missing');
    await spool.commit(first.next, 1, 1);
    disk = await smallDisk(dir, 0);
    disk.fill();
    const window = await spool.peek(2);
    const second = window[1];
    if (second === undefined) throw new Error('missing');
    await spool.commit(second.next, 2, 2);
    await spool.close();
    disk.restore();
    disk = undefined;
    const again = await Spool.open(dir, { maxBytes: 1 << 20 });
    expect(valuesOf(await again.peek(10))).toEqual([3, 4, 5]);
    await again.close();
  });
});
