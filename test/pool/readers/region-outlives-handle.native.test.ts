import { expect, it } from 'vitest';
import { Pool } from '../../../lib';
import { poolPerTest } from './support';

const KiB = 1024;
const MiB = 1024 * KiB;
// The refresh below follows the journal (no checkpoint): one core, one inode, one DAX file for both handles.
const pool = poolPerTest({ size: 16 * MiB, journalBytes: 1 * MiB });

it('a reader’s region made through a handle that closed never shows another file’s bytes', async () => {
  const w = Pool.open(pool.path);
  const f = w.open('m', { create: true, sync: true });
  f.writeSync(Buffer.alloc(256 * KiB, 0x77), 0);
  const r = Pool.open(pool.path, { readonly: true });
  const h1 = r.open('m', { readonly: true }); // claim at p1
  const region = h1.mmap({ length: 256 * KiB, write: false });
  await region.populate(undefined, 'read');
  await f.truncate(0); // the blocks region maps are freed at p1 < c
  f.writeSync(Buffer.alloc(256 * KiB, 0x11), 0);
  f.close();
  r.refresh(); // within the epoch: the reader's point p2 >= c
  const h2 = r.open('m', { readonly: true }); // claim at p2; the inode stays open, so the region stays mapped
  await h1.close(); // drops the claim at p1: nothing holds what the region maps
  const g = w.open('secret', { create: true, sync: true });
  try {
    for (;;) g.appendSync(Buffer.alloc(64 * KiB, 0x5e));
  } catch (e) {
    expect((e as { code?: string }).code).toBe('ENOSPC');
  }
  g.close();
  const foreign = region.bytes.filter((x) => x === 0x5e).length;
  region.unmap();
  await h2.close();
  r.closeSync();
  w.closeSync();
  expect(foreign).toBe(0);
});
