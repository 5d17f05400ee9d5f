import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EntryKind } from '../../../lib/dax/entry';
import { PAGE_SIZE, PMD_SIZE } from '../../../lib/iomap/constants';
import { PageState } from '../../../lib/vm/page-state';
import { emptyVmStats } from '../../../lib/vm/stats';
import type { DaxFile } from '../../../lib/vm/file';
import { regionBed, type RegionBed } from './region-device';

const MiB = 1024 * 1024;

/** Stats relative to a baseline, so a test can look at what one step did. */
function since(file: DaxFile, base: ReturnType<typeof emptyVmStats>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(file.stats)) if (typeof v === 'number') out[k] = v - (base[k as keyof typeof base] as number);
  return out;
}

function snapshot(file: DaxFile): ReturnType<typeof emptyVmStats> {
  return { ...file.stats, fallbackReasons: { ...file.stats.fallbackReasons } };
}

/**
 * describeRegions -- the region suite over the device at `path` (a directory to create device files
 * in, or a device to use whole). `pteUnsupported` marks device-dax with 2 MiB alignment, where only
 * 2 MiB mappings exist: tests that need 4 KiB pages then assert the documented error instead.
 */
export function describeRegions(path: string, opts: { pteUnsupported?: boolean; env?: Record<string, string> } = {}): void {
const label = Object.entries(opts.env ?? {}).map(([k, v]) => ` ${k}=${v}`).join('');
describe(`regions: the userspace mmap over DAX (${path}${label})`, () => {
  const small = opts.pteUnsupported === true;
  let bed: RegionBed;
  beforeEach(() => {
    bed = regionBed(32 * MiB, path, opts.env);
  });
  afterEach(() => bed.close());

  it.skipIf(small)('a read of a hole maps zero pages and allocates nothing; populate-for-write allocates and the store lands in the file', async () => {
    const { inode, file } = await bed.file(2 * PMD_SIZE);
    const r = file.mmap({ length: 2 * PMD_SIZE });
    await r.populate();
    expect(r.bytes.every((b) => b === 0)).toBe(true);
    expect(bed.fs.alloc.used()).toBe(0);
    expect(r.pageState(7)).toBe(PageState.ZERO);
    await r.populate({ offset: 7 * PAGE_SIZE, length: 10 }, 'write');
    r.bytes.set([1, 2, 3], 7 * PAGE_SIZE);
    const back = new Uint8Array(3);
    bed.fs.read(inode, 7 * PAGE_SIZE, back);
    expect(Array.from(back)).toEqual([1, 2, 3]);
    expect(file.stats.holeFaults).toBeGreaterThan(0);
  });

  it.skipIf(small)('2 MiB-aligned regions over 2 MiB extents get PMD entries; misaligned ones fall back to PTEs', async () => {
    const { inode, file } = await bed.file();
    await bed.fs.write(inode, 0, new Uint8Array(2 * PMD_SIZE).fill(5));
    expect(inode.blockAt(0) % 512).toBe(0);
    const aligned = file.mmap({ length: 2 * PMD_SIZE });
    await aligned.populate();
    expect(file.stats.pmdFaults).toBe(2);
    expect(file.stats.ptePageFaults).toBe(0);
    expect(file.stats.pmdFallbacks).toBe(0);
    expect(inode.mapping.tree.collect(0, 1023).map((e) => e.order)).toEqual([9, 9]);
    expect(aligned.isHuge(0) && aligned.isHuge(1023)).toBe(true);
    expect(aligned.bytes[PMD_SIZE + 5]).toBe(5);
    aligned.unmap();

    const { inode: other, file: file2 } = await bed.file();
    await bed.fs.write(other, 0, new Uint8Array(PMD_SIZE + PAGE_SIZE).fill(6));
    const misaligned = file2.mmap({ offset: PAGE_SIZE, length: PMD_SIZE });
    await misaligned.populate();
    expect(file2.stats.pmdFaults).toBe(0);
    expect(file2.stats.ptePageFaults).toBe(512);
    expect(file2.stats.fallbackReasons.colour).toBe(512);
    expect(other.mapping.tree.collect(0, 1023).every((e) => e.order === 0)).toBe(true);
    expect(misaligned.bytes[PMD_SIZE - 1]).toBe(6);
  });

  it.runIf(small)('device-dax with 2 MiB alignment: 2 MiB faults work, a fault that needs a 4 KiB page fails with ERR_PMEMDAX_DEVDAX_ALIGNMENT', async () => {
    const { inode, file } = await bed.file();
    await bed.fs.write(inode, 0, new Uint8Array(PMD_SIZE).fill(5));
    const r = file.mmap({ length: PMD_SIZE });
    await r.populate();
    expect(file.stats.pmdFaults).toBe(1);
    expect(r.bytes[PMD_SIZE - 1]).toBe(5);
    const small4k = file.mmap({ length: PMD_SIZE, huge: false });
    await expect(small4k.fault(0)).rejects.toMatchObject({ code: 'ERR_PMEMDAX_DEVDAX_ALIGNMENT' });
    expect(() => file.mmap({ offset: PAGE_SIZE, length: PAGE_SIZE })).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });

  it.skipIf(small)('a 2 MiB-aligned region over extents off the 2 MiB grid of the device falls back to PTEs', async () => {
    await bed.fs.write(bed.fs.create(), 0, new Uint8Array(PAGE_SIZE).fill(9)); // shifts later blocks by one page
    const { inode, file } = await bed.file();
    await bed.fs.write(inode, 0, new Uint8Array(PMD_SIZE).fill(4));
    expect(inode.blockAt(0) % 512).not.toBe(0);
    const r = file.mmap({ length: PMD_SIZE });
    await r.populate();
    expect(file.stats.pmdFaults).toBe(0);
    expect(file.stats.ptePageFaults).toBe(512);
    expect(file.stats.fallbackReasons['direct-access']).toBeGreaterThan(0);
    expect(r.bytes[PMD_SIZE - 1]).toBe(4);
  });

  it.skipIf(small)('a region with huge pages off maps 4 KiB pages only', async () => {
    const { inode, file } = await bed.file();
    await bed.fs.write(inode, 0, new Uint8Array(PMD_SIZE).fill(1));
    const r = file.mmap({ length: PMD_SIZE, huge: false });
    await r.populate();
    expect(file.stats).toMatchObject({ pmdFaults: 0, ptePageFaults: 512, pmdFallbacks: 0 });
  });

  describe('writeback through write traps (docs/semantics.md §5)', () => {
    it.skipIf(small)('a raw store after fsync is caught by exactly one write trap, and the next fsync flushes that 4 KiB page and nothing else', async () => {
      const { inode, file } = await bed.file();
      await bed.fs.write(inode, 0, new Uint8Array(16 * PAGE_SIZE).fill(1));
      const r = file.mmap({ length: 16 * PAGE_SIZE });
      await r.populate({}, 'write');
      r.bytes.fill(2);
      await file.fsync();
      expect(file.stats.writebackEntries).toBe(16);
      const base = snapshot(file);
      r.bytes[5 * PAGE_SIZE + 1] = 0xa1;
      r.bytes[5 * PAGE_SIZE + 2] = 0xa2;
      expect(since(file, base).writeTraps).toBe(0); // recorded natively, counted at the next sync point
      await file.fsync();
      expect(since(file, base)).toMatchObject({ writeTraps: 1, writebackEntries: 1, writebackBytes: PAGE_SIZE });
      const back = new Uint8Array(2);
      bed.fs.read(inode, 5 * PAGE_SIZE + 1, back);
      expect(Array.from(back)).toEqual([0xa1, 0xa2]);
      await file.fsync();
      expect(since(file, base)).toMatchObject({ writeTraps: 1, writebackEntries: 1 });
    });

    it('a raw store into a 2 MiB mapping after fsync is one trap, and the whole 2 MiB entry is flushed', async () => {
      const { inode, file } = await bed.file();
      await bed.fs.write(inode, 0, new Uint8Array(2 * PMD_SIZE).fill(1));
      const r = file.mmap({ length: 2 * PMD_SIZE });
      await r.populate({}, 'write');
      expect(file.stats.pmdFaults).toBeGreaterThan(0);
      await file.fsync();
      const base = snapshot(file);
      r.bytes[PMD_SIZE + 77] = 9;
      await file.fsync();
      expect(since(file, base)).toMatchObject({ writeTraps: 1, writebackEntries: 1, writebackBytes: PMD_SIZE });
    });

    it.skipIf(small)('invariant 11: after fsync no entry of the range is DIRTY or TOWRITE, and every shared mapping of them is read-only', async () => {
      const { inode, file } = await bed.file();
      await bed.fs.write(inode, 0, new Uint8Array(PMD_SIZE + 8 * PAGE_SIZE).fill(1));
      const a = file.mmap({ length: PMD_SIZE + 8 * PAGE_SIZE });
      const b = file.mmap({ offset: PAGE_SIZE, length: 4 * PAGE_SIZE, huge: false });
      await a.populate({}, 'write');
      await b.populate({}, 'write');
      a.bytes.fill(3, 0, 100);
      b.bytes.fill(4, 0, 100);
      expect(inode.mapping.tree.collect(0, 1024).some((e) => e.dirty)).toBe(true);
      await file.fsync();
      for (const e of inode.mapping.tree.collect(0, 1024)) expect(e.dirty || e.towrite).toBe(false);
      for (const r of [a, b]) for (let p = 0; p < r.pages; p++) expect(r.pageState(p)).toBe(PageState.TRAP);
      // Read-only for real: each first store takes a trap.
      const base = snapshot(file);
      a.bytes[PMD_SIZE + 3 * PAGE_SIZE] = 1;
      b.bytes[0] = 1;
      file.harvest();
      expect(since(file, base).writeTraps).toBe(2);
    });

    it.skipIf(small)('invariant 12: writeback of an index inside a PMD entry flushes exactly its 2 MiB; of a PTE entry exactly 4 KiB', async () => {
      const { inode, file } = await bed.file();
      await bed.fs.write(inode, 0, new Uint8Array(PMD_SIZE + PAGE_SIZE).fill(1));
      const r = file.mmap({ length: PMD_SIZE + PAGE_SIZE });
      await r.populate({ offset: 300 * PAGE_SIZE, length: 1 }, 'write');
      await r.populate({ offset: PMD_SIZE, length: 1 }, 'write');
      expect(inode.mapping.tree.load(300)?.order).toBe(9);
      expect(inode.mapping.tree.load(512)?.order).toBe(0);
      await file.fsync({ offset: 300 * PAGE_SIZE, length: PAGE_SIZE });
      expect(file.stats).toMatchObject({ writebackEntries: 1, writebackBytes: PMD_SIZE });
      await file.fsync({ offset: PMD_SIZE, length: 1 });
      expect(file.stats).toMatchObject({ writebackEntries: 2, writebackBytes: PMD_SIZE + PAGE_SIZE });
    });

    it.skipIf(small)('invariant 13: after writeback the first store to a page faults exactly once and dirties it again; stores to a writable page never fault', async () => {
      const { inode, file } = await bed.file();
      await bed.fs.write(inode, 0, new Uint8Array(4 * PAGE_SIZE).fill(1));
      const r = file.mmap({ length: 4 * PAGE_SIZE });
      await r.populate({}, 'write');
      for (let i = 0; i < 1000; i++) r.bytes[(i * 13) % r.length] = i & 0xff;
      file.harvest();
      expect(file.stats.writeTraps).toBe(0);
      await file.fsync();
      expect(inode.mapping.tree.load(2)?.dirty).toBe(false);
      for (let i = 0; i < 100; i++) r.bytes[2 * PAGE_SIZE + i] = i;
      file.harvest();
      expect(file.stats.writeTraps).toBe(1);
      expect(inode.mapping.tree.load(2)?.dirty).toBe(true);
      expect(inode.mapping.tree.load(1)?.dirty).toBe(false);
      expect(r.pageState(2)).toBe(PageState.WRITE);
    });

    it.skipIf(small)('pages read-faulted in a writable shared region take the trap on a first store as well', async () => {
      const { inode, file } = await bed.file();
      await bed.fs.write(inode, 0, new Uint8Array(2 * PAGE_SIZE).fill(1));
      const r = file.mmap({ length: 2 * PAGE_SIZE });
      await r.populate();
      expect(r.pageState(1)).toBe(PageState.TRAP);
      r.bytes[PAGE_SIZE] = 42;
      await file.fsync();
      expect(file.stats).toMatchObject({ writeTraps: 1, writebackEntries: 1 });
    });
  });

  it.skipIf(small)('invariant 20 on real memory: stores through a private region never reach the file or a shared region', async () => {
    const { inode, file } = await bed.file();
    await bed.fs.write(inode, 0, new Uint8Array(PMD_SIZE).fill(0x11));
    const priv = file.mmap({ length: PMD_SIZE, shared: false });
    const shared = file.mmap({ length: PMD_SIZE, write: false });
    await priv.populate();
    await shared.populate();
    await priv.populate({ offset: 10 * PAGE_SIZE, length: 2 * PAGE_SIZE }, 'write');
    expect(priv.bytes[10 * PAGE_SIZE]).toBe(0x11); // the copy started as the file page
    priv.bytes.fill(0xee, 10 * PAGE_SIZE, 12 * PAGE_SIZE);
    expect(file.stats.cowFaults).toBe(2);
    expect(priv.pageState(10)).toBe(PageState.COW);
    await file.fsync();
    const back = new Uint8Array(2 * PAGE_SIZE);
    bed.fs.read(inode, 10 * PAGE_SIZE, back);
    expect(back.every((b) => b === 0x11)).toBe(true);
    expect(shared.bytes[10 * PAGE_SIZE]).toBe(0x11);
  });

  it.skipIf(small || path.startsWith('/dev/dax'))('raw stores through a private region become private copies: no populate for write needed, over data or holes', async () => {
    const { inode, file } = await bed.file();
    await bed.fs.write(inode, 0, new Uint8Array(PAGE_SIZE).fill(0x11));
    await bed.fs.truncate(inode, 4 * PAGE_SIZE);
    const priv = file.mmap({ length: 4 * PAGE_SIZE, shared: false });
    const shared = file.mmap({ length: 4 * PAGE_SIZE, write: false });
    await priv.populate();
    await shared.populate();
    priv.bytes[5] = 0xee; // over data
    priv.bytes[2 * PAGE_SIZE + 5] = 0xdd; // over a hole
    await priv.fault(0, { write: true }); // a write fault now must not copy the file page over the copy
    expect(priv.bytes[5]).toBe(0xee);
    expect(priv.bytes[6]).toBe(0x11);
    expect(shared.bytes[5]).toBe(0x11);
    expect(shared.bytes[2 * PAGE_SIZE + 5]).toBe(0);
    await bed.fs.write(inode, 0, new Uint8Array(PAGE_SIZE).fill(0x22));
    expect(priv.bytes[6]).toBe(0x11); // a private copy no longer follows the file
    expect(priv.bytes[PAGE_SIZE]).toBe(0); // an untouched private page does
    await file.fsync();
    expect(file.stats).toMatchObject({ writeTraps: 2, writebackEntries: 0, cowFaults: 0 }); // private stores dirty nothing
    expect([priv.pageState(0), priv.pageState(1), priv.pageState(2)]).toEqual([PageState.COW, PageState.ZERO, PageState.COW]);
    const back = new Uint8Array(2 * PAGE_SIZE + 6);
    bed.fs.read(inode, 0, back);
    expect([back[5], back[2 * PAGE_SIZE + 5]]).toEqual([0x22, 0]);
  });

  it.skipIf(small)('a fault beyond EOF is SIGBUS', async () => {
    const { file } = await bed.file(PAGE_SIZE);
    const r = file.mmap({ length: 4 * PAGE_SIZE });
    await expect(r.fault(2)).rejects.toMatchObject({ code: 'ERR_PMEMDAX_SIGBUS', offset: 2 * PAGE_SIZE });
    await expect(r.populate()).rejects.toMatchObject({ code: 'ERR_PMEMDAX_SIGBUS' });
    expect(r.pageState(0)).toBe(PageState.ZERO);
    expect(file.stats.sigbus).toBe(2);
  });

  it.skipIf(small)('MAP_SYNC on a device without it fails with EOPNOTSUPP, as the kernel does; on one with it, write faults sync first', async () => {
    const { inode, file } = await bed.file(PMD_SIZE);
    if (!bed.device.info.mapSync) {
      expect(() => file.mmap({ length: PAGE_SIZE, sync: true })).toThrow(expect.objectContaining({ code: 'EOPNOTSUPP' }));
      return;
    }
    const r = file.mmap({ length: PMD_SIZE, sync: true, huge: false });
    await r.populate({ offset: 0, length: PAGE_SIZE }, 'write');
    expect(file.stats.syncFaults).toBe(1);
    r.bytes[0] = 1;
    expect(inode.mapping.tree.load(0)?.kind).toBe(EntryKind.REAL);
  });

  it.skipIf(small)('pins make pages busy: break layout refuses with EBUSY, or waits for the release', async () => {
    const { inode, file } = await bed.file();
    await bed.fs.write(inode, 0, new Uint8Array(8 * PAGE_SIZE).fill(1));
    const r = file.mmap({ length: 8 * PAGE_SIZE, huge: false });
    const pin = await r.pin({ offset: 2 * PAGE_SIZE, length: 2 * PAGE_SIZE });
    expect(pin.pages).toBe(2);
    expect(await file.layoutBusyPage()).toEqual({ index: 2, pfn: inode.blockAt(2) });
    expect(r.pageState(0)).toBe(PageState.NONE); // the busy scan unmapped the range
    await expect(file.breakLayout({}, { wait: false })).rejects.toMatchObject({ code: 'EBUSY' });
    expect(inode.mapping.tree.size).toBeGreaterThan(0);
    const broken = file.breakLayout({}, { wait: true });
    setTimeout(() => pin.release(), 5);
    await broken;
    expect(inode.mapping.tree.size).toBe(0);
  });

  it.skipIf(small)('truncate and punch wait for pinned pages, then take them away', async () => {
    const { inode, file } = await bed.file();
    await bed.fs.write(inode, 0, new Uint8Array(8 * PAGE_SIZE).fill(1));
    const r = file.mmap({ length: 8 * PAGE_SIZE, huge: false });
    const pin = await r.pin({ offset: 5 * PAGE_SIZE, length: 1 });
    let truncated = false;
    const t = bed.fs.truncate(inode, 2 * PAGE_SIZE).then(() => {
      truncated = true;
    });
    await new Promise((res) => setTimeout(res, 10));
    expect(truncated).toBe(false);
    expect(inode.blockAt(5)).toBeGreaterThanOrEqual(0); // not freed while pinned
    pin.release();
    await t;
    expect(inode.blockAt(5)).toBe(-1);
    expect(r.pageState(5)).toBe(PageState.NONE);
    expect(inode.mapping.tree.collect(2, 7)).toEqual([]);
  });

  it.skipIf(small)('after a reflink, a store to the source copies on write; the clone keeps the old bytes', async () => {
    const { inode, file } = await bed.file();
    await bed.fs.write(inode, 0, new Uint8Array(2 * PAGE_SIZE).fill(0x61));
    const r = file.mmap({ length: 2 * PAGE_SIZE, huge: false });
    await r.populate({}, 'write');
    const clone = bed.fs.create();
    await bed.fs.reflink(inode, 0, clone, 0, 2 * PAGE_SIZE);
    expect(clone.blockAt(1)).toBe(inode.blockAt(1));
    // Plain read-only now: a raw store would be SIGSEGV; the write fault sees F_SHARED and copies.
    expect(r.pageState(1)).toBe(PageState.READ);
    expect(r.bytes[PAGE_SIZE]).toBe(0x61);
    await r.populate({ offset: PAGE_SIZE, length: 1 }, 'write');
    expect(inode.blockAt(1)).not.toBe(clone.blockAt(1));
    r.bytes[PAGE_SIZE] = 0x62;
    const mine = new Uint8Array(2);
    const theirs = new Uint8Array(2);
    bed.fs.read(inode, PAGE_SIZE, mine);
    bed.fs.read(clone, PAGE_SIZE, theirs);
    expect(Array.from(mine)).toEqual([0x62, 0x61]);
    expect(Array.from(theirs)).toEqual([0x61, 0x61]);
  });

  it.skipIf(small)('unmapMappingRange drops shared pages everywhere and private copies only when asked', async () => {
    const { inode, file } = await bed.file();
    await bed.fs.write(inode, 0, new Uint8Array(4 * PAGE_SIZE).fill(1));
    const s = file.mmap({ length: 4 * PAGE_SIZE, huge: false });
    const p = file.mmap({ length: 4 * PAGE_SIZE, shared: false, huge: false });
    await s.populate();
    await p.populate({}, 'write');
    file.unmapMappingRange(PAGE_SIZE, 2 * PAGE_SIZE, false);
    expect([0, 1, 2, 3].map((i) => s.pageState(i))).toEqual([PageState.TRAP, PageState.NONE, PageState.NONE, PageState.TRAP]);
    expect(p.pageState(1)).toBe(PageState.COW);
    file.unmapMappingRange(0, 0, true);
    expect([0, 1, 2, 3].map((i) => p.pageState(i))).toEqual([0, 0, 0, 0]);
  });

  it.skipIf(small)('unmap detaches the bytes and is idempotent; the file keeps working', async () => {
    const { file } = await bed.file(PAGE_SIZE);
    const r = file.mmap({ length: PAGE_SIZE });
    await r.populate();
    r.unmap();
    r.unmap();
    expect(r.bytes.length).toBe(0);
    expect(file.regions).toEqual([]);
    await expect(r.populate()).rejects.toMatchObject({ code: 'ERR_PMEMDAX_CLOSED' });
    await file.fsync();
  });
});
}
