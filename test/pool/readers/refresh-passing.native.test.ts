import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { Pool, type PoolFile } from '../../../lib';
import { Prng, seedFrom } from '../../dax/support/prng';
import { poolPerTest } from './support';

// A reader's refresh applies the records written since its snapshot, and skips the files those records both
// make and remove (docs/design.md, "Live readers"): whatever the writer does between two refreshes, the
// refreshed reader must show exactly what a reader opened at that moment shows.

const KiB = 1024;
const SEED = seedFrom('PMEMDAX_PASSING_SEED');

/** What a reader shows: every name with its stat, contents and the pool's counts. */
function view(p: Pool): unknown {
  const names = [...p.list()];
  const files = names.map((name) => {
    const f = p.open(name, { readonly: true });
    try {
      const b = Buffer.alloc(f.stat().size);
      f.readSync(b, 0);
      return { ...p.stat(name), sha: createHash('sha256').update(b).digest('hex') };
    } finally {
      f.close();
    }
  });
  const { freeBlocks, files: count, heldForReaders: _held, ...fs } = p.statfs();
  return { files, freeBlocks, count, fs };
}

describe("a reader's refresh over files made and removed between two refreshes", () => {
  const pool = poolPerTest({ size: 64 * 1024 * KiB, journalBytes: 256 * KiB });
  const open: Pool[] = [];
  afterEach(() => {
    for (const p of open.splice(0)) p.closeSync();
  });

  it.each([1, 2, 3])('round %i: the refreshed reader equals a reader opened now, at every step', async (round) => {
    const rng = new Prng(SEED + round);
    const w = Pool.open(pool.path);
    open.push(w);
    const r = Pool.open(pool.path, { readonly: true });
    open.push(r);
    let next = 0;
    const live: string[] = [];
    // Writer handles kept open: a file unlinked while open lives on, nameless, until its handle closes.
    const held: PoolFile[] = [];
    // A reader handle across refreshes: it follows its file within an epoch, keeps its snapshot across one.
    let kept: PoolFile | null = null;
    const data = (n: number): Buffer => Buffer.from(rng.bytes(n));
    for (let step = 0; step < 40; step++) {
      const ops = rng.pick([1, 3, 20, 200]);
      for (let k = 0; k < ops; k++) {
        const choice = rng.int(11);
        if (choice < 4 || live.length === 0) {
          const name = rng.int(3) === 0 && live.length > 0 ? rng.pick(live) : `f${next++}`;
          const f = w.open(name, { create: true, sync: true });
          f.writeSync(data(1 + rng.int(9000)), rng.int(3) * 4096);
          if (rng.int(8) === 0) held.push(f);
          else f.close();
          if (!live.includes(name)) live.push(name);
        } else if (choice < 7) {
          const name = live.splice(rng.int(live.length), 1)[0] as string;
          w.unlink(name);
        } else if (choice < 8) {
          const from = rng.pick(live);
          const to = rng.int(2) === 0 ? rng.pick(live) : `f${next++}`;
          w.rename(from, to);
          live.splice(live.indexOf(from), 1);
          if (!live.includes(to)) live.push(to);
        } else if (choice < 9) {
          const f = w.open(rng.pick(live), { sync: true });
          await f.truncate(rng.int(12000));
          f.close();
        } else if (choice < 10) {
          held.splice(rng.int(held.length + 1), 1)[0]?.close();
        } else {
          // Shared blocks: their counts are records of their own, and the pool's reserve counts them.
          const [from, to] = [rng.pick(live), rng.pick(live)];
          if (from === to) continue;
          const src = w.open(from, { sync: true });
          const dst = w.open(to, { sync: true });
          const bytes = Math.floor(src.stat().size / 4096) * 4096;
          if (bytes > 0) await src.clone(dst, 0, 0, bytes);
          src.close();
          dst.close();
        }
      }
      w.sync();
      const seen = [...r.list()];
      if (kept === null && seen.length > 0 && rng.int(4) === 0) kept = r.open(rng.pick(seen), { readonly: true });
      else if (kept !== null && rng.int(4) === 0) {
        kept.close();
        kept = null;
      }
      r.refresh();
      const fresh = Pool.open(pool.path, { readonly: true });
      try {
        expect(view(r), `seed ${SEED + round}, step ${step}`).toEqual(view(fresh));
      } finally {
        fresh.closeSync();
      }
    }
    kept?.close();
    for (const f of held) f.close();
    const after = Pool.check(pool.path);
    expect(after.ok, JSON.stringify(after.problems)).toBe(true);
  });
});
