import { describe, expect, it } from 'vitest';
import { Pool, type PoolFile } from '../../lib';
import { PMD_PAGES, PMD_SIZE } from '../../lib/iomap/constants';
import { Allocator, type AllocOwner } from '../../lib/pool/alloc';
import { firstBit } from '../../lib/pool/audit';
import { ExtentMap } from '../../lib/pool/extent-map';
import { MemoryDevice } from '../../lib/testing';
import { rng } from '../support/rng';

const KiB = 1024;
const MiB = 1024 * KiB;

/** Whole 2 MiB ranges of `file`, and how many of them one PMD could map (one run, device offset ≡ file offset mod 2 MiB). */
function pmdRanges(file: PoolFile): { ranges: number; aligned: number } {
  const runs: { logical: number; physical: number; length: number }[] = [];
  for (const { logical, physical, length } of file.fiemap()) {
    const last = runs[runs.length - 1];
    if (last !== undefined && last.logical + last.length === logical && last.physical + last.length === physical) last.length += length;
    else runs.push({ logical, physical, length });
  }
  const ranges = Math.floor(file.size / PMD_SIZE);
  let aligned = 0;
  for (const { logical, physical, length } of runs) {
    if ((physical - logical) % PMD_SIZE !== 0) continue;
    aligned += Math.max(0, Math.min(ranges, Math.floor((logical + length) / PMD_SIZE)) - Math.ceil(logical / PMD_SIZE));
  }
  return { ranges, aligned };
}

/** The groups holding `file`'s blocks. */
function groupsOf(file: PoolFile): Set<number> {
  const out = new Set<number>();
  for (const { physical, length } of file.fiemap()) {
    for (let at = physical; at < physical + length; at += 4096) out.add(Math.floor(at / PMD_SIZE));
  }
  return out;
}

describe('the allocator keeps large files on 2 MiB-aligned extents (docs/design.md, "Keeping large files aligned")', () => {
  it('its per-group free counts agree with the bitmap through takes, frees, metadata takes (bitmap copies, tree pages) and commits', () => {
    const blocks = 16 * PMD_PAGES + 77;
    const a = new Allocator(blocks, 13, blocks - 1);
    a.recount();
    const next = rng(7);
    const owners: AllocOwner[] = [{ opens: 1 }, { opens: 0 }, { opens: 2 }];
    const taken: [number, number][] = [];
    const check = (): void => {
      let wholly = 0;
      for (let g = 0; g < a.groupFree.length; g++) {
        let free = 0;
        for (let b = Math.max(13, g * PMD_PAGES); b < Math.min(blocks - 1, (g + 1) * PMD_PAGES); b++) if (!a.used(b)) free++;
        expect(a.groupFree[g], `group ${g}`).toBe(free);
        if (free === PMD_PAGES) wholly++;
      }
      expect(a.freeGroups).toBe(wholly);
    };
    for (let step = 0; step < 400; step++) {
      const r = next();
      if (r < 0.55 || taken.length === 0) {
        const page = Math.floor(next() * 3 * PMD_PAGES);
        const got = a.take(1 + Math.floor(next() * 700), Math.floor(next() * blocks), page, owners[step % 3] as AllocOwner);
        if (got !== null) taken.push(got);
      } else if (r < 0.85) {
        const [b, n] = taken.splice(Math.floor(next() * taken.length), 1)[0] as [number, number];
        a.unref(b, n);
        a.committed();
      } else if (r < 0.93) {
        const n = 1 + Math.floor(next() * 600);
        const b = a.takeContiguous(n);
        if (b >= 0) taken.push([b, n]);
      } else if (a.free > 0) {
        taken.push([a.takeMetaBlock(), 1]);
      }
      check();
    }
  });

  it('block numbers past 2^31 (pools over 8 TiB): counts, packing and the audit bit search stay right', () => {
    const lo = 2 ** 31 + 3;
    const blocks = 2 ** 31 + 4 * PMD_PAGES;
    const a = new Allocator(blocks, lo, blocks - 1);
    a.recount();
    expect(a.free).toBe(blocks - 1 - lo);
    const got: [number, number][] = [];
    for (let i = 0; i < 40; i++) {
      const t = a.take(1 + (i % 7), -1, 0, { opens: 0 });
      expect(t, `take ${i}`).not.toBeNull();
      got.push(t as [number, number]);
    }
    for (const [b, n] of got) {
      expect(b).toBeGreaterThanOrEqual(lo);
      for (let k = b; k < b + n; k++) expect(a.used(k)).toBe(true);
    }
    let free = 0;
    for (let g = 0; g < a.groupFree.length; g++) free += a.groupFree[g] as number;
    expect(free).toBe(a.free);
    expect(firstBit(a.bitmap, lo, 100, 1)).toBe(got[0]?.[0]);
    expect(firstBit(a.bitmap, blocks - 5, 3, 0)).toBe(blocks - 5);
  });

  it('starts a range in a wholly free group, extends it in place, and packs small first allocations together', () => {
    const blocks = 8 * PMD_PAGES;
    const a = new Allocator(blocks, 10, blocks - 1);
    a.recount();
    const big = { opens: 1, extents: new ExtentMap() };
    const [b0, n0] = a.takeForPage(big, 0, 64) as [number, number];
    expect(b0 % PMD_PAGES).toBe(0);
    big.extents.set(0, n0, b0, 0);
    // The next pages continue in place, and a run may go on into the next group while it is wholly free.
    const [b1, n1] = a.takeForPage(big, n0, PMD_PAGES) as [number, number];
    expect([b1, n1]).toEqual([b0 + n0, PMD_PAGES]);
    // Tiny first allocations share a group that is already in use, and never the open file's.
    const smalls = Array.from({ length: 20 }, () => a.take(2, -1, 0, { opens: 0 }) as [number, number]);
    const smallGroups = new Set(smalls.map(([b]) => b >>> 9));
    expect(smallGroups.size).toBe(1);
    expect(smallGroups.has(b0 >>> 9)).toBe(false);
    expect(smallGroups.has((b1 + n1 - 1) >>> 9)).toBe(false);
  });

  it('frees that come back late (as when readers hold them) are reused: neither ranges nor small allocations march through the pool', () => {
    const blocks = 64 * PMD_PAGES;
    const a = new Allocator(blocks, 1, blocks - 1);
    a.recount();
    // A log of four 2 MiB ranges replaced over and over, the old one's blocks freed only after the next is written.
    const groups = new Set<number>();
    let old: [number, number][] = [];
    for (let round = 0; round < 40; round++) {
      const log = { opens: 1, extents: new ExtentMap() };
      const runs: [number, number][] = [];
      for (let page = 0; page < 4 * PMD_PAGES; ) {
        const [b, n] = a.takeForPage(log, page, 4 * PMD_PAGES - page) as [number, number];
        log.extents.set(page, n, b, 0);
        runs.push([b, n]);
        for (let k = b; k < b + n; k += PMD_PAGES) groups.add(k >>> 9);
        page += n;
      }
      a.committed();
      for (const [b, n] of old) a.unref(b, n);
      a.committed();
      old = runs;
    }
    expect(groups.size).toBeLessThanOrEqual(8);
    // Single blocks, each freed 700 allocations after it was taken (more than a group holds): two groups hold them all.
    const small = new Allocator(blocks, 0, blocks);
    small.recount();
    const live: number[] = [];
    const used = new Set<number>();
    for (let i = 0; i < 20000; i++) {
      const [b] = small.take(1, -1, 0, null) as [number, number];
      small.committed();
      used.add(b >>> 9);
      live.push(b);
      if (live.length > 700) {
        small.unref(live.shift() as number, 1);
        small.committed();
      }
    }
    expect(used.size).toBe(2);
  });

  it('packing takes the lowest partly used group, wherever it lies among the words of its summary', () => {
    const groups = 100;
    const a = new Allocator(groups * PMD_PAGES, 1, groups * PMD_PAGES - 1);
    a.recount();
    a.markUsed(1, groups * PMD_PAGES - 2);
    a.recount();
    const freeOne = (g: number): void => a.replayRun(g * PMD_PAGES + 7, 1, false);
    const groupOfPack = (): number => (a.take(1, -1, 0, null) as [number, number])[0] >>> 9;
    freeOne(70);
    freeOne(40);
    expect(groupOfPack()).toBe(40);
    // A free below the mark moves it down; a group made full leaves the summary.
    freeOne(5);
    expect(groupOfPack()).toBe(5);
    expect(groupOfPack()).toBe(70);
    // An open file growing in the lowest group: packing goes past it, and comes back once the file closed.
    freeOne(3);
    freeOne(64);
    const grower = { opens: 1 };
    a.replayRun(3 * PMD_PAGES, 1, false);
    expect(a.take(1, 3 * PMD_PAGES, PMD_PAGES, grower)?.[0]).toBe(3 * PMD_PAGES);
    expect(groupOfPack()).toBe(64);
    grower.opens = 0;
    expect(groupOfPack()).toBe(3);
  });

  it('a closed file leaves its group to others; while open, small allocations go elsewhere', () => {
    const blocks = 4 * PMD_PAGES;
    const a = new Allocator(blocks, 1, blocks - 1);
    a.recount();
    const owner = { opens: 1 };
    const [b] = a.take(32, -1, 0, owner) as [number, number];
    const g = b >>> 9;
    expect(b % PMD_PAGES).toBe(0);
    const packed = a.take(4, -1, 0, null) as [number, number];
    expect(packed[0] >>> 9).not.toBe(g);
    owner.opens = 0;
    // The group the small allocation went to is used first; then the closed file's group takes small ones too.
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) seen.add((a.take(4, -1, 0, null) as [number, number])[0] >>> 9);
    expect(seen.has(g)).toBe(true);
  });

  it('four files appended side by side, with small files between their appends: every whole 2 MiB range is PMD-mappable', () => {
    using pool = Pool.createOn(new MemoryDevice(256 * MiB));
    const next = rng(11);
    const data = new Uint8Array(MiB).fill(5);
    const big = Array.from({ length: 4 }, (_, i) => pool.open(`big${i}`, { create: true }));
    let small = 0;
    while (big.some((f) => f.size < 24 * MiB)) {
      const f = big[Math.floor(next() * big.length)] as PoolFile;
      if (f.size < 24 * MiB) f.writeSync(data.subarray(0, 4 * KiB + Math.floor(next() * (MiB - 4 * KiB))), f.size);
      const s = pool.open(`small${small++}`, { create: true });
      s.writeSync(data.subarray(0, 4 * KiB + Math.floor(next() * 252 * KiB)), 0);
      s.close();
    }
    for (const f of big) {
      expect(pmdRanges(f)).toEqual({ ranges: Math.floor(f.size / PMD_SIZE), aligned: Math.floor(f.size / PMD_SIZE) });
      f.close();
    }
  });

  it('tiny files do not spread over the pool: two hundred 8 KiB files sit in one or two groups', () => {
    using pool = Pool.createOn(new MemoryDevice(64 * MiB));
    const groups = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const f = pool.open(`t${i}`, { create: true });
      f.writeSync(new Uint8Array(8 * KiB), 0);
      for (const g of groupsOf(f)) groups.add(g);
      f.close();
    }
    expect(groups.size).toBeLessThanOrEqual(2);
  });

  it('after aging (create, append, delete to 80 % full) most whole 2 MiB ranges of large files stay PMD-mappable', () => {
    // A regression guard at test scale (0.72 here when written; the allocator before placed almost no range
    // aligned after aging); `npm run bench:pool` measures the target (≥ 90 %) on a larger pool.
    using pool = Pool.createOn(new MemoryDevice(192 * MiB));
    const next = rng(3);
    const between = (lo: number, hi: number): number => lo + Math.floor(next() * (hi - lo + 1));
    const data = new Uint8Array(MiB).fill(9);
    const fill = (): number => {
      const s = pool.statfs();
      return 1 - s.freeBlocks / s.dataBlocks;
    };
    const closed: string[] = [];
    const growing: { name: string; file: PoolFile; target: number }[] = [];
    let seq = 0;
    const step = (): void => {
      while (growing.length < 4) {
        const name = `L${seq++}`;
        growing.push({ name, file: pool.open(name, { create: true }), target: between(2 * MiB, 16 * MiB) });
      }
      if (next() < 0.5) {
        const name = `s${seq++}`;
        const f = pool.open(name, { create: true });
        f.writeSync(data.subarray(0, between(4 * KiB, 256 * KiB)), 0);
        f.close();
        closed.push(name);
        return;
      }
      const at = Math.floor(next() * growing.length);
      const g = growing[at] as (typeof growing)[number];
      g.file.writeSync(data.subarray(0, Math.min(between(4 * KiB, MiB), g.target - g.file.size)), g.file.size);
      if (g.file.size >= g.target) {
        g.file.close();
        closed.push(g.name);
        growing.splice(at, 1);
      }
    };
    for (let cycle = 0; cycle < 3; cycle++) {
      while (fill() < 0.7) step();
      while (fill() > 0.6) {
        const at = Math.floor(next() * closed.length);
        pool.unlink(closed[at] as string);
        closed[at] = closed[closed.length - 1] as string;
        closed.pop();
      }
    }
    while (fill() < 0.8) step();
    for (const g of growing) g.file.close();
    let ranges = 0;
    let aligned = 0;
    for (const name of pool.list()) {
      const f = pool.open(name, { readonly: true });
      const r = pmdRanges(f);
      ranges += r.ranges;
      aligned += r.aligned;
      f.close();
    }
    expect(ranges).toBeGreaterThan(20);
    expect(aligned / ranges).toBeGreaterThanOrEqual(0.6);
  });
});
