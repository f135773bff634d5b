import { appendFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, removeDir } from '@energyrecorder/testkit';
import type { LogFields, Logger } from '@energyrecorder/core';
import { Spool, type SpoolRecord } from '../src/internal/spool.js';

function rec(i: number, readings = 1): SpoolRecord {
  return {
    environment: 'E',
    equipmentId: `d${i % 3}`,
    time: 1_700_000_000_000_000_000 + i,
    measurements: Array.from({ length: readings }, (_, k) => ({ sensor: `s${k}`, unit: 'W', value: i, time: 1_700_000_000_000_000_000 + i })),
  };
}

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
    const warnings: { fields: LogFields; msg: string | undefined }[] = [];
    const logger: Logger = {
      trace: () => undefined,
      debug: () => undefined,
      info: () => undefined,
      warn: (fields, msg) => void warnings.push({ fields, msg }),
      error: () => undefined,
      child: () => logger,
    };
    const spool = await Spool.open(dir, { maxBytes: 4000, segmentBytes: 1000, logger });
    for (let i = 0; i < 60; i++) await spool.append([rec(i, 1)]);
    const depth = spool.depth();
    const logged = warnings.filter((w) => w.msg === 'spool full: oldest batches dropped');
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
});
