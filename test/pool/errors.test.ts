import { describe, expect, it } from 'vitest';
import { Pool, type PoolFile } from '../../lib';
import { MemoryDevice } from '../../lib/testing';

const MiB = 1024 * 1024;
const BLOCK = 4096;

function pattern(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 13 + seed) & 0xff;
  return b;
}

/** A pool with a few committed files, closed cleanly unless `open` is asked for. */
function populated(size = 8 * MiB): { dev: MemoryDevice; pool: Pool } {
  const dev = new MemoryDevice(size);
  const pool = Pool.createOn(dev, { journalBytes: 128 * 1024 });
  for (let i = 0; i < 5; i++) {
    const f = pool.open(`file-${i}`, { create: true, sync: true });
    f.writeSync(pattern(3 * BLOCK + i, i), 0);
    f.close();
  }
  return { dev, pool };
}

function flip(dev: MemoryDevice, at: number, bits: number): void {
  dev.bytes[at] = (dev.bytes[at] ?? 0) ^ bits;
}

/** Where a closed pool keeps `area` now (a read-only open writes nothing). */
function metadataRange(dev: MemoryDevice, area: string): { offset: number; length: number } {
  const ro = Pool.openOn(dev, { readonly: true });
  const range = ro.metadataRanges().find((r) => r.area === area);
  ro.closeSync();
  if (range === undefined) throw new Error(`no ${area}`);
  return range;
}

/** `fn` must throw an error with `code` and leave every byte of the device as it was. */
function failsCleanly(dev: MemoryDevice, code: string, fn: () => unknown): void {
  const before = dev.bytes.slice();
  expect(fn).toThrow(expect.objectContaining({ code }));
  expect(Buffer.compare(Buffer.from(before), Buffer.from(dev.bytes))).toBe(0);
}

async function failsCleanlyAsync(dev: MemoryDevice, code: string, fn: () => Promise<unknown>): Promise<void> {
  const before = dev.bytes.slice();
  await expect(fn()).rejects.toMatchObject({ code });
  expect(Buffer.compare(Buffer.from(before), Buffer.from(dev.bytes))).toBe(0);
}

describe('pool: failed calls leave the pool exactly as it was', () => {
  it('ENOENT, EEXIST, ENAMETOOLONG, EINVAL for names', () => {
    const { dev, pool } = populated();
    failsCleanly(dev, 'ENOENT', () => pool.open('missing'));
    failsCleanly(dev, 'ENOENT', () => pool.unlink('missing'));
    failsCleanly(dev, 'ENOENT', () => pool.rename('missing', 'x'));
    failsCleanly(dev, 'ENOENT', () => pool.stat('missing'));
    failsCleanly(dev, 'EEXIST', () => pool.open('file-1', { create: true, exclusive: true }));
    failsCleanly(dev, 'ENAMETOOLONG', () => pool.open('n'.repeat(256), { create: true }));
    failsCleanly(dev, 'ENAMETOOLONG', () => pool.open('é'.repeat(128), { create: true }));
    failsCleanly(dev, 'ENAMETOOLONG', () => pool.rename('file-1', 'x'.repeat(300)));
    failsCleanly(dev, 'EINVAL', () => pool.open('', { create: true }));
    failsCleanly(dev, 'EINVAL', () => pool.open('a\0b', { create: true }));
    // 255 bytes is allowed, and so is '/'.
    expect(pool.open(`dir/${'n'.repeat(251)}`, { create: true }).name).toHaveLength(255);
    expect(pool.check().ok).toBe(true);
  });

  it('EEXIST when formatting over a pool without force', () => {
    const { dev, pool } = populated();
    pool.closeSync();
    failsCleanly(dev, 'EEXIST', () => Pool.createOn(dev));
  });

  it('EFBIG for writes and sizes past the largest file', async () => {
    const { dev, pool } = populated();
    const f = pool.open('file-0');
    const max = pool.statfs().fileSizeMax;
    failsCleanly(dev, 'EFBIG', () => f.writeSync(new Uint8Array(10), max - 5));
    await failsCleanlyAsync(dev, 'EFBIG', () => f.truncate(max + 1));
    await failsCleanlyAsync(dev, 'EFBIG', () => f.fallocate('allocate', max, 4096));
  });

  it('-0 as a size or a position is 0: nothing reports -0 back', async () => {
    const { pool } = populated();
    const f = pool.open('file-1');
    await f.truncate(-0);
    expect(Object.is(f.size, 0)).toBe(true);
    expect(Object.is(f.stat().size, 0)).toBe(true);
    expect(Object.is(await f.append(new Uint8Array(5).fill(7)), 0)).toBe(true);
    expect(f.writeSync(new Uint8Array([9]), -0)).toBe(1);
    expect(await f.write(new Uint8Array([8]), -0)).toBe(1);
    const back = new Uint8Array(5);
    expect(f.readSync(back, -0)).toBe(5);
    expect([...back]).toEqual([8, 7, 7, 7, 7]);
    expect(Object.is(f.seekData(-0), 0)).toBe(true);
    await f.fallocate('allocate', -0, BLOCK);
    expect(f.size).toBe(BLOCK);
    f.close();
    pool.close();
  });

  it('ENOSPC for a write, an append and a fallocate that do not fit', async () => {
    const { dev, pool } = populated(2 * MiB);
    const f = pool.open('big', { create: true, sync: true });
    const free = pool.statfs().freeBlocks;
    f.writeSync(new Uint8Array((free - 2) * BLOCK), 0);
    expect(pool.statfs().freeBlocks).toBe(2);
    failsCleanly(dev, 'ENOSPC', () => f.writeSync(new Uint8Array(3 * BLOCK), 100 * MiB));
    failsCleanly(dev, 'ENOSPC', () => f.appendSync(new Uint8Array(3 * BLOCK)));
    await failsCleanlyAsync(dev, 'ENOSPC', () => f.fallocate('keep-size', 200 * MiB, 3 * BLOCK));
    // What fits still works, and the pool stays consistent.
    f.writeSync(new Uint8Array(2 * BLOCK).fill(1), 300 * MiB);
    expect(pool.check().problems).toEqual([]);
  });

  it('EROFS on a read-only pool, EBADF on a read-only file, ERR_PMEMDAX_CLOSED after close', () => {
    const { dev, pool } = populated();
    pool.closeSync();
    const ro = Pool.openOn(dev, { readonly: true });
    failsCleanly(dev, 'EROFS', () => ro.open('new', { create: true }));
    failsCleanly(dev, 'EROFS', () => ro.unlink('file-1'));
    failsCleanly(dev, 'EROFS', () => ro.rename('file-1', 'file-9'));
    const rf = ro.open('file-1', { readonly: true });
    failsCleanly(dev, 'EROFS', () => rf.writeSync(new Uint8Array(1), 0));
    ro.closeSync();
    const rw = Pool.openOn(dev);
    const f = rw.open('file-2', { readonly: true });
    failsCleanly(dev, 'EBADF', () => f.writeSync(new Uint8Array(1), 0));
    const g: PoolFile = rw.open('file-3');
    g.close();
    expect(() => g.readSync(new Uint8Array(1), 0)).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_CLOSED' }));
    rw.closeSync();
    expect(() => [...rw.list()]).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_CLOSED' }));
    expect(() => f.readSync(new Uint8Array(1), 0)).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_CLOSED' }));
  });
});

describe('pool: corrupt and poisoned metadata', () => {
  it('a damaged primary superblock: open uses the backup, says so, and rewrites the primary', () => {
    const { dev, pool } = populated();
    pool.closeSync();
    flip(dev, 40, 0xff);
    const p = Pool.openOn(dev);
    expect(p.info.recovery.usedBackupSuperblock).toBe(true);
    expect([...p.list()]).toHaveLength(5);
    expect(p.check().problems).toEqual([]);
    p.closeSync();
    expect(Pool.openOn(dev).info.recovery.usedBackupSuperblock).toBe(false);
  });

  it('both superblocks damaged: ERR_PMEMDAX_CORRUPT naming the superblock', () => {
    const { dev, pool } = populated();
    pool.closeSync();
    flip(dev, 40, 0xff);
    flip(dev, dev.size - BLOCK + 40, 0xff);
    failsCleanly(dev, 'ERR_PMEMDAX_CORRUPT', () => Pool.openOn(dev));
    expect(() => Pool.openOn(dev)).toThrow(/superblock at offset 0: checksum mismatch/);
  });

  it('not a pool: ERR_PMEMDAX_CORRUPT saying so', () => {
    const dev = new MemoryDevice(MiB);
    expect(() => Pool.openOn(dev)).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_CORRUPT', message: expect.stringMatching(/not a pmemdax pool/) }));
  });

  it.each(['tree', 'bitmap'])('a damaged page of the checkpoint (%s): ERR_PMEMDAX_CORRUPT naming it and its offset', (area) => {
    const { dev, pool } = populated();
    pool.closeSync();
    const page = metadataRange(dev, area);
    flip(dev, page.offset + 70, 0x55);
    const damage = expect.objectContaining({ code: 'ERR_PMEMDAX_CORRUPT', offset: page.offset, message: expect.stringContaining(area) });
    expect(() => Pool.openOn(dev, { verify: true })).toThrow(damage);
    if (area === 'bitmap') {
      expect(() => Pool.openOn(dev)).toThrow(damage);
      return;
    }
    // A tree page is read when a call needs it, after an open that read no inode.
    const lazy = Pool.openOn(dev);
    expect(() => {
      for (const name of lazy.list()) lazy.stat(name);
    }).toThrow(damage);
    lazy.closeSync();
  });

  it('a damaged journal record followed by intact ones: ERR_PMEMDAX_CORRUPT naming the record', () => {
    const dev = new MemoryDevice(8 * MiB);
    const pool = Pool.createOn(dev);
    for (let i = 0; i < 4; i++) pool.open(`f${i}`, { create: true }).close();
    const journal = pool.metadataRanges().find((r) => r.area === 'journal');
    // No close: the records stay in the journal. Damage the first one's payload.
    flip(dev, (journal?.offset ?? 0) + 40, 0x01);
    expect(() => Pool.openOn(dev)).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_CORRUPT', message: expect.stringMatching(/journal record 0/) }));
  });

  it('a torn last journal record is dropped: the pool opens at the record before', () => {
    const dev = new MemoryDevice(8 * MiB);
    const pool = Pool.createOn(dev);
    pool.open('kept', { create: true }).close();
    const journal = pool.metadataRanges().find((r) => r.area === 'journal');
    pool.open('torn', { create: true }).close();
    // The second record starts on the next cache line after the first (64-byte records here).
    flip(dev, (journal?.offset ?? 0) + 64 + 40, 0x01);
    const p = Pool.openOn(dev);
    expect(p.info.recovery).toMatchObject({ replayed: 1, tornTail: true });
    expect([...p.list()]).toEqual(['kept']);
    expect(p.check().problems).toEqual([]);
  });

  it.each(['journal', 'tree', 'bitmap'])('poison in the %s: EIO with its location, no crash', (area) => {
    const { dev, pool } = populated();
    pool.closeSync();
    const offset = metadataRange(dev, area).offset + 512;
    dev.injectBadblock(offset, 512);
    const poison = expect.objectContaining({ code: 'EIO', offset, message: expect.stringContaining(area) });
    expect(() => Pool.openOn(dev, { verify: true })).toThrow(poison);
    if (area !== 'tree') {
      expect(() => Pool.openOn(dev)).toThrow(poison);
      return;
    }
    const lazy = Pool.openOn(dev);
    expect(() => {
      for (const name of lazy.list()) lazy.stat(name);
    }).toThrow(poison);
    lazy.closeSync();
  });

  it('poison in the primary superblock: the backup serves; in both: EIO with the location', () => {
    const { dev, pool } = populated();
    pool.closeSync();
    dev.injectBadblock(512, 512);
    const p = Pool.openOn(dev, { readonly: true });
    expect(p.info.recovery.usedBackupSuperblock).toBe(true);
    expect([...p.list()]).toHaveLength(5);
    p.closeSync();
    // A writer rewrites the primary with the recovery write, which clears the poison.
    Pool.openOn(dev).closeSync();
    expect(dev.badblocks()).toEqual([]);
    expect(Pool.openOn(dev, { readonly: true }).info.recovery.usedBackupSuperblock).toBe(false);
    dev.injectBadblock(512, 512);
    dev.injectBadblock(dev.size - BLOCK, 512);
    expect(() => Pool.openOn(dev)).toThrow(expect.objectContaining({ code: 'EIO', offset: 512, message: expect.stringContaining('primary superblock') }));
  });
});

describe('pool: the unsafe-shutdown record', () => {
  class CountingDevice extends MemoryDevice {
    info = { unsafeShutdownCount: 5 as number | null, region: 'region0' as string | null };
  }

  it('a pool not closed cleanly opens dirty; a clean close clears it; a changed count is a reported mismatch, not an error', () => {
    const dev = new CountingDevice(8 * MiB);
    Pool.createOn(dev);
    const afterCrash = Pool.openOn(dev);
    expect(afterCrash.info.unsafeShutdown).toMatchObject({ dirty: true, count: 5, recorded: 5, mismatch: false, identity: 'region0' });
    afterCrash.closeSync();
    dev.info.unsafeShutdownCount = 6;
    const p = Pool.openOn(dev);
    expect(p.info.unsafeShutdown).toMatchObject({ dirty: false, count: 6, recorded: 5, mismatch: true, recordedIdentity: 'region0' });
    const report = p.check();
    expect(report.ok).toBe(true);
    expect(report.unsafeShutdown.mismatch).toBe(true);
  });
});
