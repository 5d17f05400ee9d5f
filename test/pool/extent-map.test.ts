import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ExtentMap, type PageLookup } from '../../lib/pool/extent-map';
import { NO_BLOCK } from '../../lib/pool/layout';

const PAGES = 64;

/** Page-by-page reference: block and state of each page (-1 for a hole). */
function reference(ops: ([number, number, number, number] | [number, number, number])[]): { block: number[]; state: number[] } {
  const block = new Array<number>(PAGES + 16).fill(-1);
  const state = new Array<number>(PAGES + 16).fill(0);
  for (const o of ops) {
    if (o.length === 3) {
      // Per extent: every page of a maximal run (blocks that follow each other, one state) that meets the range.
      const continues = (p: number): boolean => block[p] !== -1 && block[p - 1] === (block[p] as number) - 1 && state[p - 1] === state[p];
      let from = o[1];
      while (from > 0 && continues(from)) from--;
      let to = o[1] + o[2];
      while (to < block.length && continues(to)) to++;
      const cleared = state.map((st, i) => (i >= from && i < to && block[i] !== -1 ? st & ~o[0] : st));
      state.splice(0, state.length, ...cleared);
      continue;
    }
    const [page, count, b, st] = o;
    for (let i = 0; i < count; i++) {
      block[page + i] = b === NO_BLOCK ? -1 : b + i;
      state[page + i] = b === NO_BLOCK ? 0 : st;
    }
  }
  return { block, state };
}

/** clearState(bits, page, page + count). */
const clear = fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: PAGES - 1 }), fc.integer({ min: 1, max: 16 }));
const op = fc.tuple(fc.integer({ min: 0, max: PAGES - 1 }), fc.integer({ min: 1, max: 16 }), fc.oneof(fc.constant(NO_BLOCK), fc.integer({ min: 0, max: 200 })), fc.integer({ min: 0, max: 3 }));

describe('ExtentMap against a page-by-page reference', () => {
  // Chunks of 1 to 3 extents put chunk boundaries everywhere: every change meets one.
  it.each([1, 2, 3, 128])('lookup, blockAt and forEach agree with the reference after any sequence of set and clearState; extents stay sorted, disjoint and maximal (chunks of %i extents)', (chunkExtents) => {
    fc.assert(
      fc.property(fc.array(fc.oneof(op, clear), { maxLength: 40 }), (ops) => {
        const m = new ExtentMap(chunkExtents);
        for (const o of ops) {
          if (o.length === 3) m.clearState(o[0], o[1], o[1] + o[2]);
          else m.set(...o);
        }
        const ref = reference(ops);
        const look: PageLookup = { block: 0, state: 0, run: 0 };
        const seen: number[] = [];
        const states: number[] = [];
        for (let p = 0; p < PAGES + 16; p++) {
          m.lookup(p, look);
          seen.push(look.block === NO_BLOCK ? -1 : look.block);
          states.push(look.block === NO_BLOCK ? 0 : look.state);
          if ((m.blockAt(p) === NO_BLOCK ? -1 : m.blockAt(p)) !== seen[p]) throw new Error(`blockAt(${p}) differs from lookup`);
        }
        expect(seen).toEqual(ref.block);
        expect(states).toEqual(ref.state);
        let prevEnd = -1;
        let prev: [number, number, number, number] | null = null;
        let mapped = 0;
        m.forEach(0, Infinity, (page, count, block, state) => {
          expect(page).toBeGreaterThanOrEqual(prevEnd);
          for (let i = 0; i < count; i++) if (ref.block[page + i] !== block + i) throw new Error(`forEach page ${page + i}`);
          // Maximal: a neighbour that continues this extent would have been merged.
          if (prev !== null) expect(prev[0] + prev[1] === page && prev[2] + prev[1] === block && prev[3] === state).toBe(false);
          prev = [page, count, block, state];
          prevEnd = page + count;
          mapped += count;
        });
        expect(mapped).toBe(m.mappedPages());
        let extents = 0;
        m.forEach(0, Infinity, () => extents++);
        expect(m.length).toBe(extents);
        expect(m.end).toBe(prevEnd < 0 ? 0 : prevEnd);
        expect(mapped).toBe(ref.block.filter((b) => b >= 0).length);
      }),
      { numRuns: 300 },
    );
  }, 60_000);
});

describe('ExtentMap at scale', () => {
  it('a file copied on write block by block, then cut and punched, keeps the reference map across chunk splits and joins', () => {
    const pages = 20_000;
    const m = new ExtentMap(8);
    const block = new Int32Array(pages).fill(-1);
    m.set(0, pages, 1_000_000, 0);
    for (let p = 0; p < pages; p++) block[p] = 1_000_000 + p;
    let x = 7;
    const next = (n: number): number => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) % n;
    let fresh = 0;
    const apply = (page: number, count: number, b: number): void => {
      m.set(page, count, b, 2);
      for (let i = 0; i < count && page + i < pages; i++) block[page + i] = b === NO_BLOCK ? -1 : b + i;
    };
    for (let k = 0; k < 30_000; k++) {
      const r = next(100);
      if (r < 90) apply(next(pages), 1, fresh++);
      else if (r < 98) apply(next(pages), 1 + next(64), (fresh += 64) - 64);
      else apply(next(pages), 1 + next(2_000), NO_BLOCK);
    }
    for (let p = 0; p < pages; p++) if ((m.blockAt(p) === NO_BLOCK ? -1 : m.blockAt(p)) !== block[p]) throw new Error(`page ${p}`);
    let extents = 0;
    let mapped = 0;
    m.forEach(0, Infinity, (_p, count) => {
      extents++;
      mapped += count;
    });
    expect(m.length).toBe(extents);
    expect(mapped).toBe(block.filter((b) => b >= 0).length);
    // Committed, the whole file at once: extents that now continue each other merge, across chunks too.
    m.clearState(2, 0, pages);
    let runs = 0;
    for (let p = 0; p < pages; p++) if (block[p] !== -1 && (p === 0 || block[p - 1] !== (block[p] as number) - 1)) runs++;
    let merged = 0;
    m.forEach(0, Infinity, (_p, _count, _block, state) => {
      merged++;
      expect(state).toBe(0);
    });
    expect(merged).toBe(runs);
    expect(m.length).toBe(runs);
    for (let p = 0; p < pages; p++) if ((m.blockAt(p) === NO_BLOCK ? -1 : m.blockAt(p)) !== block[p]) throw new Error(`page ${p} after the clear`);
    // Cut to nothing, page by page from the end: every chunk empties and goes.
    for (let p = pages - 1; p >= 0; p -= 97) m.set(p, pages, NO_BLOCK, 0);
    m.set(0, pages, NO_BLOCK, 0);
    expect(m.length).toBe(0);
    expect(m.end).toBe(0);
  });

  it('forEach over an empty or reversed range calls nothing', () => {
    const m = new ExtentMap(2);
    m.set(0, 10, 100, 0);
    m.set(20, 10, 300, 0);
    const seen: number[][] = [];
    for (const [from, to] of [[5, 5], [25, 25], [6, 3], [0, 0]] as const) m.forEach(from, to, (...a) => seen.push(a));
    expect(seen).toEqual([]);
    m.forEach(5, 6, (...a) => seen.push(a));
    expect(seen).toEqual([[5, 1, 105, 0]]);
  });
});
