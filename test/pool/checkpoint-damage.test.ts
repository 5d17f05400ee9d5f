import { describe, expect, it } from 'vitest';
import { Pool } from '../../lib';
import { decodeSuperblock, isSuperblock } from '../../lib/pool/layout';
import { pageCrc } from '../../lib/pool/meta/page-store';
import { MemoryDevice } from '../../lib/testing';
import { FailingDevice } from './support/failing-device';

const KiB = 1024;
const MiB = 1024 * KiB;
const PAGE = 4096;

/** Creates until one fails with EIO (the device's planted failure, met by the checkpoint a create starts). */
function createsUntilEio(pool: Pool): void {
  for (let i = 0; i < 5000; i++) {
    try {
      pool.open(`h${i}`, { create: true }).close();
    } catch (e) {
      expect(e).toMatchObject({ code: 'EIO' });
      return;
    }
  }
  throw new Error('no create failed');
}

let created = 0;
function untilCheckpoint(pool: Pool): void {
  const at = pool.stats().checkpoints;
  while (pool.stats().checkpoints === at) pool.open(`g${created++}`, { create: true }).close();
}

describe('format-2 checkpoints under damage (a hostile review)', () => {
  it('a bitmap copy whose CRC write failed is written whole by the retried checkpoint: the media open after it', () => {
    const dev = new FailingDevice(256 * MiB);
    const pool = Pool.createOn(dev, { journalBytes: 64 * KiB });
    untilCheckpoint(pool);
    untilCheckpoint(pool);
    // Blocks in the upper half of the pool: bitmap page 1 changes.
    const b = pool.open('b', { create: true });
    b.writeSync(new Uint8Array(140 * MiB).fill(1), 0);
    b.fsyncSync();
    b.close();
    const next = pool.metadataRanges().filter((r) => r.area === 'bitmap')[1];
    if (next === undefined) throw new Error('no second bitmap copy');
    // The CRC page of the copy the next checkpoint writes (2 bit pages for 65536 blocks).
    dev.failOffset = next.offset + 2 * PAGE;
    createsUntilEio(pool);
    // Page 1 goes back to what the copy held two checkpoints ago, which a diff against a stale base would skip.
    const before = pool.stats().checkpoints;
    pool.unlink('b');
    expect(pool.stats().checkpoints).toBeGreaterThan(before);
    const image = new MemoryDevice(dev.size);
    image.bytes.set(dev.bytes);
    const again = Pool.openOn(image);
    expect(again.exists('b')).toBe(false);
    expect(again.check().problems).toEqual([]);
    again.closeSync();
  }, 30_000);

  it('names given since the last checkpoint stay listed when a checkpoint fails before its switch, and after the next one', () => {
    const dev = new FailingDevice(64 * MiB);
    const pool = Pool.createOn(dev, { journalBytes: 64 * KiB });
    untilCheckpoint(pool);
    const names = Array.from({ length: 50 }, (_, i) => `m${String(i).padStart(2, '0')}`);
    for (const n of names) pool.open(n, { create: true }).close();
    // The primary superblock is written first (the backup is current): its failure abandons the checkpoint.
    dev.failOffset = 0;
    createsUntilEio(pool);
    expect([...pool.list({ prefix: 'm' })]).toEqual(names);
    untilCheckpoint(pool);
    expect([...pool.list({ prefix: 'm' })]).toEqual(names);
    const image = new MemoryDevice(dev.size);
    image.bytes.set(dev.bytes);
    const again = Pool.openOn(image);
    expect([...again.list({ prefix: 'm' })]).toEqual(names);
    expect([...again.list()]).toEqual([...pool.list()]);
    again.closeSync();
    pool.closeSync();
  });

  /**
   * A closed pool whose inodes tree has two levels (302 inodes): its root, a branch, and the first leaf,
   * which holds files a and b; f299 lies in the last leaf.
   */
  function twoLevels(): { dev: MemoryDevice; root: number; firstLeaf: number } {
    const dev = new MemoryDevice(8 * MiB);
    const pool = Pool.createOn(dev);
    for (const n of ['a', 'b']) pool.open(n, { create: true }).close();
    for (let i = 0; i < 300; i++) pool.open(`f${i}`, { create: true }).close();
    pool.closeSync();
    const root = inodesRoot(dev);
    const page = Buffer.from(dev.bytes.buffer, dev.bytes.byteOffset + root * PAGE, PAGE);
    expect(page.readUInt16LE(0)).toBe(2);
    return { dev, root, firstLeaf: page.readUInt32LE(page.readUInt16LE(16) + 2) };
  }

  function inodesRoot(dev: MemoryDevice): number {
    const sb = decodeSuperblock(dev.bytes.subarray(0, PAGE));
    if (!isSuperblock(sb)) throw new Error('no superblock');
    return sb.roots.inodes;
  }

  it.each([
    ['dead bytes past the page', 6, 65500, /dead bytes/],
    ['the cell area starting at the end of the page', 4, PAGE, /outside the cell area/],
    ['the cell area starting inside the slots', 4, 16, /cell area from byte 16/],
  ])('a tree page whose header is wrong but whose CRC is right (%s) is ERR_PMEMDAX_CORRUPT at a verified open, and at the first read of it after a default one, a root as a leaf', (_what, at, value, message) => {
    for (const page of ['root', 'leaf'] as const) {
      const { dev, root, firstLeaf } = twoLevels();
      const block = page === 'root' ? root : firstLeaf;
      const p = Buffer.from(dev.bytes.buffer, dev.bytes.byteOffset + block * PAGE, PAGE);
      p.writeUInt16LE(value, at);
      p.writeUInt32LE(pageCrc(p), 8);
      const damage = expect.objectContaining({ code: 'ERR_PMEMDAX_CORRUPT', message: expect.stringMatching(message) });
      for (const readonly of [true, false]) {
        expect(() => Pool.openOn(dev, { readonly, verify: true })).toThrow(damage);
        // An open after a clean close reads no inode: the page is met by the first call that reads it (a damaged
        // root too: names, listings and the inline extents of other files may not need that tree).
        const lazy = Pool.openOn(dev, { readonly });
        expect(() => lazy.stat('a')).toThrow(damage);
        expect(() => lazy.open('b')).toThrow(damage);
        expect(lazy.check().problems).toEqual([expect.objectContaining({ what: 'load', message: expect.stringMatching(message) })]);
        lazy.closeSync();
      }
    }
  });

  it('poison in a tree page below the root: the default open succeeds, the call that reads the page gets EIO with its offset, other files stay usable', () => {
    const { dev, firstLeaf: leaf } = twoLevels();
    dev.injectBadblock(leaf * PAGE + 512, 512);
    const lazy = Pool.openOn(dev, { readonly: true });
    expect(() => lazy.stat('a')).toThrow(expect.objectContaining({ code: 'EIO', offset: leaf * PAGE + 512, message: expect.stringContaining('metadata tree page') }));
    expect(lazy.stat('f299').size).toBe(0);
    lazy.closeSync();
  });
});
