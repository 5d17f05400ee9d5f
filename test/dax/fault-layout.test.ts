import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { daxBreakLayout } from '../../lib/dax/break-layout';
import { EntryKind } from '../../lib/dax/entry';
import { daxLayoutBusyPageRange } from '../../lib/dax/layout-busy';
import { pinCount, pinPages, unpinPages } from '../../lib/dax/pins';
import { PAGE_SIZE } from '../../lib/iomap/constants';
import { MemFs } from '../../lib/testing/memfs';
import type { MemInode } from '../../lib/testing/memfs-inode';
import { MemoryDevice } from '../../lib/testing/memory-device';
import { FakeVma } from './support/fake-vma';
import { driveFault } from './support/fault-driver';

const PAGES = 16;

/** A 16-page file whose pages are holes or data, each faulted into a shared VMA (PTE faults). */
async function mappedFile(layout: readonly boolean[]): Promise<{ fs: MemFs; f: MemInode; vma: FakeVma; dev: MemoryDevice }> {
  const dev = new MemoryDevice(1 << 20);
  const fs = new MemFs(dev);
  const f = fs.create();
  for (let p = 0; p < PAGES; p++) if (layout[p] === true) await fs.write(f, p * PAGE_SIZE, new Uint8Array(PAGE_SIZE).fill(p + 1));
  await fs.truncate(f, PAGES * PAGE_SIZE);
  const vma = new FakeVma({ shared: true, pages: PAGES }, f.mapping);
  for (let p = 0; p < PAGES; p++) await driveFault(f, fs.ops, vma, p, false, { huge: false });
  return { fs, f, vma, dev };
}

const layoutArb = fc.array(fc.boolean(), { minLength: PAGES, maxLength: PAGES });
const pinsArb = fc.array(fc.nat(PAGES - 1), { maxLength: 4 });
const rangeArb = fc.tuple(fc.nat(PAGES - 1), fc.nat(PAGES - 1)).map(([a, b]) => [Math.min(a, b), Math.max(a, b)] as const);

describe('busy pages and breaking layouts (docs/semantics.md §3.7)', { timeout: 60_000 }, () => {
  it('invariant 26: a page is reported busy iff a REAL entry in the range holds a pin; afterwards nothing in the range is mapped', async () => {
    await fc.assert(
      fc.asyncProperty(layoutArb, pinsArb, rangeArb, async (layout, pins, [first, last]) => {
        const { f, vma, dev } = await mappedFile(layout);
        // Pins go through page tables like get_user_pages: only data pages have a device page to pin.
        const pinned = pins.filter((p) => layout[p] === true);
        for (const p of pinned) pinPages(dev, f.blockAt(p), 1);
        const busy = await daxLayoutBusyPageRange(f.mapping, dev, first, last);
        const expected = pinned.filter((p) => p >= first && p <= last).sort((a, b) => a - b)[0];
        if (expected === undefined) expect(busy).toBeNull();
        else expect(busy).toEqual({ index: expected, pfn: f.blockAt(expected) });
        for (let p = first; p <= last; p++) expect(vma.ptes.has(p)).toBe(false);
        // ZERO entries are never busy, even with every data page pinned.
        for (const p of pinned) unpinPages(dev, f.blockAt(p), 1);
        for (const e of f.mapping.tree.collect(0, PAGES)) if (e.kind === EntryKind.ZERO) expect(pinCount(dev, e.pfn)).toBe(0);
      }),
      { numRuns: 60 },
    );
  });

  it('invariant 27: break layout without waiting fails with EBUSY and keeps every entry; once it returns, the range has no entries', async () => {
    await fc.assert(
      fc.asyncProperty(layoutArb, pinsArb, rangeArb, async (layout, pins, [first, last]) => {
        const { f, dev } = await mappedFile(layout);
        const pinned = pins.filter((p) => layout[p] === true);
        for (const p of pinned) pinPages(dev, f.blockAt(p), 1);
        const before = f.mapping.tree.collect(first, last).length;
        const blocked = pinned.some((p) => p >= first && p <= last);
        if (blocked) {
          await expect(daxBreakLayout(f.mapping, dev, first, last)).rejects.toMatchObject({ code: 'EBUSY' });
          expect(f.mapping.tree.collect(first, last).length).toBe(before);
        } else {
          await daxBreakLayout(f.mapping, dev, first, last);
          expect(f.mapping.tree.collect(first, last)).toEqual([]);
        }
        for (const p of pinned) unpinPages(dev, f.blockAt(p), 1);
      }),
      { numRuns: 60 },
    );
  });

  it('invariant 27: a waiting break layout resolves only after the last pin in the range is released, then deletes the entries', async () => {
    const { f, dev } = await mappedFile(Array.from({ length: PAGES }, () => true));
    pinPages(dev, f.blockAt(3), 1);
    pinPages(dev, f.blockAt(3), 1);
    pinPages(dev, f.blockAt(9), 1);
    let done = false;
    const br = daxBreakLayout(f.mapping, dev, 0, PAGES - 1, { wait: true }).then(() => {
      done = true;
    });
    const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
    await tick();
    unpinPages(dev, f.blockAt(3), 1);
    await tick();
    expect(done).toBe(false);
    unpinPages(dev, f.blockAt(3), 1);
    await tick();
    expect(done).toBe(false);
    expect(f.mapping.tree.size).toBe(PAGES);
    unpinPages(dev, f.blockAt(9), 1);
    await br;
    expect(done).toBe(true);
    expect(f.mapping.tree.size).toBe(0);
  });
});
