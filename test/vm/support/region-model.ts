import { PAGE_SIZE } from '../../../lib/iomap/constants';
import type { MemInode } from '../../../lib/testing/memfs-inode';
import { PageState } from '../../../lib/vm/page-state';
import type { DaxRegion } from '../../../lib/vm/region';
import { Prng } from '../../dax/support/prng';
import type { RegionBed } from './region-device';

const MAX_PAGES = 768;

/** Thrown on the first difference between what a region shows and the model. */
export class RegionDivergence extends Error {}

interface ModelRegion {
  readonly region: DaxRegion;
  /** Private copies (page index in the region → bytes), for private regions. */
  readonly cow: Map<number, Uint8Array>;
}

/**
 * runRegionModel -- random operations on one file mapped by three regions (shared 2 MiB-capable,
 * shared misaligned 4 KiB, private), checked against a byte array of the file and the private
 * copies: every page a region shows must hold what the model says, and after every fsync no entry
 * is DIRTY or TOWRITE and no shared page is writable (invariant 11). Raw loads and stores touch
 * only pages mapped for them, as a correct program would. Returns the count of each operation.
 */
export async function runRegionModel(bed: RegionBed, seed: number, ops: number): Promise<Map<string, number>> {
  const rng = new Prng(seed);
  const { inode, file } = await bed.file();
  const model = { bytes: new Uint8Array(MAX_PAGES * PAGE_SIZE), size: 0 };
  const regions: ModelRegion[] = [
    { region: file.mmap({ length: MAX_PAGES * PAGE_SIZE }), cow: new Map() },
    { region: file.mmap({ offset: 3 * PAGE_SIZE, length: 256 * PAGE_SIZE, huge: false }), cow: new Map() },
    { region: file.mmap({ length: 600 * PAGE_SIZE, shared: false }), cow: new Map() },
  ];
  // A second file that reflinks take ranges of the first into: its bytes must never change behind
  // its back (stores to the first file's shared blocks copy on write).
  const clone = bed.fs.create('/clone');
  const cloneModel = { bytes: new Uint8Array(MAX_PAGES * PAGE_SIZE), size: 0 };
  const counts = new Map<string, number>();
  const fail = (step: number, what: string): never => {
    throw new RegionDivergence(`seed ${seed}, step ${step}: ${what}`);
  };

  for (let step = 0; step < ops; step++) {
    const r = regions[rng.int(regions.length)] as ModelRegion;
    const reg = r.region;
    const k = rng.int(100);
    let op: string;
    if (k < 20) {
      op = 'populate';
      const first = rng.int(reg.pages);
      const n = 1 + rng.int(k < 5 ? 600 : 8);
      const count = Math.min(n, reg.pages - first);
      const write = rng.int(2) === 0 && reg.writable;
      const eofPages = Math.ceil(model.size / PAGE_SIZE);
      const beyond = reg.pgoff + first + count > eofPages;
      try {
        await reg.populate({ offset: first * PAGE_SIZE, length: count * PAGE_SIZE }, write ? 'write' : 'read');
        if (beyond) fail(step, `populate past EOF (${reg.pgoff + first}+${count} > ${eofPages}) succeeded`);
      } catch (e) {
        if ((e as { code?: string }).code !== 'ERR_PMEMDAX_SIGBUS' || !beyond) throw e;
      }
      if (write && !reg.shared) {
        for (let p = first; p < first + count && reg.pgoff + p < eofPages; p++) {
          if (!r.cow.has(p)) r.cow.set(p, model.bytes.slice((reg.pgoff + p) * PAGE_SIZE, (reg.pgoff + p + 1) * PAGE_SIZE));
        }
      }
    } else if (k < 50) {
      op = 'store';
      const p = rng.int(reg.pages);
      const s = reg.pageState(p);
      // A private region (not on device-dax) arms its file and zero pages: a store becomes a private copy.
      const privateTrap = !reg.shared && bed.device.info.kind !== 'devdax' && (s === PageState.TRAP || s === PageState.ZERO);
      const ok = s === PageState.WRITE || s === PageState.COW || (s === PageState.TRAP && reg.shared) || privateTrap;
      const at = rng.int(PAGE_SIZE - 16);
      const data = rng.bytes(1 + rng.int(16));
      // Stores beyond EOF never reach the file (POSIX); a correct program does not make them.
      if (ok && (reg.pgoff + p) * PAGE_SIZE + at + data.length <= model.size) {
        reg.bytes.set(data, p * PAGE_SIZE + at);
        if (reg.shared) model.bytes.set(data, (reg.pgoff + p) * PAGE_SIZE + at);
        else {
          if (privateTrap && !r.cow.has(p)) r.cow.set(p, model.bytes.slice((reg.pgoff + p) * PAGE_SIZE, (reg.pgoff + p + 1) * PAGE_SIZE));
          (r.cow.get(p) ?? fail(step, `private page ${p} is writable without a copy`)).set(data, at);
        }
      }
    } else if (k < 62) {
      op = 'pwrite';
      const pos = rng.int(MAX_PAGES * PAGE_SIZE - 2 * PAGE_SIZE);
      const data = rng.bytes(1 + rng.int(2 * PAGE_SIZE));
      await bed.fs.write(inode, pos, data);
      model.bytes.set(data, pos);
      model.size = Math.max(model.size, pos + data.length);
    } else if (k < 74) {
      op = 'fsync';
      await file.fsync();
      for (const e of inode.mapping.tree.collect(0, MAX_PAGES)) if (e.dirty || e.towrite) fail(step, `entry ${e.index} still dirty after fsync`);
      for (const x of regions) {
        if (!x.region.shared) continue;
        for (let p = 0; p < x.region.pages; p++) if (x.region.pageState(p) === PageState.WRITE) fail(step, `page ${p} writable after fsync`);
      }
    } else if (k < 82) {
      op = 'punch';
      const pos = rng.int(MAX_PAGES * PAGE_SIZE);
      const len = 1 + rng.int(6 * PAGE_SIZE);
      await bed.fs.punch(inode, pos, len);
      model.bytes.fill(0, pos, Math.min(pos + len, model.size));
      dropPrivate(regions, Math.ceil(pos / PAGE_SIZE), Math.floor((pos + len) / PAGE_SIZE));
    } else if (k < 86) {
      op = 'truncate';
      const size = rng.int(MAX_PAGES * PAGE_SIZE);
      await bed.fs.truncate(inode, size);
      model.bytes.fill(0, Math.min(size, model.size));
      model.size = size;
      dropPrivate(regions, Math.ceil(size / PAGE_SIZE), MAX_PAGES);
    } else if (k < 91) {
      op = 'reflink';
      const pages = Math.floor(model.size / PAGE_SIZE);
      if (pages > 0) {
        const first = rng.int(pages);
        const n = 1 + rng.int(Math.min(16, pages - first));
        const to = rng.int(MAX_PAGES - n);
        await bed.fs.reflink(inode, first * PAGE_SIZE, clone, to * PAGE_SIZE, n * PAGE_SIZE);
        cloneModel.bytes.set(model.bytes.subarray(first * PAGE_SIZE, (first + n) * PAGE_SIZE), to * PAGE_SIZE);
        cloneModel.size = Math.max(cloneModel.size, (to + n) * PAGE_SIZE);
      }
    } else {
      op = 'read';
      const pos = rng.int(MAX_PAGES * PAGE_SIZE);
      const buf = new Uint8Array(1 + rng.int(3 * PAGE_SIZE));
      const n = bed.fs.read(inode, pos, buf);
      const want = Math.max(0, Math.min(buf.length, model.size - pos));
      if (n !== want || !same(buf.subarray(0, n), model.bytes.subarray(pos, pos + n))) fail(step, `read(${pos}, ${buf.length}) differs`);
      const c = new Uint8Array(cloneModel.size);
      if (bed.fs.read(clone, 0, c) !== cloneModel.size || !same(c, cloneModel.bytes.subarray(0, cloneModel.size))) {
        fail(step, 'the clone changed');
      }
    }
    counts.set(op, (counts.get(op) ?? 0) + 1);
    checkRegions(regions, model.bytes, step, fail, rng);
  }
  checkEntries(inode);
  return counts;
}

/** Truncate and punch drop private copies of whole pages `[first, end)` (even_cows). */
function dropPrivate(regions: ModelRegion[], first: number, end: number): void {
  for (const r of regions) {
    for (const p of [...r.cow.keys()]) {
      const pg = r.region.pgoff + p;
      if (pg >= first && pg < end) r.cow.delete(p);
    }
  }
}

/** A few random mapped pages of every region must show what the model holds. */
function checkRegions(regions: ModelRegion[], bytes: Uint8Array, step: number, fail: (s: number, w: string) => never, rng: Prng): void {
  for (const { region, cow } of regions) {
    for (let i = 0; i < 4; i++) {
      const p = rng.int(region.pages);
      const s = region.pageState(p);
      if (s === PageState.NONE) continue;
      const shown = region.bytes.subarray(p * PAGE_SIZE, (p + 1) * PAGE_SIZE);
      const copy = cow.get(p);
      if (s === PageState.COW && copy === undefined) fail(step, `private page ${p} has no copy in the model`);
      // A private page stored to shows its copy, whether or not the trap was harvested yet.
      if (copy !== undefined) {
        if (!same(shown, copy)) fail(step, `private page ${p} (state ${s}) differs from its copy`);
        continue;
      }
      const file = bytes.subarray((region.pgoff + p) * PAGE_SIZE, (region.pgoff + p + 1) * PAGE_SIZE);
      if (!same(shown, file)) fail(step, `page ${p} (state ${s}) of region at ${region.pgoff} differs from the file`);
    }
  }
}

/** Invariant 7 at the end: no operation left an entry locked. */
function checkEntries(inode: MemInode): void {
  for (const e of inode.mapping.tree.collect(0, MAX_PAGES)) if (e.locked) throw new Error(`entry ${e.index} left locked`);
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}
