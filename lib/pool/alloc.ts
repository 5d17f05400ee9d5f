import { internalError } from '../errors';
import { PMD_PAGES } from '../iomap/constants';
import type { ExtentMap } from './extent-map';
import { NO_BLOCK } from './layout';

/** Append run [b, b+n) to a list of runs, extending the last one when it ends at b (appends). */
function addRun(runs: number[], b: number, n: number): void {
  const k = runs.length;
  if (k > 0 && (runs[k - 2] as number) + (runs[k - 1] as number) === b) runs[k - 1] = (runs[k - 1] as number) + n;
  else runs.push(b, n);
}

/**
 * Allocator -- the pool's block bitmap and the reference counts of shared blocks, plus what changed
 * since the last commit. Bits of the data area only are handed out. A block freed by an uncommitted
 * change stays set in the bitmap until the commit is durable (`release`), so the persistent state
 * never references a block that was reused. CoW destinations are `reserve`d: in use, but not yet
 * part of any change to commit.
 */
export class Allocator {
  readonly blocks: number;
  readonly bitmap: Uint32Array;
  /** Reference counts above one; every other used data block has exactly one owner. */
  readonly shared = new Map<number, number>();
  /** Committed-to-be: runs allocated, runs freed (still set), blocks whose refcount changed. */
  readonly allocRuns: number[] = [];
  readonly freeRuns: number[] = [];
  readonly refChanged = new Set<number>();
  /**
   * The same, for a commit written but not yet known durable (group commit): its frees stay set and
   * its reference changes still force CoW until `release`.
   */
  readonly #flightFrees: number[] = [];
  readonly #flightRefs = new Set<number>();
  readonly reserved: number[] = [];
  free = 0;
  /** Blocks data allocations must leave free (room for the next checkpoint). */
  keep = 0;
  private readonly lo: number;
  private readonly hi: number;
  private cursor: number;

  constructor(blocks: number, dataLo: number, dataHi: number) {
    this.blocks = blocks;
    this.bitmap = new Uint32Array(Math.ceil(blocks / 32));
    this.lo = dataLo;
    this.hi = dataHi;
    this.cursor = dataLo;
  }

  used(b: number): boolean {
    return ((this.bitmap[b >>> 5] as number) & (1 << (b & 31))) !== 0;
  }

  /** Set the bits of `[b, b+n)` as loaded from media; recount free blocks with `recount`. */
  markUsed(b: number, n: number): void {
    this.setBits(b, n, true);
  }

  private clear(b: number, n: number): void {
    this.setBits(b, n, false);
  }

  /** Sets or clears `[b, b+n)` a 32-bit word at a time (an open pool marks every extent it loads). */
  private setBits(b: number, n: number, on: boolean): void {
    const bm = this.bitmap;
    for (let i = b, end = b + n; i < end; i += 32 - (i & 31)) {
      const mask = wordMask(i, end);
      const w = i >>> 5;
      bm[w] = on ? (bm[w] as number) | mask : (bm[w] as number) & ~mask;
    }
  }

  /** Free blocks of the data area, by a population count of its words. */
  recount(): void {
    let used = 0;
    for (let b = this.lo; b < this.hi; b += 32 - (b & 31)) used += popcount32((this.bitmap[b >>> 5] as number) & wordMask(b, this.hi));
    this.free = this.hi - this.lo - used;
  }

  refs(b: number): number {
    return this.shared.size === 0 ? 1 : this.shared.get(b) ?? 1;
  }

  /**
   * Must a write to `b` copy it first? Yes while others own it, and also while its count changed
   * since the last commit: a CoW that dropped a reference is not durable yet, so on the media the
   * other owner still maps the block and an in-place write would change that owner's data.
   */
  cowNeeded(b: number): boolean {
    return this.refs(b) > 1 || (this.refChanged.size > 0 && this.refChanged.has(b)) || (this.#flightRefs.size > 0 && this.#flightRefs.has(b));
  }

  /** False when no block needs a CoW (the common case: nothing was ever cloned). */
  get anyCow(): boolean {
    return this.shared.size > 0 || this.refChanged.size > 0 || this.#flightRefs.size > 0;
  }

  /** Length of the free run at `b`, at most `want`. */
  private runAt(b: number, want: number): number {
    let n = 0;
    while (n < want && b + n < this.hi && !this.used(b + n)) n++;
    return n;
  }

  /**
   * 1..`want` contiguous free blocks: at `goal` if it is free (extending a file in place); else, for
   * an allocation that reaches the end of its file's 2 MiB group, starting on `colour` within a
   * 2 MiB group (so the file's aligned range lands on an aligned run and can be mapped by PMD
   * entries); else the next free run. Returns [first, count], or null
   * when nothing is free beyond the checkpoint reserve.
   */
  take(want: number, goal: number, colour: number, reserve = false): [number, number] | null {
    const budget = this.free - this.keep;
    if (budget <= 0) return null;
    want = Math.min(want, budget);
    let b = -1;
    let n = 0;
    if (goal >= this.lo && goal < this.hi && !this.used(goal)) {
      b = goal;
      n = this.runAt(goal, want);
    } else {
      [b, n] = this.search(want, colour);
    }
    if (n === 0) return null;
    this.markUsed(b, n);
    this.free -= n;
    this.cursor = b + n < this.hi ? b + n : this.lo;
    if (reserve) this.reserved.push(b, n);
    else addRun(this.allocRuns, b, n);
    return [b, n];
  }

  private search(want: number, colour: number): [number, number] {
    const span = this.hi - this.lo;
    const needAligned = PMD_PAGES - colour;
    // Only an allocation that reaches the end of its 2 MiB group can make the group PMD-mappable;
    // placing small ones on colour would scatter them over every group and fragment the pool.
    if (want >= needAligned) {
      const groups = Math.ceil(this.hi / PMD_PAGES);
      const g0 = Math.floor(this.cursor / PMD_PAGES);
      for (let k = 0; k < groups; k++) {
        const b = ((g0 + k) % groups) * PMD_PAGES + colour;
        if (b < this.lo || b >= this.hi || this.used(b)) continue;
        const n = this.runAt(b, want);
        if (n >= needAligned) return [b, n];
      }
    }
    for (let k = 0; k < span; k++) {
      const b = this.lo + ((this.cursor - this.lo + k) % span);
      if ((this.bitmap[b >>> 5] as number) === 0xffffffff) {
        k += 31 - (b & 31);
        continue;
      }
      if (!this.used(b)) return [b, this.runAt(b, want)];
    }
    return [-1, 0];
  }

  /**
   * `take` for file page `page` of a file mapped by `extents`: the goal is the block after the
   * previous page's, the colour the page's offset within its 2 MiB group.
   */
  takeForPage(extents: ExtentMap, page: number, want: number, reserve = false): [number, number] | null {
    const prev = page > 0 ? extents.blockAt(page - 1) : NO_BLOCK;
    return this.take(want, prev === NO_BLOCK ? -1 : prev + 1, page % PMD_PAGES, reserve);
  }

  /**
   * `want` free blocks in at most `maxRuns` runs, first fit from the start of the data area (a
   * checkpoint image); ignores `keep`. Returns [start, count] pairs, or null when they do not exist.
   */
  takeRuns(want: number, maxRuns: number): number[] | null {
    const runs: number[] = [];
    let got = 0;
    for (let b = this.lo; b < this.hi && got < want; b++) {
      if ((b & 31) === 0 && (this.bitmap[b >>> 5] as number) === 0xffffffff) {
        b += 31;
        continue;
      }
      if (this.used(b)) continue;
      const n = this.runAt(b, want - got);
      runs.push(b, n);
      got += n;
      b += n - 1;
    }
    if (got < want || runs.length / 2 > maxRuns) return null;
    // Not a change to journal: the checkpoint written into them records them in its own bitmap.
    for (let i = 0; i < runs.length; i += 2) this.markUsed(runs[i] as number, runs[i + 1] as number);
    this.free -= want;
    return runs;
  }

  /** Give back the runs of a `takeRuns` whose checkpoint was never written. */
  untakeRuns(runs: readonly number[]): void {
    for (let i = 0; i < runs.length; i += 2) {
      this.clear(runs[i] as number, runs[i + 1] as number);
      this.free += runs[i + 1] as number;
    }
  }

  /** A reserved run became part of a change (CoW end): it commits with the next record. */
  confirm(b: number, n: number): void {
    this.dropReserved(b, n);
    addRun(this.allocRuns, b, n);
  }

  /** A reserved run was not used: free at once, it was never in a commit. */
  unreserve(b: number, n: number): void {
    this.dropReserved(b, n);
    this.clear(b, n);
    this.free += n;
  }

  private dropReserved(b: number, n: number): void {
    for (let i = 0; i < this.reserved.length; i += 2) {
      const rb = this.reserved[i] as number;
      const rn = this.reserved[i + 1] as number;
      if (b >= rb && b + n <= rb + rn) {
        const parts: number[] = [];
        if (b > rb) parts.push(rb, b - rb);
        if (b + n < rb + rn) parts.push(b + n, rb + rn - (b + n));
        this.reserved.splice(i, 2, ...parts);
        return;
      }
    }
    throw internalError(`pool allocator: run ${b}+${n} was not reserved`);
  }

  /** One more owner of each block of `[b, b+n)`. */
  ref(b: number, n: number): void {
    for (let i = b; i < b + n; i++) {
      this.shared.set(i, this.refs(i) + 1);
      this.refChanged.add(i);
    }
  }

  /** One owner fewer for each block of `[b, b+n)`; a block nobody owns is freed at the next commit. */
  unref(b: number, n: number): void {
    let runStart = -1;
    for (let i = b; i <= b + n; i++) {
      let freed = false;
      if (i < b + n) {
        const r = this.refs(i);
        if (r > 2) this.shared.set(i, r - 1);
        else if (r === 2) this.shared.delete(i);
        else freed = true;
        if (r > 1) this.refChanged.add(i);
      }
      if (freed && runStart < 0) runStart = i;
      if (!freed && runStart >= 0) {
        addRun(this.freeRuns, runStart, i - runStart);
        runStart = -1;
      }
    }
  }

  /** A commit begun is not yet known durable: its frees or reference changes wait for `release`. */
  get flying(): boolean {
    return this.#flightFrees.length > 0 || this.#flightRefs.size > 0;
  }

  /** A commit written and durable at once, with none in flight: freed runs become allocatable now. */
  committed(): void {
    if (this.freeRuns.length === 0 && this.allocRuns.length === 0 && this.refChanged.size === 0) return;
    for (let i = 0; i < this.freeRuns.length; i += 2) {
      this.clear(this.freeRuns[i] as number, this.freeRuns[i + 1] as number);
      this.free += this.freeRuns[i + 1] as number;
    }
    this.freeRuns.length = 0;
    this.allocRuns.length = 0;
    this.refChanged.clear();
  }

  /** The change lists went into a commit being written: they empty, and wait for `release`. */
  beginFlight(): void {
    this.allocRuns.length = 0;
    for (let i = 0; i < this.freeRuns.length; i++) this.#flightFrees.push(this.freeRuns[i] as number);
    this.freeRuns.length = 0;
    for (const b of this.refChanged) this.#flightRefs.add(b);
    this.refChanged.clear();
  }

  /** Every commit begun is durable: the runs they freed become allocatable. */
  release(): void {
    const frees = this.#flightFrees;
    for (let i = 0; i < frees.length; i += 2) {
      this.clear(frees[i] as number, frees[i + 1] as number);
      this.free += frees[i + 1] as number;
    }
    frees.length = 0;
    this.#flightRefs.clear();
  }

  /** Free now a run that is not referenced by any committed state (a checkpoint superseded). */
  dropNow(b: number, n: number): void {
    this.clear(b, n);
    this.free += n;
  }

  /** The bitmap as it will be once pending frees are released, without reserved runs and `also`. */
  snapshot(also: readonly number[]): Uint32Array {
    const out = this.bitmap.slice();
    const unset = (runs: readonly number[]): void => {
      for (let i = 0; i < runs.length; i += 2) {
        const b = runs[i] as number;
        const n = runs[i + 1] as number;
        for (let k = b; k < b + n; k++) out[k >>> 5] = (out[k >>> 5] as number) & ~(1 << (k & 31));
      }
    };
    unset(this.freeRuns);
    unset(this.#flightFrees);
    unset(this.reserved);
    unset(also);
    return out;
  }
}

/** The bits of `[i, end)` that lie in the 32-bit word holding bit `i`. */
function wordMask(i: number, end: number): number {
  const bit = i & 31;
  const take = Math.min(32 - bit, end - i);
  return take === 32 ? 0xffffffff : ((1 << take) - 1) << bit;
}

function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}
