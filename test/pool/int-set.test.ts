import { describe, expect, it } from 'vitest';
import { IntSet } from '../../lib/pool/int-set';
import { rng } from '../support/rng';

describe('IntSet', () => {
  it('holds what a Set holds, through growth and clears, for values across 32 bits', () => {
    const random = rng(7);
    const s = new IntSet();
    let model = new Set<number>();
    for (let step = 0; step < 200_000; step++) {
      const x = random();
      // Small values (inode numbers), and any up to 2^32 - 2 (hashes and the largest inode).
      const v = x < 0.5 ? Math.floor(random() * 5000) : Math.floor(random() * 0xffffffff);
      if (x < 0.0001) {
        s.clear();
        model = new Set();
      } else if (x < 0.7) {
        s.add(v);
        model.add(v);
      } else {
        expect(s.has(v)).toBe(model.has(v));
      }
      if (step % 10_000 === 0) expect(s.size).toBe(model.size);
    }
    for (const v of model) expect(s.has(v)).toBe(true);
    expect(s.size).toBe(model.size);
  });

  it('the largest value, 0 and neighbours of the empty mark', () => {
    const s = new IntSet();
    for (const v of [0, 1, 0xfffffffe, 0x7fffffff, 0x80000000]) s.add(v);
    for (const v of [0, 1, 0xfffffffe, 0x7fffffff, 0x80000000]) expect(s.has(v)).toBe(true);
    expect(s.has(2)).toBe(false);
    expect(s.size).toBe(5);
    s.add(0);
    expect(s.size).toBe(5);
    s.clear();
    expect(s.has(0)).toBe(false);
    expect(s.size).toBe(0);
  });
});
