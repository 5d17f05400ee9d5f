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

it('statfs counts the frees waiting for readers, and an ENOSPC they cause says so; a file a reader keeps open holds them as its snapshot does', async () => {
  const w = Pool.open(pool.path);
  w.open('kept', { create: true }).writeSync(Buffer.from('kept'), 0);
  const f = w.open('big', { create: true });
  f.writeSync(Buffer.alloc(MiB, 1), 0);
  f.fsyncSync();
  const r = Pool.open(pool.path, { readonly: true });
  const g = r.open('kept', { readonly: true });
  expect(w.statfs().heldForReaders).toBe(0);
  let error: unknown = null;
  try {
    for (let i = 0; i < 64; i++) {
      f.writeSync(Buffer.alloc(MiB, i), 0);
      // The reader moves on, but its open file keeps the snapshot it was opened on.
      r.refresh();
      expect(w.statfs().heldForReaders).toBeGreaterThanOrEqual(256);
    }
  } catch (e) {
    error = e;
  }
  expect(error).toMatchObject({ code: 'ENOSPC', message: expect.stringMatching(/freed blocks wait for readers/) });
  await g.close();
  r.refresh();
  expect(w.statfs().heldForReaders).toBe(0);
  f.writeSync(Buffer.alloc(MiB, 7), 0);
  expect(r.statfs().heldForReaders).toBe(0);
  r.closeSync();
  await f.close();
  w.closeSync();
});
