import { ExtentState } from './extent-map';
import { FILE_SIZE_MAX, dataEnd, dataStart } from './layout';
import type { PoolInode } from './inode';
import type { PoolState } from './state';
import type { CheckProblem } from './types';

/** Inode numbers are 32-bit and 0 is none: `nextIno` must stay in 1..2^32 - 1 for the checkpoint to record it. */
const INO_LIMIT = 0xffffffff;
/** Reference problems reported before the audit stops looking for more (a badly damaged pool has many). */
const MAX_REPORTED = 100;

/**
 * auditState -- the invariants writing relies on, over a pool just loaded (checkpoint and journal):
 * names unique, counters that can still grow, sizes in range, every referenced block used in the
 * bitmap, every metadata block used, reference counts equal to the references, no shared unwritten
 * block. A pool that breaks one can still be read, but writing to it could hand a block that is in
 * use (by metadata or another file) to a file, so the caller refuses to open it for writing.
 * Rebuilds `s.names` from the inodes: a name held twice opens the inode with the lower number.
 * Cost: a sort of all extents plus a pass over the bitmap's words, so every open can afford it.
 */
export function auditState(s: PoolState): CheckProblem[] {
  const problems: CheckProblem[] = [];
  const add = (what: string, where: string, message: string): void => {
    problems.push({ what, where, message });
  };
  auditNames(s, add);
  auditCounters(s, add);
  auditBlocks(s, add);
  return problems;
}

type Add = (what: string, where: string, message: string) => void;

function describe(inode: PoolInode): string {
  return `inode ${inode.ino} ('${inode.name ?? '(orphan)'}')`;
}

function auditNames(s: PoolState, add: Add): void {
  s.names.clear();
  const inodes = [...s.inodes.values()].sort((a, b) => a.ino - b.ino);
  for (const inode of inodes) {
    if (inode.name === null) continue;
    const first = s.names.get(inode.name);
    if (first === undefined) {
      s.names.set(inode.name, inode);
      continue;
    }
    add('duplicate name', `name '${inode.name}'`, `inodes ${first.ino} and ${inode.ino} are both named '${inode.name}' (the name opens inode ${first.ino})`);
  }
}

function auditCounters(s: PoolState, add: Add): void {
  if (!Number.isSafeInteger(s.sb.epoch + 1)) add('counter', 'superblock', `checkpoint epoch ${s.sb.epoch} cannot be incremented`);
  if (s.nextIno < 1 || s.nextIno > INO_LIMIT) add('counter', 'checkpoint', `next inode number ${s.nextIno} is outside 1..${INO_LIMIT}`);
  for (const inode of s.inodes.values()) {
    if (!Number.isSafeInteger(inode.size) || inode.size < 0 || inode.size > FILE_SIZE_MAX) {
      add('size', describe(inode), `size ${inode.size} is out of range (at most ${FILE_SIZE_MAX})`);
    }
  }
}

/** The first block of `[b, b+n)` that is clear in `bitmap`, or -1. Word at a time. */
export function firstClear(bitmap: Uint32Array, b: number, n: number): number {
  for (let i = b, end = b + n; i < end; ) {
    const bit = i & 31;
    const take = Math.min(32 - bit, end - i);
    const mask = take === 32 ? 0xffffffff : ((1 << take) - 1) << bit;
    const missing = (~(bitmap[i >>> 5] as number) & mask) >>> 0;
    if (missing !== 0) return (i & ~31) + (31 - Math.clz32(missing & -missing));
    i += take;
  }
  return -1;
}

function auditBlocks(s: PoolState, add: Add): void {
  const sb = s.sb;
  const a = s.alloc;
  const lo = dataStart(sb);
  const hi = dataEnd(sb);
  const metaRuns: number[] = [0, lo, hi, sb.blocks - hi, ...sb.ckptRuns];
  for (let i = 0; i < metaRuns.length; i += 2) {
    const b = firstClear(a.bitmap, metaRuns[i] as number, metaRuns[i + 1] as number);
    if (b >= 0) add('metadata free', `block ${b}`, 'a metadata block is free in the bitmap: it could be handed to a file');
  }
  // Every extent as an interval of blocks; unwritten ones also in a list of their own.
  const owners: { inode: PoolInode; page: number; block: number; count: number }[] = [];
  const starts: number[] = [];
  const ends: number[] = [];
  const uStarts: number[] = [];
  const uEnds: number[] = [];
  for (const inode of s.inodes.values()) {
    inode.extents.forEach(0, Infinity, (page, count, block, state) => {
      owners.push({ inode, page, block, count });
      starts.push(block);
      ends.push(block + count);
      if (state & ExtentState.UNWRITTEN) {
        uStarts.push(block);
        uEnds.push(block + count);
      }
      const free = firstClear(a.bitmap, block, count);
      if (free >= 0) add('free and used', `${describe(inode)} page ${page + free - block}`, `block ${free} is mapped but free in the bitmap`);
    });
  }
  const sorted = (v: number[]): Float64Array => Float64Array.from(v).sort();
  const S = sorted(starts);
  const E = sorted(ends);
  const US = sorted(uStarts);
  const UE = sorted(uEnds);
  // Sweep the interval ends: between two of them, `c` extents (`cu` unwritten) cover every block.
  const segStart: number[] = [];
  const segEnd: number[] = [];
  const segCover: number[] = [];
  let reported = 0;
  const ownersOf = (b: number): string =>
    owners.filter((o) => b >= o.block && b < o.block + o.count).map((o) => `${describe(o.inode)} page ${o.page + b - o.block}`).join(', ');
  let i = 0;
  let j = 0;
  let ui = 0;
  let uj = 0;
  let c = 0;
  let cu = 0;
  let x = 0;
  while (j < E.length) {
    const next = Math.min(S[i] ?? Infinity, E[j] as number, US[ui] ?? Infinity, UE[uj] ?? Infinity);
    if (c > 0 && next > x) {
      segStart.push(x);
      segEnd.push(next);
      segCover.push(c);
      if (c > 1 && reported < MAX_REPORTED) {
        if (cu > 0) {
          add('shared unwritten', `blocks ${x}+${next - x}`, `unwritten blocks are mapped ${c} times, by ${ownersOf(x)}`);
          reported++;
        }
        for (let b = x; b < next; b++) {
          const refs = a.shared.get(b) ?? 1;
          if (refs === c) continue;
          add('refcount', `block ${b}`, `mapped ${c} times (by ${ownersOf(b)}) but its reference count is ${refs}`);
          reported++;
          break;
        }
      }
    }
    while (E[j] === next) (j++, c--);
    while (UE[uj] === next) (uj++, cu--);
    while (S[i] === next) (i++, c++);
    while (US[ui] === next) (ui++, cu++);
    x = next;
  }
  // Entries on blocks mapped at most once (the sweep compared the rest).
  for (const [b, refs] of a.shared) {
    if (reported >= MAX_REPORTED) break;
    const cover = coverAt(segStart, segEnd, segCover, b);
    if (cover > 1) continue;
    add('refcount', `block ${b}`, `reference count ${refs} but mapped ${cover} time${cover === 1 ? '' : 's'}`);
    reported++;
  }
}

/** How many extents cover block `b`, from the sweep's sorted, disjoint segments. */
function coverAt(starts: readonly number[], ends: readonly number[], cover: readonly number[], b: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (b < (starts[mid] as number)) hi = mid - 1;
    else if (b >= (ends[mid] as number)) lo = mid + 1;
    else return cover[mid] as number;
  }
  return 0;
}
