import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FALLBACK, grabMappingEntry } from '../../lib/dax/grab';
import { insertEntry } from '../../lib/dax/insert';
import { unlockEntry } from '../../lib/dax/lock';
import { daxRead } from '../../lib/dax/read';
import { daxTruncatePage } from '../../lib/dax/truncate-page';
import { daxWrite, daxWriteSync } from '../../lib/dax/write';
import { EntryKind } from '../../lib/dax/entry';
import { IOMAP_NULL_ADDR, IomapFlag, IomapOp, IomapType, PAGE_SIZE } from '../../lib/iomap/constants';
import { FiemapFlag } from '../../lib/iomap/fiemap';
import { MemFs } from '../../lib/testing/memfs';
import type { MemInode } from '../../lib/testing/memfs-inode';
import { MemoryDevice } from '../../lib/testing/memory-device';
import { RecordingPageTables } from './support/mapping-harness';
import { SpyDevice } from './support/spy-device';

const MAXF = 24 * PAGE_SIZE;

/** A file layout: a sequence of page states from which a file is built. */
const layout = fc.array(fc.constantFrom('hole', 'data', 'unwritten', 'zeros'), { minLength: 1, maxLength: 24 });

async function build(fs: MemFs, pages: readonly string[], fill = 0x5a): Promise<MemInode> {
  const f = fs.create();
  for (let p = 0; p < pages.length; p++) {
    const kind = pages[p];
    if (kind === 'data') await fs.write(f, p * PAGE_SIZE, new Uint8Array(PAGE_SIZE).fill(fill + p));
    if (kind === 'zeros') await fs.write(f, p * PAGE_SIZE, new Uint8Array(PAGE_SIZE));
    if (kind === 'unwritten') fs.fallocate(f, p * PAGE_SIZE, PAGE_SIZE);
  }
  await fs.truncate(f, pages.length * PAGE_SIZE);
  return f;
}

const range = fc.tuple(fc.nat(MAXF), fc.integer({ min: 1, max: 3 * PAGE_SIZE }));

describe('file I/O over DAX (docs/semantics.md §6)', { timeout: 60_000 }, () => {
  it('invariant 15: holes and unwritten extents read as zeros and allocate nothing', async () => {
    await fc.assert(
      fc.asyncProperty(layout, range, async (pages, [pos, len]) => {
        const fs = new MemFs(new MemoryDevice(4 << 20));
        const f = await build(fs, pages);
        const used = fs.alloc.used();
        fs.ops.trace = [];
        const buf = new Uint8Array(len).fill(0xee);
        const n = fs.read(f, pos, buf);
        const nonzero: number[] = [];
        for (let i = 0; i < n; i++) {
          if (pages[Math.floor((pos + i) / PAGE_SIZE)] !== 'data' && buf[i] !== 0) nonzero.push(pos + i);
        }
        expect(nonzero).toEqual([]);
        expect(fs.ops.trace.every((t) => (t.flags & IomapOp.WRITE) === 0)).toBe(true);
        expect(fs.alloc.used()).toBe(used);
      }),
      { numRuns: 150 },
    );
  });

  it('invariant 16: read never returns bytes at or past i_size, and a read from i_size returns 0', async () => {
    await fc.assert(
      fc.asyncProperty(layout, fc.nat(MAXF), range, async (pages, size, [pos, len]) => {
        const fs = new MemFs(new MemoryDevice(4 << 20));
        const f = await build(fs, pages);
        await fs.truncate(f, size);
        const n = fs.read(f, pos, new Uint8Array(len));
        expect(n).toBe(Math.max(0, Math.min(len, size - pos)));
        expect(fs.read(f, size, new Uint8Array(len))).toBe(0);
      }),
      { numRuns: 150 },
    );
  });

  it('invariant 17: pwrite then pread round-trips, also over pages that had zero-page entries', async () => {
    await fc.assert(
      fc.asyncProperty(layout, range, fc.boolean(), async (pages, [pos, len], sync) => {
        const fs = new MemFs(new MemoryDevice(4 << 20));
        const f = await build(fs, pages);
        const pt = new RecordingPageTables();
        f.mapping.pageTables = pt;
        // Read faults on holes left ZERO entries mapped read-only.
        const first = Math.floor(pos / PAGE_SIZE);
        for (let i = first; i <= Math.floor((pos + len - 1) / PAGE_SIZE); i++) {
          if (pages[i] === 'hole' || pages[i] === 'unwritten' || i >= pages.length) {
            const e = await grabMappingEntry(f.mapping, i, 0);
            if (e === FALLBACK) throw new Error('fallback');
            insertEntry(f.mapping, e, { pfn: 0, zero: true }, { write: false, sync: false, shared: false });
            unlockEntry(f.mapping, e);
          }
        }
        const data = new Uint8Array(len).map((_, i) => (i * 7 + 3) | 1);
        const k = sync ? daxWriteSync(f, pos, data, fs.ops) : await daxWrite(f, pos, data, fs.ops);
        expect(k).toBe(len);
        if (pos + k > f.size) f.size = pos + k;
        const back = new Uint8Array(k);
        expect(daxRead(f, pos, back, fs.ops)).toBe(k);
        expect(Buffer.compare(back, data)).toBe(0);
        // No zero-page entry survives over the written pages (they were invalidated and unmapped).
        for (const e of f.mapping.tree.collect(first, Math.floor((pos + k - 1) / PAGE_SIZE))) expect(e.kind).not.toBe(EntryKind.ZERO);
      }),
      { numRuns: 150 },
    );
  });

  it('invariant 10: read(2), write(2) and zero-range never set DIRTY', async () => {
    await fc.assert(
      fc.asyncProperty(layout, fc.array(fc.tuple(fc.constantFrom('read', 'write', 'zero'), range), { maxLength: 10 }), async (pages, ops) => {
        const fs = new MemFs(new MemoryDevice(4 << 20));
        const f = await build(fs, pages);
        // Clean REAL and ZERO entries, as read faults would leave them.
        for (let i = 0; i < pages.length; i++) {
          const e = await grabMappingEntry(f.mapping, i, 0);
          if (e === FALLBACK) throw new Error('fallback');
          const b = f.blockAt(i);
          insertEntry(f.mapping, e, { pfn: b, zero: pages[i] !== 'data' && pages[i] !== 'zeros' }, { write: false, sync: false, shared: false });
          unlockEntry(f.mapping, e);
        }
        for (const [op, [pos, len]] of ops) {
          if (op === 'read') fs.read(f, pos, new Uint8Array(len));
          else if (op === 'write') await fs.write(f, pos, new Uint8Array(len).fill(1));
          else await fs.zeroRange(f, pos, len);
        }
        expect(f.mapping.tree.collect(0, 1 << 20).filter((e) => e.dirty || e.towrite)).toEqual([]);
      }),
      { numRuns: 100 },
    );
  });

  it('invariant 30: the filesystem never answers a WRITE with a HOLE, and HOLE has the null address', async () => {
    await fc.assert(
      fc.asyncProperty(layout, fc.array(range, { maxLength: 6 }), async (pages, writes) => {
        const fs = new MemFs(new MemoryDevice(4 << 20));
        fs.ops.trace = [];
        const f = await build(fs, pages);
        for (const [pos, len] of writes) await fs.write(f, pos, new Uint8Array(len).fill(2));
        fs.read(f, 0, new Uint8Array(f.size));
        for (const t of fs.ops.trace) {
          if (t.call !== 'begin') continue;
          expect(t.iomap.offset <= t.pos && t.pos < t.iomap.offset + t.iomap.length).toBe(true);
          if (t.flags & IomapOp.WRITE) expect(t.iomap.type).not.toBe(IomapType.HOLE);
          if (t.iomap.type === IomapType.HOLE) expect(t.iomap.addr).toBe(IOMAP_NULL_ADDR);
        }
      }),
      { numRuns: 100 },
    );
  });

  it('invariant 35: SEEK_HOLE is i_size without holes; SEEK_DATA past the data and offsets outside [0, size) are ENXIO', async () => {
    await fc.assert(
      fc.asyncProperty(layout, fc.integer({ min: -5, max: MAXF + 10 }), async (pages, off) => {
        const fs = new MemFs(new MemoryDevice(4 << 20));
        const f = await build(fs, pages);
        const size = f.size;
        if (off < 0 || off >= size) {
          expect(() => fs.seekData(f, off)).toThrow(expect.objectContaining({ code: 'ENXIO' }));
          expect(() => fs.seekHole(f, off)).toThrow(expect.objectContaining({ code: 'ENXIO' }));
          return;
        }
        const mapped = (p: string | undefined) => p === 'data' || p === 'zeros';
        const firstHole = pages.findIndex((p, i) => i >= Math.floor(off / PAGE_SIZE) && !mapped(p));
        const hole = fs.seekHole(f, off);
        if (firstHole < 0) expect(hole).toBe(size);
        else expect(hole).toBe(Math.max(off, firstHole * PAGE_SIZE));
        const firstData = pages.findIndex((p, i) => i >= Math.floor(off / PAGE_SIZE) && mapped(p));
        if (firstData < 0) expect(() => fs.seekData(f, off)).toThrow(expect.objectContaining({ code: 'ENXIO' }));
        else expect(fs.seekData(f, off)).toBe(Math.max(off, firstData * PAGE_SIZE));
      }),
      { numRuns: 200 },
    );
  });

  it('invariant 35: unwritten pages with entries count as data by default (the kernel), never with unwritten: "hole"', async () => {
    const fs = new MemFs(new MemoryDevice(4 << 20));
    const f = fs.create();
    fs.fallocate(f, 0, 4 * PAGE_SIZE);
    expect(() => fs.seekData(f, 0)).toThrow(expect.objectContaining({ code: 'ENXIO' }));
    const e = await grabMappingEntry(f.mapping, 2, 0);
    if (e === FALLBACK) throw new Error('fallback');
    insertEntry(f.mapping, e, { pfn: 0, zero: true }, { write: false, sync: false, shared: false });
    unlockEntry(f.mapping, e);
    expect(fs.seekData(f, 0)).toBe(2 * PAGE_SIZE);
    expect(fs.seekHole(f, 2 * PAGE_SIZE)).toBe(3 * PAGE_SIZE);
    expect(() => fs.seekData(f, 0, { unwritten: 'hole' })).toThrow(expect.objectContaining({ code: 'ENXIO' }));
    expect(fs.seekHole(f, 2 * PAGE_SIZE, { unwritten: 'hole' })).toBe(2 * PAGE_SIZE);
  });

  it('invariant 36: FIEMAP reports no holes, in order, without overlap, LAST on the last one, flags from the mapping', async () => {
    await fc.assert(
      fc.asyncProperty(layout, fc.integer({ min: 1, max: 8 }), fc.boolean(), async (pages, max, reflink) => {
        const fs = new MemFs(new MemoryDevice(4 << 20));
        const f = await build(fs, pages);
        if (reflink) {
          const g = fs.create();
          await fs.reflink(f, 0, g, 0, f.size);
        }
        fs.ops.trace = [];
        const all = fs.fiemap(f, 0, f.size);
        const begins = fs.ops.trace.filter((t) => t.call === 'begin' && t.iomap.type !== IomapType.HOLE);
        expect(all.length).toBe(begins.length);
        all.forEach((e, i) => {
          const m = begins[i]?.iomap;
          expect(m).toBeDefined();
          if (m === undefined) return;
          expect(e.logical).toBe(m.offset);
          expect((e.flags & FiemapFlag.UNWRITTEN) !== 0).toBe(m.type === IomapType.UNWRITTEN);
          expect((e.flags & FiemapFlag.SHARED) !== 0).toBe((m.flags & IomapFlag.SHARED) !== 0);
          expect((e.flags & FiemapFlag.LAST) !== 0).toBe(i === all.length - 1);
          if (i > 0) expect(e.logical).toBeGreaterThanOrEqual((all[i - 1]?.logical ?? 0) + (all[i - 1]?.length ?? 0));
          const page = e.logical / PAGE_SIZE;
          expect(pages[page]).not.toBe('hole');
        });
        const few = fs.fiemap(f, 0, f.size, max);
        expect(few.length).toBe(Math.min(max, all.length));
        few.forEach((e, i) => {
          expect(e.logical).toBe(all[i]?.logical);
          // LAST only when the array did not fill up before the end.
          expect((e.flags & FiemapFlag.LAST) !== 0).toBe(all.length <= max && i === all.length - 1);
        });
      }),
      { numRuns: 150 },
    );
  });

  it('invariant 37: zero-range writes no media for holes and unwritten extents, and leaves the range reading zeros', async () => {
    await fc.assert(
      fc.asyncProperty(layout, range, async (pages, [pos, len]) => {
        const dev = new SpyDevice(4 << 20);
        const fs = new MemFs(dev);
        const f = await build(fs, pages);
        dev.stores.length = 0;
        await fs.zeroRange(f, pos, len);
        const blocksOk = new Set<number>();
        for (let p = 0; p < pages.length; p++) if (pages[p] === 'data' || pages[p] === 'zeros') blocksOk.add(f.blockAt(p));
        for (const s of dev.stores) expect(blocksOk.has(Math.floor(s.offset / PAGE_SIZE))).toBe(true);
        const end = Math.min(pos + len, f.size);
        if (end > pos) {
          const back = new Uint8Array(end - pos);
          fs.read(f, pos, back);
          expect(back.every((b) => b === 0)).toBe(true);
        }
        dev.stores.length = 0;
        expect(await daxTruncatePage(f, (pos >> 12) << 12, fs.ops)).toBe(false);
        expect(dev.stores).toEqual([]);
      }),
      { numRuns: 150 },
    );
  });

  it('invariant 38: unshare keeps the bytes, ends F_SHARED for the range and unmaps the old blocks', async () => {
    await fc.assert(
      fc.asyncProperty(layout, range, async (pages, [pos, len]) => {
        const fs = new MemFs(new MemoryDevice(4 << 20));
        const f = await build(fs, pages);
        const g = fs.create();
        await fs.reflink(f, 0, g, 0, f.size);
        const pt = new RecordingPageTables();
        g.mapping.pageTables = pt;
        const before = new Uint8Array(g.size);
        fs.read(g, 0, before);
        await fs.unshare(g, pos, len);
        const after = new Uint8Array(g.size);
        fs.read(g, 0, after);
        expect(Buffer.compare(before, after)).toBe(0);
        const end = Math.min(pos + len, g.size);
        if (end <= pos) return;
        for (const e of fs.fiemap(g, pos, end - pos)) {
          const lo = Math.max(e.logical, Math.floor(pos / PAGE_SIZE) * PAGE_SIZE);
          const hi = Math.min(e.logical + e.length, end);
          if (lo < hi) expect(e.flags & FiemapFlag.SHARED).toBe(0);
        }
        // The source file still owns its blocks.
        const orig = new Uint8Array(f.size);
        fs.read(f, 0, orig);
        expect(Buffer.compare(orig, before)).toBe(0);
        const sharedPages = pages.some((p, i) => (p === 'data' || p === 'zeros') && i * PAGE_SIZE < end && (i + 1) * PAGE_SIZE > pos);
        if (sharedPages) expect(pt.unmaps.length).toBeGreaterThan(0);
      }),
      { numRuns: 150 },
    );
  });
});
