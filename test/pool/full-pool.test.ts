import { describe, expect, it } from 'vitest';
import { Pool } from '../../lib';
import { MemoryDevice } from '../../lib/testing';
import { PoolCore } from '../../lib/pool/core';
import { loadPool } from '../../lib/pool/load';
import { errnoError } from '../../lib/errors';

const KiB = 1024;
const MiB = 1024 * KiB;
const PAGE = 4096;
const LONG = 'n'.repeat(200);

/** `fn` until it throws; it must throw ENOSPC. Returns how many calls succeeded. */
async function untilFull(fn: (i: number) => unknown): Promise<number> {
  for (let i = 0; ; i++) {
    try {
      await fn(i);
    } catch (e) {
      expect(e).toMatchObject({ code: 'ENOSPC' });
      return i;
    }
    if (i > 1_000_000) throw new Error('never full');
  }
}

/** Appends in shrinking pieces until not even a page fits. */
async function fillData(pool: Pool, name: string): Promise<void> {
  const f = pool.open(name, { create: true, sync: true });
  for (const piece of [64 * KiB, PAGE]) await untilFull(() => f.appendSync(new Uint8Array(piece).fill(7)));
  f.close();
}

async function fillNames(pool: Pool, tag: string): Promise<number> {
  return untilFull((i) => pool.open(`${tag}-${i}-${LONG}`, { create: true }).close());
}

async function fillFallocate(pool: Pool, name: string): Promise<void> {
  const f = pool.open(name, { create: true });
  let at = 0;
  for (const piece of [64 * KiB, PAGE]) {
    await untilFull(async () => {
      await f.fallocate('allocate', at, piece);
      at += piece;
    });
  }
  f.close();
}

/** A file's stat without its ctime: a rename's new ctime is not journalled (only a checkpoint keeps it). */
function statOf(pool: Pool, name: string): object {
  const { ctimeMs: _ctime, ...rest } = pool.stat(name);
  return rest;
}

/** What the media say now (a read-only open replays the journal) must be what the live pool says. */
function sameAsMedia(dev: MemoryDevice, pool: Pool): void {
  const ro = Pool.openOn(dev, { readonly: true });
  expect([...ro.list()]).toEqual([...pool.list()]);
  for (const name of [...pool.list()]) expect(statOf(ro, name)).toEqual(statOf(pool, name));
  ro.closeSync();
  expect(pool.check().problems).toEqual([]);
}

/** Checkpoints the pool has written since it opened. */
function checkpointAt(pool: Pool): number {
  return pool.stats().checkpoints;
}

/**
 * The pool is full: it must still commit (overwrites through a sync file, each a 64-byte journal
 * record, until the journal is full and one becomes a checkpoint; then exactly enough to fill the
 * journal again), delete a file when that takes a checkpoint, close, reopen after a clean close or a
 * crash, delete every file, and take data and names again.
 */
async function stillUsable(dev: MemoryDevice, pool: Pool, end: 'close' | 'crash'): Promise<void> {
  sameAsMedia(dev, pool);
  const victim = [...pool.list()].find((n) => pool.stat(n).allocated > 0);
  if (victim !== undefined) {
    const f = pool.open(victim, { sync: true });
    const overwrite = (i: number): void => {
      f.writeSync(new Uint8Array([i & 0xff]), 0);
      f.fsyncSync();
    };
    const first = checkpointAt(pool);
    for (let i = 0; checkpointAt(pool) === first; i++) {
      expect(i).toBeLessThan(1100);
      overwrite(i);
    }
    const second = checkpointAt(pool);
    for (let i = 0; i < (64 * KiB) / 64; i++) overwrite(i);
    expect(checkpointAt(pool)).toBe(second);
    f.close();
    pool.unlink(victim);
    expect(checkpointAt(pool)).not.toBe(second);
    sameAsMedia(dev, pool);
  }
  const names = [...pool.list()];
  if (end === 'close') pool.closeSync();
  let p = Pool.openOn(dev);
  expect([...p.list()]).toEqual(names);
  expect(p.check().problems).toEqual([]);
  for (const name of names) p.unlink(name);
  expect([...p.list()]).toEqual([]);
  p.closeSync();
  p = Pool.openOn(dev);
  expect(p.check().problems).toEqual([]);
  const g = p.open('again', { create: true, sync: true });
  expect(g.writeSync(new Uint8Array(64 * KiB).fill(1), 0)).toBe(64 * KiB);
  g.close();
  expect(await fillNames(p, 'after')).toBeGreaterThan(0);
  p.closeSync();
  expect(Pool.openOn(dev).check().problems).toEqual([]);
}

/** A pool small enough to fill quickly, with the smallest journal, so fills run through many checkpoints. */
function smallPool(): { dev: MemoryDevice; pool: Pool } {
  const dev = new MemoryDevice(MiB);
  return { dev, pool: Pool.createOn(dev, { journalBytes: 64 * KiB }) };
}

type Fill = (pool: Pool) => Promise<void>;

const FILLS: readonly (readonly [string, Fill])[] = [
  ['data, then names', async (p) => {
    await fillData(p, 'data');
    await fillNames(p, 'a');
  }],
  ['names, then data', async (p) => {
    p.open('data', { create: true }).close();
    await fillNames(p, 'a');
    await fillData(p, 'data');
  }],
  ['names, then data, then names again', async (p) => {
    p.open('data', { create: true }).close();
    await fillNames(p, 'a');
    p.unlink([...p.list()][0] as string);
    await fillData(p, 'data');
    await fillNames(p, 'b');
  }],
  ['data, then single-page clones at scattered offsets', async (p) => {
    const src = p.open('src', { create: true, sync: true });
    src.writeSync(new Uint8Array(8 * PAGE).fill(3), 0);
    await fillData(p, 'data');
    const dst = p.open('dst', { create: true, sync: true });
    await untilFull((i) => src.clone(dst, (i % 8) * PAGE, 2 * i * PAGE, PAGE));
    src.close();
    dst.close();
  }],
  ['clones, data, scattered clones, then punched holes that split shared extents', async (p) => {
    const src = p.open('src', { create: true, sync: true });
    src.writeSync(new Uint8Array(16 * PAGE).fill(5), 0);
    const dst = p.open('dst', { create: true });
    // Three owners: a punch drops a reference but keeps the block's reference-count entry.
    await src.clone(dst, 0, 0, 16 * PAGE);
    const dst2 = p.open('dst2', { create: true });
    await src.clone(dst2, 0, 0, 16 * PAGE);
    await fillData(p, 'data');
    const scatter = p.open('scatter', { create: true });
    await untilFull((i) => src.clone(scatter, (i % 16) * PAGE, 2 * i * PAGE, PAGE));
    await untilFull((i) => dst.fallocate('punch-hole', (2 * i + 1) * PAGE, PAGE));
    for (const f of [src, dst, dst2, scatter]) f.close();
  }],
  ['fallocate, then names', async (p) => {
    await fillFallocate(p, 'fa');
    // Its first page written: the overwrites of a full pool below must not split an unwritten extent (that may be ENOSPC).
    const fa = p.open('fa');
    fa.writeSync(new Uint8Array([1]), 0);
    fa.close();
    await fillNames(p, 'a');
  }],
  ['fallocate, then writes splitting the unwritten extent', async (p) => {
    await fillFallocate(p, 'fa');
    const f = p.open('fa', { sync: true });
    await untilFull((i) => f.writeSync(new Uint8Array([1]), 2 * i * PAGE));
    f.close();
  }],
  ['names, then fallocate', async (p) => {
    p.open('fa', { create: true }).close();
    await fillNames(p, 'a');
    await fillFallocate(p, 'fa');
  }],
  ['data, names, then renames to longer names (shorter ones still work)', async (p) => {
    await fillData(p, 'data');
    await fillNames(p, 'a');
    const named = (i: number): string => [...p.list()].find((n) => n.startsWith(`a-${i}-`)) as string;
    const renamed = await untilFull((i) => p.rename(named(i), `${'L'.repeat(250)}${i}`));
    p.rename(named(renamed), 'short');
    expect(p.exists('short')).toBe(true);
  }],
];

describe('a full pool stays usable', () => {
  for (const [order, fill] of FILLS) {
    for (const end of ['close', 'crash'] as const) {
      it(`${order}; then ${end}, reopen, delete everything, use it again`, async () => {
        const { dev, pool } = smallPool();
        await fill(pool);
        await stillUsable(dev, pool, end);
      }, 20_000);
    }
  }

  it.each(['open', 'openAsync'] as const)('a create %s refuses is not listed, and the media agree with memory', async (call) => {
    const { dev, pool } = smallPool();
    await fillData(pool, 'data');
    await fillNames(pool, 'a');
    await untilFull((i) => pool.open(`s${i}`, { create: true }).close());
    const before = [...pool.list()];
    const name = `one-more-${LONG}`;
    if (call === 'open') expect(() => pool.open(name, { create: true })).toThrow(expect.objectContaining({ code: 'ENOSPC' }));
    else await expect(pool.openAsync(name, { create: true })).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(pool.exists(name)).toBe(false);
    expect([...pool.list()]).toEqual(before);
    pool.sync();
    sameAsMedia(dev, pool);
    pool.closeSync();
  });

  it('statfs never promises blocks a write cannot have', async () => {
    const { pool } = smallPool();
    await fillNames(pool, 'a');
    const free = pool.statfs().freeBlocks;
    const f = pool.open([...pool.list()][0] as string, { sync: true });
    if (free > 0) expect(f.writeSync(new Uint8Array(free * PAGE), 0)).toBe(free * PAGE);
    expect(() => f.writeSync(new Uint8Array(PAGE), free * PAGE)).toThrow(expect.objectContaining({ code: 'ENOSPC' }));
    f.close();
    pool.closeSync();
  });
});

describe('pools filled past the reserve (by code before the rule) still open for writing', () => {
  for (const torn of [false, true]) {
    it(`after a crash${torn ? ' that tore the last record' : ''} with no room for a checkpoint, the journal is kept and files can be deleted`, async () => {
      const { dev, pool } = smallPool();
      await fillData(pool, 'data');
      pool.closeSync();
      // Names committed without the room check, as older code did, until a checkpoint cannot fit.
      const loaded = loadPool(dev, '(device)');
      const core = new PoolCore(dev, loaded.state, false, loaded.journal);
      const s = core.state;
      let last = 0;
      for (let i = 0; i === 0 || s.alloc.free >= s.ckptBlocksWith(0); i++) {
        const ino = s.nextIno;
        const inode = s.addInode(ino, `old-${i}-${LONG}`, 0);
        s.namespaceOps.push({ op: 'create', ino, name: inode.name as string, ctimeMs: 0 });
        last = core.journal.tail;
        core.commit();
      }
      expect(core.journal.tail).toBeGreaterThan(last);
      // A torn last record: its checksum no longer matches.
      const crcAt = core.journal.offset + last + 4;
      if (torn) dev.bytes[crcAt] = (dev.bytes[crcAt] as number) ^ 0xff;
      const names = [...Pool.openOn(dev, { readonly: true }).list()];
      // No close: the next open must replay, cannot checkpoint, and opens anyway.
      const p = Pool.openOn(dev);
      expect(p.info.recovery.tornTail).toBe(torn);
      expect([...p.list()]).toEqual(names);
      p.unlink('data');
      p.open('new', { create: true }).close();
      const kept = [...p.list()];
      // A crash again: the kept journal, continued, replays.
      const q = Pool.openOn(dev);
      expect([...q.list()]).toEqual(kept);
      expect(q.check().problems).toEqual([]);
      q.closeSync();
      expect(Pool.openOn(dev).check().problems).toEqual([]);
    });
  }
});

describe('inode numbers', () => {
  it('run out with ENOSPC instead of wrapping into duplicates', () => {
    const dev = new MemoryDevice(MiB);
    Pool.createOn(dev).closeSync();
    const loaded = loadPool(dev, '(device)');
    const core = new PoolCore(dev, loaded.state, false, loaded.journal);
    loaded.state.nextIno = 0xfffffffe;
    core.checkpoint();
    core.writeSuperblocks({ ...core.sb, dirty: false });
    let pool = Pool.openOn(dev);
    const last = pool.open('last', { create: true });
    expect(last.ino).toBe(0xfffffffe);
    last.close();
    const before = dev.bytes.slice();
    expect(() => pool.open('one-more', { create: true })).toThrow(expect.objectContaining({ code: 'ENOSPC' }));
    expect(Buffer.compare(Buffer.from(before), Buffer.from(dev.bytes))).toBe(0);
    expect([...pool.list()]).toEqual(['last']);
    pool.closeSync();
    for (const readonly of [true, false]) {
      pool = Pool.openOn(dev, { readonly });
      expect([...pool.list()]).toEqual(['last']);
      expect(pool.check().problems).toEqual([]);
      pool.closeSync();
    }
  });
});

/** A memory device whose `copy` number `failAt` (counting from when it was armed) throws EIO, writing nothing. */
class FailingDevice extends MemoryDevice {
  failAt = -1;
  override copy(offset: number, src: ArrayBufferView, flags?: number): void {
    if (this.failAt >= 0 && this.failAt-- === 0) throw errnoError('EIO', 'write', { path: '(device)', offset });
    super.copy(offset, src, flags);
  }
}

describe('a create whose commit fails leaves memory as the media', () => {
  for (const path of ['a journal record', 'a checkpoint (journal full)'] as const) {
    it(`at every device write of ${path}`, async () => {
      for (let k = 0; ; k++) {
        const dev = new FailingDevice(MiB);
        const pool = Pool.createOn(dev, { journalBytes: 64 * KiB });
        if (path === 'a checkpoint (journal full)') {
          // Creates until one moved the checkpoint, then exactly enough 64-byte records to fill the journal.
          const first = checkpointAt(pool);
          for (let i = 0; checkpointAt(pool) === first; i++) pool.open(`f${i}`, { create: true }).close();
          const at = checkpointAt(pool);
          for (let i = 0; i < (64 * KiB) / 64; i++) pool.open(`g${i}`, { create: true }).close();
          expect(checkpointAt(pool)).toBe(at);
        }
        const ckpt = checkpointAt(pool);
        const before = [...pool.list()];
        dev.failAt = k;
        let failed = false;
        try {
          pool.open('new', { create: true }).close();
        } catch (e) {
          expect(e).toMatchObject({ code: 'EIO' });
          failed = true;
        }
        dev.failAt = -1;
        sameAsMedia(dev, pool);
        if (failed) expect([...pool.list()].length === before.length || pool.exists('new')).toBe(true);
        pool.open('after', { create: true }).close();
        sameAsMedia(dev, pool);
        const moved = checkpointAt(pool) !== ckpt;
        pool.closeSync();
        expect(Pool.openOn(dev).check().problems).toEqual([]);
        if (!failed) {
          // The run without a failure took the path named.
          expect(moved).toBe(path !== 'a journal record');
          break;
        }
      }
    });
  }
});
