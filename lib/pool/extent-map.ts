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

// One extent is four numbers: file page, page count, first block, state. A map is a list of chunks, each a
// flat array of up to `chunkExtents` extents in file order: a change moves the numbers of one chunk, not of
// the whole map (a file that copy on write cut into thousands of extents would move them all at every write).
const W = 4;
const NONE: readonly number[][] = Object.freeze([]);

/** First page of the first extent of `chunk`. */
const firstPage = (chunk: readonly number[]): number => chunk[0] as number;

/** Index of the extent of the flat `e` holding `page`, or -(insertion point) - 1. */
function findIn(e: readonly number[], page: number): number {
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

/** Merge the extents of `e` from `from-1` to `from+n` where they continue each other. */
function mergeAround(e: number[], from: number, n: number): void {
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

/**
 * ExtentMap -- one file's logical-to-device map: sorted, non-overlapping, maximal extents (no two neighbours
 * continue each other). Lookups are two binary searches and allocate nothing; `set` assigns a range
 * (splitting and merging neighbours) in O(log extents + chunk), O(1) when it extends the end. A map with no
 * extents holds no array of its own (a pool keeps many small files in memory).
 */
export class ExtentMap {
  #chunks: number[][] = NONE as number[][];
  #count = 0;
  readonly #max: number;

  /** `chunkExtents`: extents a chunk holds before it splits (small ones test the chunk boundaries). */
  constructor(chunkExtents = 128) {
    this.#max = chunkExtents * W;
  }

  get length(): number {
    return this.#count;
  }

  /** Page just past the last extent (0 when empty). */
  get end(): number {
    const last = this.#chunks[this.#chunks.length - 1];
    if (last === undefined) return 0;
    const n = last.length;
    return (last[n - W] as number) + (last[n - W + 1] as number);
  }

  /** The chunk whose extents `page` is at or after: the last one starting at or before it (0 if none does). */
  #chunkOf(page: number): number {
    const c = this.#chunks;
    let lo = 1;
    let hi = c.length - 1;
    let at = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (firstPage(c[mid] as number[]) <= page) {
        at = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return at;
  }

  lookup(page: number, out: PageLookup): PageLookup {
    const ci = this.#chunkOf(page);
    const e = this.#chunks[ci];
    const i = e === undefined ? -1 : findIn(e, page);
    if (e !== undefined && i >= 0) {
      const start = e[i * W] as number;
      out.block = (e[i * W + 2] as number) + (page - start);
      out.state = e[i * W + 3] as number;
      out.run = start + (e[i * W + 1] as number) - page;
    } else {
      const next = -i - 1;
      const after = e !== undefined && next < e.length / W ? e[next * W] : this.#chunks[ci + 1]?.[0];
      out.block = NO_BLOCK;
      out.state = 0;
      out.run = after === undefined ? Infinity : after - page;
    }
    return out;
  }

  blockAt(page: number): number {
    const e = this.#chunks[this.#chunkOf(page)];
    if (e === undefined) return NO_BLOCK;
    const i = findIn(e, page);
    return i >= 0 ? (e[i * W + 2] as number) + (page - (e[i * W] as number)) : NO_BLOCK;
  }

  /** Map `[page, page+count)` to blocks `block, block+1, …` with `state` (NO_BLOCK makes a hole). */
  set(page: number, count: number, block: number, state: number): void {
    if (count <= 0) return;
    // Past the last extent (appends, and loading a sorted map): extend it or add one, no splicing.
    if (page >= this.end) {
      if (block !== NO_BLOCK) this.#append(page, count, block, state);
      return;
    }
    const end = page + count;
    const [ci, e, before] = this.#span(page, end);
    let first = findIn(e, page);
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
    // An extent replaced by one extent (a block copied on write) moves nothing.
    if (keep.length === W && last - first === 1) {
      for (let k = 0; k < W; k++) e[first * W + k] = keep[k] as number;
    } else {
      e.splice(first * W, (last - first) * W, ...keep);
    }
    mergeAround(e, first, keep.length / W);
    this.#settle(ci, e, before);
  }

  #append(page: number, count: number, block: number, state: number): void {
    if (this.#chunks === NONE) this.#chunks = [];
    const e = this.#chunks[this.#chunks.length - 1];
    const n = e === undefined ? 0 : e.length;
    if (e !== undefined && this.end === page && (e[n - 2] as number) + (e[n - 3] as number) === block && e[n - 1] === state) {
      e[n - 3] = (e[n - 3] as number) + count;
      return;
    }
    if (e === undefined || n >= this.#max) this.#chunks.push([page, count, block, state]);
    else e.push(page, count, block, state);
    this.#count++;
  }

  /**
   * The chunks a `set` of `[page, end)` changes, and those of the extents either side of it (the new extent may
   * merge with them), joined into one when they are several: `[its index, its extents, their count before]`.
   * Chunks between the first and the last the range meets lie inside it, and go whole.
   */
  #span(page: number, end: number): [number, number[], number] {
    const c = this.#chunks;
    const first = this.#chunkOf(page);
    const last = this.#chunkOf(end - 1);
    let lo = first;
    let hi = last;
    const head = c[first] as number[];
    // Its first extent reached: the one before is the previous chunk's last.
    if (lo > 0 && (head[0] as number) + (head[1] as number) > page) lo--;
    const tail = c[last] as number[];
    // Every extent of the chunk starts before `end`: the one after is the next chunk's first.
    if (hi + 1 < c.length && (tail[tail.length - W] as number) < end) hi++;
    if (lo === hi) return [lo, c[lo] as number[], (c[lo] as number[]).length / W];
    let before = 0;
    for (let k = lo; k <= hi; k++) before += (c[k] as number[]).length / W;
    const kept = [...c.slice(lo, first + 1), ...c.slice(Math.max(first + 1, last), hi + 1)];
    // concat copies arrays of numbers as blocks of memory (flat() goes element by element, ~100 times slower).
    const joined = (kept[0] as number[]).concat(...kept.slice(1));
    c.splice(lo, hi - lo + 1, joined);
    return [lo, joined, before];
  }

  /**
   * After a change to chunk `ci` (`e`, which held `before` extents): the count, and no chunk empty, too long,
   * or short beside a short neighbour (chunks of an extent or two would make the list as long as the map).
   */
  #settle(ci: number, e: number[], before: number): void {
    this.#count += e.length / W - before;
    const c = this.#chunks;
    const next = c[ci + 1];
    if (e.length === 0) {
      c.splice(ci, 1);
      if (c.length === 0) this.#chunks = NONE as number[][];
    } else if (e.length > this.#max) {
      // Pieces of about half a chunk each, so that the next changes neither split nor join them.
      const n = e.length / W;
      const k = Math.min(n, Math.ceil((2 * n * W) / this.#max));
      const pieces: number[][] = [];
      for (let i = 0; i < k; i++) pieces.push(e.slice(Math.floor((n * i) / k) * W, Math.floor((n * (i + 1)) / k) * W));
      c.splice(ci, 1, ...pieces);
    } else if (next !== undefined && e.length + next.length <= this.#max / 2) {
      for (const x of next) e.push(x);
      c.splice(ci + 1, 1);
    }
  }

  /** Clear `bits` from the state of every extent overlapping `[page, end)`, merging what then matches. */
  clearState(bits: number, page: number, end: number): void {
    const c = this.#chunks;
    const first = this.#chunkOf(page);
    let ci = first;
    let e = c[ci];
    if (e === undefined) return;
    let i = findIn(e, page);
    if (i < 0) i = -i - 1;
    // In place, chunk by chunk (a commit clears the range its writes spanned: it may hold every chunk).
    for (;;) {
      const n = e.length / W;
      const from = i;
      for (; i < n && (e[i * W] as number) < end; i++) e[i * W + 3] = (e[i * W + 3] as number) & ~bits;
      mergeAround(e, from, i - from);
      this.#count += e.length / W - n;
      const next = c[ci + 1];
      if (i < n || next === undefined || (next[0] as number) >= end) break;
      e = next;
      ci++;
      i = 0;
    }
    // Then across the chunk boundaries it reached, the one before its first extent included; from the
    // last, so that a chunk emptied and taken out leaves the indices still to do as they were.
    for (let k = Math.min(ci + 1, c.length - 1); k >= Math.max(first, 1); k--) this.#mergeAcross(k);
  }

  /** Merge the last extent of chunk `k - 1` and the first of chunk `k` when they continue each other. */
  #mergeAcross(k: number): void {
    const c = this.#chunks;
    const a = c[k - 1] as number[];
    const b = c[k] as number[];
    const p = a.length - W;
    const count = a[p + 1] as number;
    if ((a[p] as number) + count !== b[0] || (a[p + 2] as number) + count !== b[2] || a[p + 3] !== b[3]) return;
    a[p + 1] = count + (b[1] as number);
    b.splice(0, W);
    this.#count--;
    if (b.length === 0) c.splice(k, 1);
  }

  /** Each extent (clipped to `[page, end)`) in file order. */
  forEach(page: number, end: number, fn: (page: number, count: number, block: number, state: number) => void): void {
    if (end <= page) return;
    const c = this.#chunks;
    let ci = this.#chunkOf(page);
    let e = c[ci];
    if (e === undefined) return;
    let i = findIn(e, page);
    if (i < 0) i = -i - 1;
    for (;;) {
      if (i >= e.length / W) {
        e = c[++ci];
        if (e === undefined) return;
        i = 0;
      }
      const s = e[i * W] as number;
      if (s >= end) return;
      const n = e[i * W + 1] as number;
      const lo = Math.max(s, page);
      const hi = Math.min(s + n, end);
      fn(lo, hi - lo, (e[i * W + 2] as number) + (lo - s), e[i * W + 3] as number);
      i++;
    }
  }

  /** Pages mapped. */
  mappedPages(): number {
    let n = 0;
    for (const e of this.#chunks) for (let i = 1; i < e.length; i += W) n += e[i] as number;
    return n;
  }
}
