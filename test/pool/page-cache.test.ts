import { describe, expect, it } from 'vitest';
import { PageCache } from '../../lib/pool/meta/page-cache';

const page = (n: number): Buffer => Buffer.from([n]);

describe('PageCache: the least recently used page goes first, each step O(1)', () => {
  it('keeps at most its capacity, dropping the least recently used (a get counts as a use)', () => {
    const c = new PageCache(3);
    for (const b of [10, 11, 12]) c.put(b, page(b));
    expect(c.get(10)?.[0]).toBe(10);
    c.put(13, page(13));
    expect(c.size).toBe(3);
    expect(c.get(11)).toBeUndefined();
    expect([10, 12, 13].map((b) => c.get(b)?.[0])).toEqual([10, 12, 13]);
  });

  it('hands the dropped page its buffer for the next read once full, and allocates before', () => {
    const c = new PageCache(2);
    const a = c.spare(4096);
    expect(a.length).toBe(4096);
    c.put(1, a);
    c.put(2, c.spare(4096));
    c.get(1);
    const reused = c.spare(4096);
    // Block 2 was the least recently used: its buffer comes back, and it is no longer cached.
    expect(c.get(2)).toBeUndefined();
    expect(c.get(1)).toBe(a);
    expect(reused).not.toBe(a);
    c.put(3, reused);
    expect(c.get(3)).toBe(reused);
  });

  it('delete and put again of a cached block; a model over a long random history', () => {
    const c = new PageCache(16);
    const model: number[] = [];
    let seed = 3;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return Math.floor(seed / 65536) % n;
    };
    for (let step = 0; step < 20_000; step++) {
      const b = rand(40);
      const op = rand(3);
      const at = model.indexOf(b);
      if (op === 0) {
        const got = c.get(b);
        expect(got === undefined, `get ${b}`).toBe(at < 0);
        if (at >= 0) {
          expect(got?.[0]).toBe(b);
          model.splice(at, 1);
          model.push(b);
        }
      } else if (op === 1) {
        c.put(b, page(b));
        if (at >= 0) model.splice(at, 1);
        model.push(b);
        if (model.length > 16) model.shift();
      } else {
        c.delete(b);
        if (at >= 0) model.splice(at, 1);
      }
      expect(c.size).toBe(model.length);
    }
  });
});
