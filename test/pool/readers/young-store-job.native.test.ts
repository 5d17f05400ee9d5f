import { expect, it } from 'vitest';
import { Pool } from '../../../lib';
import { poolPerTest } from './support';

// A block allocated since the last commit is written in place whatever the in-place gate says: no record
// names it yet (docs/design.md, "Data written in place"). While readers make the writer copy, a promise write
// over such a block stores on the thread rather than by a store job: a synchronous commit made before the job
// landed would name the block, and a reader let in then would see the job's bytes arrive under its snapshot.

const pool = poolPerTest({ size: 64 * 1024 * 1024 });

it('a promise overwrite of a block appended since the last commit, then a sync commit: the reader let in after it sees its bytes hold still', async () => {
  const w = Pool.open(pool.path);
  const r = Pool.open(pool.path, { readonly: true });
  try {
    const f = w.open('f', { create: true });
    const g = w.open('g', { create: true });
    f.writeSync(Buffer.alloc(8192, 0x11), 0);
    g.writeSync(Buffer.alloc(8192, 0x22), 0);
    f.fsyncSync();
    // A store job in flight (g's new blocks), so that stores handed over after it wait for it.
    const pg = g.write(Buffer.alloc(65536, 0x33), 8192);
    // Block B: appended, young (no commit since); then a promise overwrite of it, and a synchronous commit.
    f.appendSync(Buffer.alloc(4096, 0xaa));
    const pf = f.write(Buffer.alloc(4096, 0xbb), 8192);
    for (let i = 0; i < 20; i++) await null;
    f.fsyncSync();
    r.refresh();
    const rf = r.open('f', { readonly: true });
    const first = Buffer.alloc(4096);
    rf.readSync(first, 8192);
    await Promise.all([pf, pg]);
    const again = Buffer.alloc(4096);
    rf.readSync(again, 8192);
    expect(again.equals(first), 'the snapshot held still').toBe(true);
    expect([0xaa, 0xbb]).toContain(first[0]);
    expect(first.every((x) => x === first[0]), 'whole').toBe(true);
    await rf.close();
    await f.close();
    await g.close();
  } finally {
    r.closeSync();
    w.closeSync();
  }
  // The writer's last state has the promise write.
  const p = Pool.open(pool.path, { readonly: true });
  try {
    const b = Buffer.alloc(4096);
    p.open('f', { readonly: true }).readSync(b, 8192);
    expect(b.every((x) => x === 0xbb)).toBe(true);
  } finally {
    p.closeSync();
  }
});
