import { setBits } from './alloc';
import type { Claims, CommitPoint } from './claims';
import { DeferredFrees } from './deferred-frees';
import type { Journal } from './journal';
import { dataEnd, dataStart } from './layout';
import type { PoolState } from './state';

/**
 * A writer's open starts deferring frees for readers (docs/design.md, "Live readers"): from now on a free
 * waits until no reader's snapshot reaches it, tagged with the journal's newest commit. Null `claims`: a
 * device no other open can read beside this one, where a free is free at once.
 */
export function deferFrees(s: PoolState, journal: Journal, claims: Claims | null): void {
  const now = (): CommitPoint => ({ epoch: journal.epoch, seq: journal.seq });
  s.alloc.later = claims === null ? null : new DeferredFrees(claims, now);
  s.alloc.ghostsLater = claims === null ? null : new DeferredFrees(claims, now);
}

/**
 * After a load for writing (whole, or lazy with a replay), before the free counts are made: hold back for readers what this open's
 * replay freed and no later record took again (collected in `alloc.replayFrees` when readers held claims at
 * the load), and, when the superblock records frees the last writer held back (`deferredBlocks`), find them
 * -- used in the bitmap, mapped by no file, no metadata -- and hold them back too, or free them on a device
 * without claims. Call `deferFrees` first.
 */
export function holdLoadedFrees(s: PoolState): void {
  const a = s.alloc;
  const lo = dataStart(s.sb);
  const hi = dataEnd(s.sb);
  const held: number[] = [];
  const replayed = a.replayFrees;
  a.replayFrees = null;
  if (replayed !== null && replayed.length > 0 && a.later !== null) {
    const freed = new Uint32Array(a.bitmap.length);
    for (let i = 0; i < replayed.length; i += 2) setBits(freed, replayed[i] as number, replayed[i + 1] as number);
    forRuns(lo, hi, (w) => (freed[w] as number) & ~(a.bitmap[w] as number), (b, n) => held.push(b, n));
  }
  if (s.sb.deferredBlocks > 0) {
    const mapped = new Uint32Array(a.bitmap.length);
    for (const inode of s.inodes.values()) inode.extents.forEach(0, Infinity, (_page, count, block) => setBits(mapped, block, count));
    const meta = s.metaBlocks;
    forRuns(lo, hi, (w) => (a.bitmap[w] as number) & ~(mapped[w] as number) & ~(meta === null ? 0 : (meta[w] as number)), (b, n) => held.push(b, n));
  }
  for (let i = 0; i < held.length; i += 2) {
    const b = held[i] as number;
    const n = held[i + 1] as number;
    if (a.later === null) setBits(a.bitmap, b, n, false);
    else {
      setBits(a.bitmap, b, n);
      a.later.push(b, n);
    }
  }
}

/** The runs of set bits of `word(w)` over blocks [lo, hi), in order, to `run`. */
function forRuns(lo: number, hi: number, word: (w: number) => number, run: (b: number, n: number) => void): void {
  let start = -1;
  for (let b = lo; b < hi; ) {
    const w = b >>> 5;
    const bits = word(w) >>> 0;
    // Whole words at once where they are all clear or all set.
    if ((b & 31) === 0 && b + 32 <= hi && (bits === 0 || bits === 0xffffffff)) {
      if (bits === 0 && start >= 0) {
        run(start, b - start);
        start = -1;
      } else if (bits !== 0 && start < 0) start = b;
      b += 32;
      continue;
    }
    const on = (bits & (1 << (b & 31))) !== 0;
    if (on && start < 0) start = b;
    else if (!on && start >= 0) {
      run(start, b - start);
      start = -1;
    }
    b++;
  }
  if (start >= 0) run(start, hi - start);
}
