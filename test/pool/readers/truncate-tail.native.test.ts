import { afterEach, beforeEach, expect, it } from 'vitest';
import { Pool } from '../../../lib';
import { scratchDir } from '../../support/scratch';

// From the review of online backup: a truncate to a size inside a block zeroes the rest of that block in
// place, bytes a reader's snapshot (or a backup's) still shows inside the old size. With a claim held the
// block is copied on write; with none it is zeroed in place as before.

const KiB = 1024;
const MiB = 1024 * KiB;
const OLD = 4 * MiB + 10_000;
const NEW = 4 * MiB + 5_000;
let s: ReturnType<typeof scratchDir>;
let path: string;
beforeEach(() => {
  s = scratchDir('/dev/shm');
  path = s.file('pool');
  const w = Pool.create(path, { size: 64 * MiB });
  const f = w.open('t', { create: true, sync: true });
  f.writeSync(Buffer.alloc(OLD, 0xaa), 0);
  f.close();
  w.closeSync();
});
afterEach(() => s.cleanup());

function lastBlock(p: Pool): number {
  const f = p.open('t', { readonly: true });
  try {
    const e = f.fiemap(NEW - 1, 1)[0];
    return (e?.physical ?? -1) + (NEW - 1 - (e?.logical ?? 0)) - ((NEW - 1) % 4096);
  } finally {
    f.close();
  }
}

it('a reader keeps its snapshot of a file the writer truncates inside a block, then appends to', async () => {
  const w = Pool.open(path);
  const r = Pool.open(path, { readonly: true });
  try {
    const before = lastBlock(w);
    const f = w.open('t', { sync: true });
    await f.truncate(NEW);
    f.appendSync(Buffer.alloc(5_000, 0xbb));
    f.close();
    expect(lastBlock(w)).not.toBe(before);
    const got = Buffer.alloc(OLD);
    const rf = r.open('t', { readonly: true });
    expect(rf.readSync(got, 0)).toBe(OLD);
    rf.close();
    expect(got.equals(Buffer.alloc(OLD, 0xaa))).toBe(true);
    r.refresh();
    const now = Buffer.alloc(OLD);
    const nf = r.open('t', { readonly: true });
    nf.readSync(now, 0);
    nf.close();
    expect(now.subarray(0, NEW).equals(Buffer.alloc(NEW, 0xaa))).toBe(true);
    expect(now.subarray(NEW).equals(Buffer.alloc(5_000, 0xbb))).toBe(true);
  } finally {
    r.closeSync();
    w.closeSync();
  }
  expect(Pool.check(path).problems).toEqual([]);
});

it('with no reader the truncate zeroes the block in place (no copy)', async () => {
  const w = Pool.open(path);
  try {
    const before = lastBlock(w);
    const f = w.open('t', { sync: true });
    await f.truncate(NEW);
    f.close();
    expect(lastBlock(w)).toBe(before);
  } finally {
    w.closeSync();
  }
});
