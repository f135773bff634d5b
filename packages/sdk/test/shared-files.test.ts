import { existsSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { availabilityFile, shareDown, sharedDownUntil, shareUp, sweepSharedFiles } from '../src/internal/shared-files.js';

const apiUrl = `http://127.0.0.1:1/shared-files-test-${process.pid}-${Date.now()}`;

afterEach(() => {
  shareUp(apiUrl);
});

describe('shared down note', () => {
  it('is honoured while it runs, from a live writer, written since this process started', () => {
    const until = Date.now() + 60_000;
    shareDown(apiUrl, until);
    expect(sharedDownUntil(apiUrl)).toBe(until);
  });

  it('is deleted when read after it has expired', () => {
    shareDown(apiUrl, Date.now() + 60_000);
    expect(existsSync(availabilityFile(apiUrl))).toBe(true);
    expect(sharedDownUntil(apiUrl, Date.now() + 120_000)).toBeUndefined();
    expect(existsSync(availabilityFile(apiUrl))).toBe(false);
  });
});

describe('sweepSharedFiles', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'er-sweep-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('deletes expired notes, recordings files with nothing to keep and day-old files, and keeps the rest', () => {
    const now = Date.now();
    const write = (name: string, value: unknown): string => {
      const file = join(dir, name);
      writeFileSync(file, JSON.stringify(value));
      return file;
    };
    const expired = write('energyrecorder-api-0000000000000001.json', { apiUrl, downUntilMs: now - 1, atMs: now - 10, pid: process.pid });
    const current = write('energyrecorder-api-0000000000000002.json', { apiUrl, downUntilMs: now + 60_000, atMs: now, pid: process.pid });
    const ended = write('energyrecorder-rec-0000000000000003.json', {
      version: 1,
      recordings: { a: { scenario: 's', outer: null, ended: true, atMs: now - 3_600_000 } },
    });
    const running = write('energyrecorder-rec-0000000000000004.json', {
      version: 1,
      recordings: { b: { scenario: 's', outer: null, ended: false, atMs: now } },
    });
    const old = write('energyrecorder-rec-0000000000000005.json', { version: 1, recordings: { c: { scenario: 's', outer: null, ended: false, atMs: now } } });
    const twoDaysAgo = (now - 2 * 24 * 3600 * 1000) / 1000;
    utimesSync(old, twoDaysAgo, twoDaysAgo);
    const foreign = write('energyrecorder-other.json', {});
    utimesSync(foreign, twoDaysAgo, twoDaysAgo);

    sweepSharedFiles(now, dir);

    expect(existsSync(expired)).toBe(false);
    expect(existsSync(ended)).toBe(false);
    expect(existsSync(old)).toBe(false);
    expect(existsSync(current)).toBe(true);
    expect(existsSync(running)).toBe(true);
    expect(existsSync(foreign)).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['energyrecorder-api-0000000000000002.json', 'energyrecorder-other.json', 'energyrecorder-rec-0000000000000004.json']);
  });
});
