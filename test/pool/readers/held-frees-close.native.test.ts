import { expect, it } from 'vitest';
import { Pool } from '../../../lib';
import { poolPerTest } from './support';

const MiB = 1024 * 1024;
const pool = poolPerTest({ size: 32 * MiB });

it('frees a writer held back for a reader become free on the media at the next writer’s close, though it changed nothing', () => {
  const w = Pool.open(pool.path);
  const f = w.open('x', { create: true });
  f.writeSync(Buffer.alloc(MiB, 1), 0);
  f.fsyncSync();
  const r = Pool.open(pool.path, { readonly: true });
  // Each overwrite copies on write beside the reader; the old blocks wait for it.
  for (let i = 0; i < 5; i++) f.writeSync(Buffer.alloc(MiB, i), 0);
  void f.close();
  w.closeSync();
  r.closeSync();
  const w2 = Pool.open(pool.path);
  const free = w2.statfs().freeBlocks;
  w2.closeSync();
  const look = Pool.open(pool.path, { readonly: true });
  expect(look.statfs().freeBlocks).toBe(free);
  look.closeSync();
  expect(Pool.check(pool.path).problems).toEqual([]);
});
