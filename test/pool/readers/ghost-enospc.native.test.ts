import { expect, it } from 'vitest';
import { Pool } from '../../../lib';
import { poolPerTest } from './support';

const KiB = 1024;
const MiB = 1024 * KiB;
const pool = poolPerTest({ size: 16 * MiB, journalBytes: 64 * KiB });

it('with no reader at all, an overwrite of a file whose clone was unlinked needs no free block', async () => {
  const w = Pool.open(pool.path);
  const a = w.open('a', { create: true, sync: true });
  a.writeSync(Buffer.alloc(256 * KiB, 0xa1), 0);
  const b = w.open('b', { create: true, sync: true });
  await a.clone(b, 0, 0, 256 * KiB);
  b.close();
  const fill = w.open('fill', { create: true, sync: true });
  try {
    for (;;) fill.appendSync(Buffer.alloc(4 * KiB, 0x99));
  } catch (e) {
    expect((e as { code?: string }).code).toBe('ENOSPC');
  }
  w.unlink('b'); // refcount 2 -> 1, frees nothing: 'a' alone owns its blocks, and no reader exists
  let err: unknown = null;
  try {
    a.writeSync(Buffer.alloc(256 * KiB, 0xa2), 0); // an overwrite in place: no block needed
  } catch (e) {
    err = e;
  }
  a.close();
  fill.close();
  w.closeSync();
  expect(err).toBeNull();
});
