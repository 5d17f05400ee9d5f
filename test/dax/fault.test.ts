import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EntryKind } from '../../lib/dax/entry';
import { VmFault } from '../../lib/dax/fault-types';
import { daxFinishSyncFault } from '../../lib/dax/finish-sync-fault';
import { daxIomapFault } from '../../lib/dax/fault';
import { IomapOp, PAGE_SIZE, PMD_SIZE } from '../../lib/iomap/constants';
import { MemFs } from '../../lib/testing/memfs';
import type { MemInode } from '../../lib/testing/memfs-inode';
import { MemoryDevice } from '../../lib/testing/memory-device';
import { FakeVma } from './support/fake-vma';
import { driveFault } from './support/fault-driver';

const MiB = 1024 * 1024;

/** Byte equality without the per-element cost of a deep comparison. */
function same(a: Uint8Array | undefined, b: Uint8Array): boolean {
  return a !== undefined && Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}

function bed(size = 16 * MiB): MemFs {
  return new MemFs(new MemoryDevice(size));
}

async function fileWithData(fs: MemFs, bytes: number, fill = 0x33): Promise<MemInode> {
  const f = fs.create();
  await fs.write(f, 0, new Uint8Array(bytes).fill(fill));
  return f;
}

describe('DAX faults (docs/semantics.md §4)', { timeout: 60_000 }, () => {
  it('a read fault on a hole maps the zero page read-only and allocates nothing', async () => {
    const fs = bed();
    const f = fs.create();
    await fs.truncate(f, 8 * PAGE_SIZE);
    const vma = new FakeVma({ shared: true, pages: 512 }, f.mapping);
    const r = await driveFault(f, fs.ops, vma, 3, false);
    expect(r.result).toBe(VmFault.NOPAGE);
    expect(r.pmd?.fallback).toBe('eof');
    expect(vma.ptes.get(3)).toMatchObject({ kind: 'zero', writable: false });
    expect(f.mapping.tree.load(3)?.kind).toBe(EntryKind.ZERO);
    expect(fs.alloc.used()).toBe(0);
  });

  it('a shared write fault allocates, maps the block writable and dirties the entry (MAJOR)', async () => {
    const fs = bed();
    const f = fs.create();
    await fs.truncate(f, 8 * PAGE_SIZE);
    const vma = new FakeVma({ shared: true, pages: 8 }, f.mapping);
    const r = await driveFault(f, fs.ops, vma, 2, true, { huge: false });
    expect(r.result).toBe(VmFault.NOPAGE | VmFault.MAJOR);
    const e = f.mapping.tree.load(2);
    expect(e).toMatchObject({ kind: EntryKind.REAL, dirty: true, pfn: f.blockAt(2) });
    expect(vma.ptes.get(2)).toMatchObject({ kind: 'device', pfn: f.blockAt(2), writable: true });
  });

  it('faults at or past EOF are SIGBUS, PTE and PMD alike', async () => {
    const fs = bed();
    const f = await fileWithData(fs, 3 * PAGE_SIZE);
    const vma = new FakeVma({ shared: true, pages: 1024 }, f.mapping);
    expect((await daxIomapFault(f, { vma, pgoff: 3, write: false }, 0, fs.ops)).result).toBe(VmFault.SIGBUS);
    expect((await daxIomapFault(f, { vma, pgoff: 600, write: false }, 9, fs.ops)).result).toBe(VmFault.SIGBUS);
    expect(f.mapping.tree.size).toBe(0);
  });

  it('poison: a PTE fault on a bad block is HWPOISON; a PMD fault over it falls back first', async () => {
    const dev = new MemoryDevice(16 * MiB);
    const fs = new MemFs(dev);
    const f = await fileWithData(fs, PMD_SIZE);
    expect(f.blockAt(0)).toBe(0);
    dev.injectBadblock(5 * PAGE_SIZE + 512, 512);
    const vma = new FakeVma({ shared: true, pages: 512 }, f.mapping);
    const r = await driveFault(f, fs.ops, vma, 5, false);
    expect(r.pmd?.result).toBe(VmFault.FALLBACK);
    expect(r.pmd?.fallback).toBe('direct-access');
    expect(r.result).toBe(VmFault.HWPOISON);
    expect(vma.ptes.has(5)).toBe(false);
    expect((await driveFault(f, fs.ops, vma, 6, false)).result).toBe(VmFault.NOPAGE);
  });

  it('a page table that cannot take the mapping (mmap ENOMEM: vm.max_map_count) makes the fault OOM, and the entry is unlocked', async () => {
    const fs = bed();
    const f = await fileWithData(fs, PAGE_SIZE);
    const vma = new FakeVma({ shared: true, pages: 1 }, f.mapping);
    vma.insertPte = () => {
      throw Object.assign(new Error('ENOMEM: mmap'), { errno: -12, code: 'ENOMEM' });
    };
    const r = await driveFault(f, fs.ops, vma, 0, false);
    expect(r.result).toBe(VmFault.OOM);
    expect(f.mapping.tree.load(0)?.locked).toBe(false);
  });

  it('a REAL PMD entry hit by a PTE write fault stays a PMD and is dirtied whole (T12)', async () => {
    const fs = bed();
    const f = await fileWithData(fs, PMD_SIZE);
    const ro = new FakeVma({ shared: true, pages: 512 }, f.mapping);
    expect((await driveFault(f, fs.ops, ro, 0, false)).order).toBe(9);
    const misaligned = new FakeVma({ shared: true, pages: 512, colour: 1 });
    const r = await driveFault(f, fs.ops, misaligned, 7, true);
    expect(r.pmd?.fallback).toBe('colour');
    expect(r.result).toBe(VmFault.NOPAGE);
    const e = f.mapping.tree.load(7);
    expect(e).toMatchObject({ order: 9, dirty: true, index: 0 });
    expect(misaligned.ptes.get(7)).toMatchObject({ pfn: f.blockAt(7), writable: true, huge: false });
  });

  it('invariant 19: shared write faults ask iomap_begin for exactly DAX|FAULT|WRITE; reads and private writes for DAX|FAULT; PAGE or 2 MiB at aligned positions', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom('hole', 'data', 'unwritten'), { minLength: 1, maxLength: 4 }),
        fc.array(fc.record({ pgoff: fc.nat(4 * 512 - 1), write: fc.boolean(), shared: fc.boolean(), huge: fc.boolean() }), { minLength: 1, maxLength: 12 }),
        async (chunks, faults) => {
          const fs = bed(32 * MiB);
          const f = fs.create();
          for (let i = 0; i < chunks.length; i++) {
            if (chunks[i] === 'data') await fs.write(f, i * PMD_SIZE, new Uint8Array(PMD_SIZE).fill(i + 1));
            if (chunks[i] === 'unwritten') fs.fallocate(f, i * PMD_SIZE, PMD_SIZE);
          }
          await fs.truncate(f, chunks.length * PMD_SIZE);
          const shared = new FakeVma({ shared: true, pages: 4 * 512 }, f.mapping);
          const priv = new FakeVma({ shared: false, pages: 4 * 512 });
          for (const x of faults) {
            fs.ops.trace = [];
            await driveFault(f, fs.ops, x.shared ? shared : priv, x.pgoff, x.write, { huge: x.huge });
            for (const t of fs.ops.trace.filter((c) => c.call === 'begin')) {
              const expected = IomapOp.DAX | IomapOp.FAULT | (x.write && x.shared ? IomapOp.WRITE : 0);
              expect(t.flags).toBe(expected);
              expect([PAGE_SIZE, PMD_SIZE]).toContain(t.length);
              expect(t.pos % t.length).toBe(0);
            }
          }
          fs.ops.trace = null;
        },
      ),
      { numRuns: 60 },
    );
  });

  it('invariant 21: a PMD mapping is installed iff colour, private-write, VMA bounds, EOF, PTE entries, extent length and pfn alignment all allow it', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          colour: fc.constantFrom(0, 0, 1, 256),
          vmaPgoff: fc.constantFrom(0, 0, 1, 512),
          vmaPages: fc.constantFrom(512, 1024, 1536, 700),
          sizePages: fc.constantFrom(512, 1024, 1000, 1536),
          shared: fc.boolean(),
          write: fc.boolean(),
          pteFirst: fc.option(fc.nat(1535), { nil: undefined }),
          shift: fc.boolean(),
          hole: fc.option(fc.nat(1535), { nil: undefined }),
          at: fc.nat(1535),
        }),
        async (c) => {
          const fs = bed(8 * MiB);
          if (c.shift) await fs.write(fs.create(), 0, new Uint8Array(PAGE_SIZE).fill(9)); // later blocks are 1 page off the 2 MiB grid
          const f = fs.create();
          await fs.write(f, 0, new Uint8Array(c.sizePages * PAGE_SIZE).fill(7));
          if (c.hole !== undefined && c.hole < c.sizePages) await fs.punch(f, c.hole * PAGE_SIZE, PAGE_SIZE);
          const vma = new FakeVma({ shared: c.shared, pages: c.vmaPages, pgoff: c.vmaPgoff, colour: c.colour }, f.mapping);
          const pgoff = c.vmaPgoff + (c.at % c.vmaPages);
          if (c.pteFirst !== undefined && c.pteFirst < c.sizePages) {
            await daxIomapFault(f, { vma: new FakeVma({ shared: true, pages: 4096 }), pgoff: c.pteFirst, write: false }, 0, fs.ops);
          }
          const index = pgoff - (pgoff % 512);
          const vpage = c.colour + pgoff - c.vmaPgoff;
          const vbase = vpage - (vpage % 512);
          const maxPgoff = Math.ceil(f.size / PAGE_SIZE);
          const ptesInRange = f.mapping.tree.collect(index, index + 511).some((e) => e.order === 0);
          let extentOk = true;
          for (let p = index; p < index + 512; p++) if (f.blockAt(p) !== f.blockAt(index) + (p - index) || f.blockAt(p) < 0) extentOk = false;
          if (f.blockAt(index) % 512 !== 0) extentOk = false;
          const expected =
            pgoff % 512 === vpage % 512 &&
            !(c.write && !c.shared) &&
            vbase >= c.colour &&
            vbase + 512 <= c.colour + c.vmaPages &&
            (index | 511) < maxPgoff &&
            !ptesInRange &&
            extentOk;
          const out = await daxIomapFault(f, { vma, pgoff, write: c.write }, 9, fs.ops);
          const installed = vma.inserts.some((i) => i.huge);
          expect(installed).toBe(expected);
          if (!installed) {
            if (index >= maxPgoff) expect(out.result).toBe(VmFault.SIGBUS);
            else expect([VmFault.FALLBACK, 0]).toContain(out.result);
          }
        },
      ),
      { numRuns: 120 },
    );
  });

  it('invariant 18: once data replaces a hole, no page table still maps the zero page there', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ op: fc.constantFrom('read', 'write-fault', 'pwrite'), pgoff: fc.nat(1023), huge: fc.boolean() }), { minLength: 1, maxLength: 25 }),
        async (ops) => {
          const fs = bed(32 * MiB);
          const f = fs.create();
          await fs.truncate(f, 1024 * PAGE_SIZE);
          const vma = new FakeVma({ shared: true, pages: 1024 }, f.mapping);
          for (const o of ops) {
            if (o.op === 'pwrite') await fs.write(f, o.pgoff * PAGE_SIZE, new Uint8Array(100).fill(1));
            else await driveFault(f, fs.ops, vma, o.pgoff, o.op === 'write-fault', { huge: o.huge });
            // A zero mapping may outlive its entry (a partial unmap splits a huge zero mapping, as in
            // the kernel), but never where the file has data.
            for (const [p, pte] of vma.ptes) if (pte.kind === 'zero') expect(f.blockAt(p)).toBe(-1);
          }
        },
      ),
      { numRuns: 80 },
    );
  });

  it('invariant 20: private writes never reach the file, and each private page starts as a copy of the file page (zeros over a hole)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom('hole', 'data', 'unwritten'), { minLength: 8, maxLength: 8 }),
        fc.array(fc.record({ pgoff: fc.nat(7), write: fc.boolean(), byte: fc.nat(255) }), { minLength: 1, maxLength: 20 }),
        async (layout, ops) => {
          const fs = bed(4 * MiB);
          const f = fs.create();
          for (let p = 0; p < 8; p++) {
            if (layout[p] === 'data') await fs.write(f, p * PAGE_SIZE, new Uint8Array(PAGE_SIZE).fill(0x10 + p));
            if (layout[p] === 'unwritten') fs.fallocate(f, p * PAGE_SIZE, PAGE_SIZE);
          }
          await fs.truncate(f, 8 * PAGE_SIZE);
          const before = new Uint8Array(8 * PAGE_SIZE);
          fs.read(f, 0, before);
          const vma = new FakeVma({ shared: false, pages: 8 }, f.mapping);
          for (const o of ops) {
            const had = vma.ptes.get(o.pgoff);
            const r = await driveFault(f, fs.ops, vma, o.pgoff, o.write);
            if (o.write && had?.kind !== 'cow') {
              expect(r.result).toBe(VmFault.DONE_COW);
              const pte = vma.ptes.get(o.pgoff);
              expect(pte?.kind).toBe('cow');
              expect(same(pte?.data, before.subarray(o.pgoff * PAGE_SIZE, (o.pgoff + 1) * PAGE_SIZE))).toBe(true);
              pte?.data?.fill(o.byte);
            }
          }
          const after = new Uint8Array(8 * PAGE_SIZE);
          fs.read(f, 0, after);
          expect(same(after, before)).toBe(true);
          expect(fs.alloc.used()).toBe(layout.filter((k) => k !== 'hole').length);
          expect(f.mapping.tree.collect(0, 7).every((e) => !e.dirty)).toBe(true);
        },
      ),
      { numRuns: 80 },
    );
  });

  it('invariant 12: writeback of any index inside a PMD entry flushes exactly 2 MiB at the entry pfn; of a PTE entry exactly its 4 KiB', async () => {
    const dev = new MemoryDevice(16 * MiB);
    const fs = new MemFs(dev);
    const f = await fileWithData(fs, PMD_SIZE + PAGE_SIZE);
    const vma = new FakeVma({ shared: true, pages: 513 }, f.mapping);
    await fs.fsync(f);
    expect((await driveFault(f, fs.ops, vma, 300, true)).order).toBe(9);
    expect((await driveFault(f, fs.ops, vma, 512, true)).order).toBe(0);
    dev.recordFlushes = true;
    await fs.fsync(f, { start: 300 * PAGE_SIZE, end: 300 * PAGE_SIZE });
    expect(dev.flushes).toEqual([{ offset: f.blockAt(0) * PAGE_SIZE, length: PMD_SIZE }]);
    dev.flushes.length = 0;
    await fs.fsync(f, { start: 512 * PAGE_SIZE, end: 512 * PAGE_SIZE + 1 });
    expect(dev.flushes).toEqual([{ offset: f.blockAt(512) * PAGE_SIZE, length: PAGE_SIZE }]);
    expect(vma.ptes.get(300)?.writable).toBe(false);
  });

  describe('invariant 32: MAP_SYNC', () => {
    async function syncBed(): Promise<{ fs: MemFs; f: MemInode; vma: FakeVma }> {
      const fs = bed();
      const f = fs.create();
      await fs.truncate(f, 4 * PAGE_SIZE);
      return { fs, f, vma: new FakeVma({ shared: true, mapSync: true, pages: 4 }, f.mapping) };
    }

    it('invariant 32: a sync write fault on F_DIRTY metadata installs nothing writable until the fsync has succeeded', async () => {
      const { fs, f, vma } = await syncBed();
      const out = await daxIomapFault(f, { vma, pgoff: 1, write: true }, 0, fs.ops);
      expect(out.result & VmFault.NEEDDSYNC).toBe(VmFault.NEEDDSYNC);
      expect(vma.ptes.has(1)).toBe(false);
      const e = f.mapping.tree.load(1);
      expect(e).toMatchObject({ kind: EntryKind.REAL, dirty: false });
      expect(out.pfn).toBe(f.blockAt(1));
      let synced = false;
      const r = await daxFinishSyncFault(f, { vma, pgoff: 1, write: true }, 0, out.pfn, async () => {
        expect(vma.ptes.has(1)).toBe(false);
        await fs.fsync(f);
        synced = true;
      });
      expect(synced).toBe(true);
      expect(r).toBe(VmFault.NOPAGE);
      expect(vma.ptes.get(1)).toMatchObject({ pfn: f.blockAt(1), writable: true });
      expect(f.mapping.tree.load(1)?.dirty).toBe(true);
    });

    it('invariant 32: when the fsync fails the fault is SIGBUS and the page stays unmapped', async () => {
      const { fs, f, vma } = await syncBed();
      const r = await driveFault(f, fs.ops, vma, 2, true, {
        datasync: () => Promise.reject(Object.assign(new Error('EIO'), { errno: -5 })),
      });
      expect(r.result).toBe(VmFault.SIGBUS);
      expect(vma.ptes.has(2)).toBe(false);
    });

    it('invariant 32: a read fault first, then the sync write fault: the page stays read-only until the fsync', async () => {
      const { fs, f, vma } = await syncBed();
      fs.fallocate(f, 0, PAGE_SIZE, true); // allocated, unwritten, not committed
      await fs.write(f, 0, new Uint8Array(8).fill(1));
      await driveFault(f, fs.ops, vma, 0, false);
      expect(vma.ptes.get(0)).toMatchObject({ kind: 'device', writable: false });
      expect(vma.inserts.at(-1)?.what.writableOnTrap).toBe(false);
      const out = await daxIomapFault(f, { vma, pgoff: 0, write: true }, 0, fs.ops);
      expect(out.result & VmFault.NEEDDSYNC).toBe(VmFault.NEEDDSYNC);
      expect(vma.ptes.get(0)?.writable).toBe(false);
    });

    it('invariant 32: without F_DIRTY a sync write fault is an ordinary shared write fault', async () => {
      const { fs, f, vma } = await syncBed();
      await fs.write(f, 0, new Uint8Array(PAGE_SIZE).fill(3));
      await fs.fsync(f);
      const r = await driveFault(f, fs.ops, vma, 0, true);
      expect(r.result).toBe(VmFault.NOPAGE);
      expect(vma.ptes.get(0)?.writable).toBe(true);
      expect(f.mapping.tree.load(0)?.dirty).toBe(true);
    });
  });
});
