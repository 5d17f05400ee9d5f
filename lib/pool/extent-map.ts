import { NO_BLOCK } from './layout';

/** Per-extent state bits. */
export const ExtentState = {
  /** Allocated, reads as zeros (fallocate). */
  UNWRITTEN: 1,
  /** Mapped since the last commit: a crash now would lose the mapping (iomap F_DIRTY). */
  UNCOMMITTED: 2,
} as const;

/** What `lookup` reports about one page. */
export interface PageLookup {
  /** Device block of the page, or NO_BLOCK for a hole. */
  block: number;
  state: number;
  /** Pages from this one to the end of its extent (mapped) or to the next extent (hole; Infinity at the end). */
  run: number;
}

// One flat array, four numbers an extent: file page, page count, first block, state.
const W = 4;
const EMPTY: readonly number[] = Object.freeze([]);

/**
 * ExtentMap -- one file's logical-to-device map: sorted, non-overlapping extents. Lookups are
 * binary searches and allocate nothing; `set` assigns a range (splitting and merging neighbours)
 * and is O(extents) in the worst case, O(1) when it extends the end. A map with no extents holds
 * no array of its own (a pool keeps many small files in memory).
 */
export class ExtentMap {
  private e: number[] = EMPTY as number[];

  get length(): number {
    return this.e.length / W;
  }

  /** Page just past the last extent (0 when empty). */
  get end(): number {
    const e = this.e;
    const n = e.length;
    return n === 0 ? 0 : (e[n - W] as number) + (e[n - W + 1] as number);
  }

  /** Index of the extent holding `page`, or -(insertion point) - 1. */
  private find(page: number): number {
    const e = this.e;
    let lo = 0;
    let hi = e.length / W - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const start = e[mid * W] as number;
      if (page < start) hi = mid - 1;
      else if (page >= start + (e[mid * W + 1] as number)) lo = mid + 1;
      else return mid;
    }
    return -lo - 1;
  }

  lookup(page: number, out: PageLookup): PageLookup {
    const e = this.e;
    const i = this.find(page);
    if (i >= 0) {
      const start = e[i * W] as number;
      out.block = (e[i * W + 2] as number) + (page - start);
      out.state = e[i * W + 3] as number;
      out.run = start + (e[i * W + 1] as number) - page;
    } else {
      const next = -i - 1;
      out.block = NO_BLOCK;
      out.state = 0;
      out.run = next < e.length / W ? (e[next * W] as number) - page : Infinity;
    }
    return out;
  }

  blockAt(page: number): number {
    const i = this.find(page);
    return i >= 0 ? (this.e[i * W + 2] as number) + (page - (this.e[i * W] as number)) : NO_BLOCK;
  }

  private own(): number[] {
    if (this.e === EMPTY) this.e = [];
    return this.e;
  }

  /** Map `[page, page+count)` to blocks `block, block+1, …` with `state` (NO_BLOCK makes a hole). */
  set(page: number, count: number, block: number, state: number): void {
    if (count <= 0) return;
    // Past the last extent (appends, and loading a sorted map): extend it or add one, no splicing.
    if (page >= this.end) {
      if (block === NO_BLOCK) return;
      const e = this.own();
      const n = e.length;
      if (n > 0 && this.end === page && (e[n - 2] as number) + (e[n - 3] as number) === block && e[n - 1] === state) {
        e[n - 3] = (e[n - 3] as number) + count;
      } else {
        e.push(page, count, block, state);
      }
      return;
    }
    const e = this.own();
    const end = page + count;
    let first = this.find(page);
    if (first < 0) first = -first - 1;
    let last = first;
    // The parts of overlapped extents outside the range survive, around the new extent.
    const keep: number[] = [];
    while (last < e.length / W && (e[last * W] as number) < end) {
      const s = e[last * W] as number;
      const c = e[last * W + 1] as number;
      const b = e[last * W + 2] as number;
      const st = e[last * W + 3] as number;
      if (s < page) keep.push(s, page - s, b, st);
      if (s + c > end) keep.push(end, s + c - end, b + (end - s), st);
      last++;
    }
    if (block !== NO_BLOCK) {
      const at = keep.length > 0 && (keep[0] as number) < page ? W : 0;
      keep.splice(at, 0, page, count, block, state);
    }
    e.splice(first * W, (last - first) * W, ...keep);
    this.mergeAround(first, keep.length / W);
  }

  /** Merge extents `[from-1, from+n]` where they continue each other. */
  private mergeAround(from: number, n: number): void {
    const e = this.e;
    let i = Math.max(1, from);
    let stop = Math.min(e.length / W, from + n + 1);
    while (i < stop) {
      const p = (i - 1) * W;
      const q = i * W;
      const pc = e[p + 1] as number;
      if ((e[p] as number) + pc === e[q] && (e[p + 2] as number) + pc === e[q + 2] && e[p + 3] === e[q + 3]) {
        e[p + 1] = pc + (e[q + 1] as number);
        e.splice(q, W);
        stop--;
      } else {
        i++;
      }
    }
  }

  /** Clear `bits` from the state of every extent overlapping `[page, end)`, merging what then matches. */
  clearState(bits: number, page: number, end: number): void {
    const e = this.e;
    let i = this.find(page);
    if (i < 0) i = -i - 1;
    const from = i;
    for (; i < e.length / W && (e[i * W] as number) < end; i++) e[i * W + 3] = (e[i * W + 3] as number) & ~bits;
    this.mergeAround(from, i - from);
  }

  /** Each extent (clipped to `[page, end)`) in file order. */
  forEach(page: number, end: number, fn: (page: number, count: number, block: number, state: number) => void): void {
    const e = this.e;
    let i = this.find(page);
    if (i < 0) i = -i - 1;
    for (; i < e.length / W; i++) {
      const s = e[i * W] as number;
      if (s >= end) break;
      const c = e[i * W + 1] as number;
      const lo = Math.max(s, page);
      const hi = Math.min(s + c, end);
      fn(lo, hi - lo, (e[i * W + 2] as number) + (lo - s), e[i * W + 3] as number);
    }
  }

  /** Pages mapped. */
  mappedPages(): number {
    let n = 0;
    for (let i = 1; i < this.e.length; i += W) n += this.e[i] as number;
    return n;
  }
}
