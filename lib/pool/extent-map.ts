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

/**
 * ExtentMap -- one file's logical-to-device map: sorted, non-overlapping extents in parallel arrays
 * (file page, page count, first block, state). Lookups are binary searches and allocate nothing;
 * `set` assigns a range (splitting and merging neighbours) and is O(extents) in the worst case.
 */
export class ExtentMap {
  private pages: number[] = [];
  private counts: number[] = [];
  private blocks: number[] = [];
  private states: number[] = [];

  get length(): number {
    return this.pages.length;
  }

  /** Page just past the last extent (0 when empty). */
  get end(): number {
    const n = this.pages.length;
    return n === 0 ? 0 : (this.pages[n - 1] as number) + (this.counts[n - 1] as number);
  }

  /** Index of the extent holding `page`, or -(insertion point) - 1. */
  private find(page: number): number {
    let lo = 0;
    let hi = this.pages.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const start = this.pages[mid] as number;
      if (page < start) hi = mid - 1;
      else if (page >= start + (this.counts[mid] as number)) lo = mid + 1;
      else return mid;
    }
    return -lo - 1;
  }

  lookup(page: number, out: PageLookup): PageLookup {
    const i = this.find(page);
    if (i >= 0) {
      const start = this.pages[i] as number;
      out.block = (this.blocks[i] as number) + (page - start);
      out.state = this.states[i] as number;
      out.run = start + (this.counts[i] as number) - page;
    } else {
      const next = -i - 1;
      out.block = NO_BLOCK;
      out.state = 0;
      out.run = next < this.pages.length ? (this.pages[next] as number) - page : Infinity;
    }
    return out;
  }

  blockAt(page: number): number {
    const i = this.find(page);
    return i >= 0 ? (this.blocks[i] as number) + (page - (this.pages[i] as number)) : NO_BLOCK;
  }

  /**
   * Map `[page, page+count)` to blocks `block, block+1, …` with `state` (NO_BLOCK makes a hole).
   * Returns nothing: callers that free or share blocks read the old map with `forEach` first.
   */
  set(page: number, count: number, block: number, state: number): void {
    if (count <= 0) return;
    const end = page + count;
    // Cut the extents overlapping the range down to the parts outside it.
    let first = this.find(page);
    if (first < 0) first = -first - 1;
    let last = first;
    const keepP: number[] = [];
    const keepC: number[] = [];
    const keepB: number[] = [];
    const keepS: number[] = [];
    while (last < this.pages.length && (this.pages[last] as number) < end) {
      const s = this.pages[last] as number;
      const c = this.counts[last] as number;
      const b = this.blocks[last] as number;
      const st = this.states[last] as number;
      if (s < page) {
        keepP.push(s);
        keepC.push(page - s);
        keepB.push(b);
        keepS.push(st);
      }
      if (s + c > end) {
        keepP.push(end);
        keepC.push(s + c - end);
        keepB.push(b + (end - s));
        keepS.push(st);
      }
      last++;
    }
    if (block !== NO_BLOCK) {
      // The new extent goes between the left and right remainders.
      const at = keepP.length > 0 && (keepP[0] as number) < page ? 1 : 0;
      keepP.splice(at, 0, page);
      keepC.splice(at, 0, count);
      keepB.splice(at, 0, block);
      keepS.splice(at, 0, state);
    }
    this.pages.splice(first, last - first, ...keepP);
    this.counts.splice(first, last - first, ...keepC);
    this.blocks.splice(first, last - first, ...keepB);
    this.states.splice(first, last - first, ...keepS);
    this.mergeAround(first, keepP.length);
  }

  /** Merge extents `[from-1, from+n]` where they continue each other. */
  private mergeAround(from: number, n: number): void {
    let i = Math.max(1, from);
    let stop = Math.min(this.pages.length, from + n + 1);
    while (i < stop) {
      const p = i - 1;
      const pEnd = (this.pages[p] as number) + (this.counts[p] as number);
      if (pEnd === this.pages[i] && (this.blocks[p] as number) + (this.counts[p] as number) === this.blocks[i] && this.states[p] === this.states[i]) {
        this.counts[p] = (this.counts[p] as number) + (this.counts[i] as number);
        this.pages.splice(i, 1);
        this.counts.splice(i, 1);
        this.blocks.splice(i, 1);
        this.states.splice(i, 1);
        stop--;
      } else {
        i++;
      }
    }
  }

  /** Clear `bits` from the state of every extent overlapping `[page, end)`, merging what then matches. */
  clearState(bits: number, page: number, end: number): void {
    let i = this.find(page);
    if (i < 0) i = -i - 1;
    const from = i;
    for (; i < this.pages.length && (this.pages[i] as number) < end; i++) this.states[i] = (this.states[i] as number) & ~bits;
    this.mergeAround(from, i - from);
  }

  /** Each extent (clipped to `[page, end)`) in file order. */
  forEach(page: number, end: number, fn: (page: number, count: number, block: number, state: number) => void): void {
    let i = this.find(page);
    if (i < 0) i = -i - 1;
    for (; i < this.pages.length; i++) {
      const s = this.pages[i] as number;
      if (s >= end) break;
      const c = this.counts[i] as number;
      const lo = Math.max(s, page);
      const hi = Math.min(s + c, end);
      fn(lo, hi - lo, (this.blocks[i] as number) + (lo - s), this.states[i] as number);
    }
  }

  /** Pages mapped. */
  mappedPages(): number {
    let n = 0;
    for (const c of this.counts) n += c;
    return n;
  }
}
