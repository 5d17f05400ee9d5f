import { setBits, wordMask } from './alloc';
import { ExtentState } from './extent-map';
import { FILE_SIZE_MAX, dataEnd, dataStart, type Superblock } from './layout';
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
 * Sorts out the names the load indexed twice: a name held twice opens the inode with the lower number.
 * Cost: a few word operations per extent plus a pass over the bitmap's words, so every open can afford it.
 */
export function auditState(s: PoolState): CheckProblem[] {
  return collect((add) => {
    auditNames(s, add);
    auditCounters(s, add);
    auditBlocks(s, add);
  });
}

/**
 * The part of `auditState` an open that read no inode can do (a clean pool: the rest held when its last
 * checkpoint was written, and `check` verifies it on the media): counters, and the fixed metadata used.
 */
export function auditClean(s: PoolState): CheckProblem[] {
  return collect((add) => {
    auditCounters(s, add);
    auditMetadataUsed(s.sb, s.alloc.bitmap, null, add);
  });
}

function collect(run: (add: Add) => void): CheckProblem[] {
  const problems: CheckProblem[] = [];
  run((what, where, message) => {
    problems.push({ what, where, message });
  });
  return problems;
}

export type Add = (what: string, where: string, message: string) => void;

function describe(inode: PoolInode): string {
  return `inode ${inode.ino} ('${inode.name ?? '(orphan)'}')`;
}

function auditNames(s: PoolState, add: Add): void {
  // The load indexed every name as it came (the first inode given a name holds it): only the names held
  // twice, found by one lookup per inode, are sorted out, each to its lowest-numbered inode.
  const held = new Map<string, PoolInode[]>();
  for (const inode of s.inodes.values()) {
    if (inode.name === null) continue;
    const holder = s.names.get(inode.name);
    if (holder === inode) continue;
    if (holder === undefined || holder.name !== inode.name) {
      s.names.set(inode.name, inode);
      continue;
    }
    const all = held.get(inode.name);
    if (all === undefined) held.set(inode.name, [holder, inode]);
    else all.push(inode);
  }
  const twice = [...held.values()].flatMap((all) => {
    all.sort((a, b) => a.ino - b.ino);
    const first = all[0] as PoolInode;
    s.names.set(first.name as string, first);
    return all.slice(1).map((inode) => [first, inode] as const);
  });
  for (const [first, inode] of twice.sort((a, b) => a[1].ino - b[1].ino)) {
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

/** The first block of `[b, b+n)` whose bit in `bits` is `value` (1 or 0), or -1. Word at a time. */
export function firstBit(bits: Uint32Array, b: number, n: number, value: 0 | 1): number {
  for (let i = b, end = b + n; i < end; i += 32 - (i & 31)) {
    const word = bits[i >>> 5] as number;
    const hits = ((value === 1 ? word : ~word) & wordMask(i, end)) >>> 0;
    if (hits !== 0) return i - (i & 31) + (31 - Math.clz32(hits & -hits));
  }
  return -1;
}

function isSet(bits: Uint32Array, b: number): boolean {
  return ((bits[b >>> 5] as number) & (1 << (b & 31))) !== 0;
}

/**
 * The metadata blocks are used in `bitmap`: superblocks, journal and bitmap copies by the layout of `sb`,
 * tree pages as `meta` has them (null: not known, on a pool made in this process).
 */
export function auditMetadataUsed(sb: Superblock, bitmap: Uint32Array, meta: Uint32Array | null, add: Add): void {
  const lo = dataStart(sb);
  const hi = dataEnd(sb);
  const metaRuns: number[] = [0, lo, hi, sb.blocks - hi, sb.bitmapAt[0], sb.bitmapBlocks, sb.bitmapAt[1], sb.bitmapBlocks];
  for (let i = 0; i < metaRuns.length; i += 2) {
    const b = firstBit(bitmap, metaRuns[i] as number, metaRuns[i + 1] as number, 0);
    if (b >= 0) add('metadata free', `block ${b}`, 'a metadata block is free in the bitmap: it could be handed to a file');
  }
  for (let w = 0; meta !== null && w < meta.length; w++) {
    const free = (meta[w] as number) & ~(bitmap[w] as number);
    if (free !== 0) add('metadata free', `block ${w * 32 + 31 - Math.clz32(free & -free)}`, 'a metadata tree page is free in the bitmap: it could be handed to a file');
  }
}

/**
 * References are counted with bitmaps, a word at a time: only blocks with a reference count entry,
 * or mapped a second time, are counted one by one (in a sound pool, the shared blocks).
 */
function auditBlocks(s: PoolState, add: Add): void {
  const a = s.alloc;
  auditMetadataUsed(s.sb, a.bitmap, s.metaBlocks, add);
  const words = a.bitmap.length;
  const seen = new Uint32Array(words);
  const unwritten = new Uint32Array(words);
  const sharedBits = new Uint32Array(words);
  for (const b of a.shared.keys()) sharedBits[b >>> 5] = (sharedBits[b >>> 5] as number) | (1 << (b & 31));
  const counts = new Map<number, number>();
  for (const inode of s.inodes.values()) {
    inode.extents.forEach(0, Infinity, (page, count, block, state) => {
      const free = firstBit(a.bitmap, block, count, 0);
      if (free >= 0) add('free and used', `${describe(inode)} page ${page + free - block}`, `block ${free} is mapped but free in the bitmap`);
      const again = firstBit(seen, block, count, 1) >= 0;
      if (again || (a.shared.size > 0 && firstBit(sharedBits, block, count, 1) >= 0)) {
        for (let b = block; b < block + count; b++) {
          const before = isSet(seen, b);
          if (before || isSet(sharedBits, b)) counts.set(b, (counts.get(b) ?? (before ? 1 : 0)) + 1);
        }
      }
      if (state & ExtentState.UNWRITTEN) setBits(unwritten, block, count);
      setBits(seen, block, count);
    });
  }
  // Only for a problem being reported: a walk over every extent.
  const ownersOf = (b: number): string => {
    const found: string[] = [];
    for (const inode of s.inodes.values()) {
      inode.extents.forEach(0, Infinity, (page, count, block) => {
        if (b >= block && b < block + count) found.push(`${describe(inode)} page ${page + b - block}`);
      });
    }
    return found.join(', ');
  };
  let reported = 0;
  for (const [b, n] of counts) {
    if (reported >= MAX_REPORTED) break;
    const refs = a.shared.get(b) ?? 1;
    if (n !== refs) {
      add('refcount', `block ${b}`, `mapped ${n} time${n === 1 ? '' : 's'} (by ${ownersOf(b)}) but its reference count is ${refs}`);
      reported++;
    }
    if (n > 1 && isSet(unwritten, b)) {
      add('shared unwritten', `block ${b}`, `an unwritten block is mapped ${n} times, by ${ownersOf(b)}`);
      reported++;
    }
  }
  for (const [b, refs] of a.shared) {
    if (reported >= MAX_REPORTED) break;
    if (counts.has(b)) continue;
    add('refcount', `block ${b}`, `reference count ${refs} but mapped by no file`);
    reported++;
  }
}
