import { describe, expect, it } from 'vitest';
import { BlockSet } from '../../lib/pool/meta/block-set';
import { rng } from '../support/rng';

describe('BlockSet (lib/pool/meta/block-set.ts)', () => {
  it('answers as a Set of the same blocks, across chunks and up to block 2^32 - 1, and makes chunks only where blocks are', () => {
    const set = new BlockSet();
    const model = new Set<number>();
    const next = rng(5);
    const pick = (): number => (next() < 0.1 ? 2 ** 32 - 1 - Math.floor(next() * 64) : Math.floor(next() * 100_000));
    for (let i = 0; i < 20_000; i++) {
      const b = pick();
      if (next() < 0.4) {
        set.delete(b);
        model.delete(b);
      } else {
        set.add(b);
        model.add(b);
      }
      const probe = pick();
      expect(set.has(probe)).toBe(model.has(probe));
    }
    for (const b of model) expect(set.has(b)).toBe(true);
    // 100,000 blocks span 25 chunks of 4,096 blocks; the top of the range one more.
    expect(set.bytes).toBeLessThanOrEqual(26 * 516);
    // A chunk goes when its last block does.
    for (const b of model) set.delete(b);
    expect(set.bytes).toBe(0);
  });
});
