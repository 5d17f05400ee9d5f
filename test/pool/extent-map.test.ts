import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ExtentMap, type PageLookup } from '../../lib/pool/extent-map';
import { NO_BLOCK } from '../../lib/pool/layout';

const PAGES = 64;

/** Page-by-page reference: block and state of each page (-1 for a hole). */
function reference(ops: [number, number, number, number][]): { block: number[]; state: number[] } {
  const block = new Array<number>(PAGES + 16).fill(-1);
  const state = new Array<number>(PAGES + 16).fill(0);
  for (const [page, count, b, st] of ops) {
    for (let i = 0; i < count; i++) {
      block[page + i] = b === NO_BLOCK ? -1 : b + i;
      state[page + i] = b === NO_BLOCK ? 0 : st;
    }
  }
  return { block, state };
}

const op = fc.tuple(fc.integer({ min: 0, max: PAGES - 1 }), fc.integer({ min: 1, max: 16 }), fc.oneof(fc.constant(NO_BLOCK), fc.integer({ min: 0, max: 200 })), fc.integer({ min: 0, max: 3 }));

describe('ExtentMap against a page-by-page reference', () => {
  it('lookup, blockAt and forEach agree with the reference after any sequence of set; extents stay sorted, disjoint and maximal', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const m = new ExtentMap();
        for (const [page, count, b, st] of ops) m.set(page, count, b, st);
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
        expect(mapped).toBe(ref.block.filter((b) => b >= 0).length);
      }),
      { numRuns: 300 },
    );
  }, 60_000);
});
