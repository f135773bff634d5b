import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

/** A simulated small file system under the spool directory: see {@link smallDisk}. */
export interface SmallDisk {
  /**
   * Bytes the "disk" holds; writes that would go beyond it fail with ENOSPC. 0 (below what the files hold) is a
   * disk that stays full whatever is deleted, as when another process keeps taking the space freed.
   */
  capacity: number;
  /** Bytes of the files in the directory now. */
  used(): number;
  /** Another file took the rest of the disk: nothing more fits until {@link capacity} is raised. */
  fill(): void;
  /** Writes refused (or cut short) for lack of space. */
  refusals(): number;
  restore(): void;
}

type WriteResult = { bytesWritten: number; buffer: unknown };

const enospc = (): Error =>
  Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });

/**
 * Makes the directory `dir` behave as a file system of `capacity` bytes, without root and without mounting
 * anything: every `FileHandle.write`/`writeFile` of the process is checked against the bytes its files hold (their
 * real sizes, so deleting or truncating a file gives the space back). A write that fits is done; one that does
 * not is cut short to the space left (as the kernel does) and the next one fails with ENOSPC; overwriting bytes
 * a file already has takes no space. It counts bytes where a real file system counts blocks, and a file deleted
 * while open frees its bytes at once: close enough for the spool, which only needs "full" and "room again".
 */
export async function smallDisk(dir: string, capacity: number): Promise<SmallDisk> {
  const probe = await open(join(dir, '.small-disk-probe'), 'w');
  const proto = Object.getPrototypeOf(probe) as {
    write: (this: FileHandle, ...args: unknown[]) => Promise<WriteResult>;
    writeFile: (this: FileHandle, ...args: unknown[]) => Promise<void>;
  };
  await probe.close();
  rmSync(join(dir, '.small-disk-probe'), { force: true });
  const realWrite = proto.write;
  const realWriteFile = proto.writeFile;
  let refused = 0;
  const used = (): number => {
    if (!existsSync(dir)) return 0;
    let n = 0;
    for (const name of readdirSync(dir)) {
      const st = statSync(join(dir, name), { throwIfNoEntry: false });
      if (st?.isFile() === true) n += st.size;
    }
    return n;
  };
  const disk: SmallDisk = {
    capacity,
    used,
    fill: () => void (disk.capacity = used()),
    refusals: () => refused,
    restore: () => {
      write.mockRestore();
      writeFile.mockRestore();
    },
  };
  const write = jest.spyOn(proto, 'write').mockImplementation(async function (this: FileHandle, ...args: unknown[]) {
    const [data, a, b, c] = args;
    if (!(data instanceof Uint8Array)) return realWrite.apply(this, args);
    const offset = typeof a === 'number' ? a : 0;
    const length = typeof b === 'number' ? b : data.length - offset;
    const position = typeof c === 'number' ? c : undefined;
    // Without a position the spool appends (its files are opened with `a+`).
    const growth = position === undefined ? length : Math.max(0, position + length - (await this.stat()).size);
    const free = disk.capacity - used();
    if (growth <= free) return realWrite.apply(this, args);
    refused++;
    if (free > 0 && position === undefined) return realWrite.call(this, data, offset, free);
    throw enospc();
  });
  const writeFile = jest.spyOn(proto, 'writeFile').mockImplementation(async function (this: FileHandle, ...args: unknown[]) {
    const [data] = args;
    const length = typeof data === 'string' ? Buffer.byteLength(data) : data instanceof Uint8Array ? data.length : 0;
    const growth = Math.max(0, length - (await this.stat()).size);
    if (growth > disk.capacity - used()) {
      refused++;
      throw enospc();
    }
    return realWriteFile.apply(this, args);
  });
  return disk;
}
