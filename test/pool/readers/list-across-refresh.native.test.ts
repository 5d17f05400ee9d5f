import { expect, it } from 'vitest';
import { Pool } from '../../../lib';
import { poolPerTest } from './support';

// A reader's listing runs across its refreshes: a name the writer removed before the listing reaches it is
// passed over, whether the refresh followed the journal (the same name table, changed) or took a new snapshot
// after a checkpoint (another table).

const pool = poolPerTest({ size: 16 * 1024 * 1024 });

it.each([
  ['follows the journal', false],
  ['takes a new snapshot after a checkpoint', true],
])('a listing across a refresh that %s passes over a name unlinked before it reached it', (_what, checkpoint) => {
  let w = Pool.open(pool.path);
  for (let i = 0; i < 10; i++) w.open(`f${i}`, { create: true }).close();
  // A clean close checkpoints: the reader's table has the names from the trees, none given since.
  w.closeSync();
  const r = Pool.open(pool.path, { readonly: true });
  w = Pool.open(pool.path);
  try {
    const listing = r.list();
    expect(listing.next().value).toBe('f0');
    w.unlink('f5');
    if (checkpoint) {
      w.closeSync();
      w = Pool.open(pool.path);
    }
    r.refresh();
    expect(r.exists('f5')).toBe(false);
    expect([...listing]).toEqual(['f1', 'f2', 'f3', 'f4', 'f6', 'f7', 'f8', 'f9']);
  } finally {
    r.closeSync();
    w.closeSync();
  }
});
