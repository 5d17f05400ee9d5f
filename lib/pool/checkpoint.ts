import type { DaxDevice } from '../device/types';
import { isErrnoError } from '../errors';
import { setBits } from './alloc';
import { firstBit } from './audit';
import { corrupt, doesNotDecode, poolError } from './errors';
import { BLOCK, NAME_MAX, dataEnd, dataStart, type Superblock } from './layout';
import { LEAF, keyLength, keyOf, keyOffset, valueOf } from './meta/page';
import { forEachPage } from './meta/trees';
import { INLINE_EXTENTS, decodeExtent, decodeInode, decodeU32 } from './meta/records';
import { nameFromBytes } from './names';
import { walkTree } from './meta/walk';
import type { PoolInode } from './inode';
import { RECENT_USES } from './inode-cache';
import type { PoolState } from './state';
import { addExtent } from './tree-inode';

/**
 * The checkpoint of format 2 (docs/format.md): four copy-on-write trees and a bitmap copy. Writing one
 * brings the trees up to date with the state in memory, stores their changed pages in free blocks and the
 * bitmap in the copy the committed checkpoint does not use, all durable; the caller then switches the
 * superblocks to what `writeCheckpoint` returns and calls `finishCheckpoint`, or `abandonCheckpoint` if the
 * switch never happened. Loading one reads the bitmap and walks every tree into the state.
 */

/** Changed inodes (that exist) above this share of all of them: the trees are written whole instead of changed one inode at a time. */
const REWRITE_SHARE = 0.5;

/**
 * Store a checkpoint of `s` (pending changes included) for epoch `epoch` of a pool laid out as `layout`,
 * and return the superblock that points at it. Nothing the committed checkpoint reaches is written.
 * ENOSPC when the free blocks cannot hold it (the reserve rule keeps them able to), with nothing changed.
 * `adjustBitmap`, when given, is handed the bitmap about to be written to the copy (its own array, over the
 * pool's blocks now) once the tree pages are durable, and returns the bitmap to write instead, over
 * `layout.blocks` blocks: metadata that changes with the switch but is not a tree page (an upgrade's
 * version-1 image counted free, a grow's bitmap copies and backup superblock moved). Blocks it frees stay
 * used in the allocator, so nothing is written into them before the switch.
 */
export function writeCheckpoint(
  device: DaxDevice,
  s: PoolState,
  layout: Superblock,
  epoch: number,
  whole = false,
  adjustBitmap?: (bits: Uint32Array) => Uint32Array,
): Superblock {
  const t = s.trees;
  const committed = t.roots();
  const pagesBefore = s.sb.treePages;
  try {
    if (whole || changedInodes(s) > REWRITE_SHARE * s.inodeCount + 64) {
      t.rewrite(everyInode(s), s.alloc.shared);
    } else {
      try {
        t.apply(s.treeInodes, (ino) => s.inodes.get(ino), s.alloc.treeRefs, (b) => s.alloc.shared.get(b));
      } catch (e) {
        if (!isErrnoError(e, 'ENOSPC')) throw e;
        // Changed in place, the trees take more pages than written whole: the reserve rule counts on the latter.
        t.reset(committed);
        t.rewrite(everyInode(s), s.alloc.shared);
      }
    }
    const retired = t.store.retired;
    const treePages = pagesBefore + t.store.overlayPages - retired.length;
    t.store.write();
    // Held back for readers, the pages this checkpoint retires stay used in its bitmap (alloc.ts, `holdBack`).
    const bits = s.alloc.snapshot(s.alloc.holdBack ? [] : retired.flatMap((b) => [b, 1]));
    const deferredBlocks = s.alloc.heldForReaders(retired.length);
    s.bitmapCopies.write(device, layout, epoch, adjustBitmap === undefined ? bits : adjustBitmap(bits));
    return {
      ...layout,
      epoch,
      roots: t.roots(),
      treePages,
      inodeCount: s.inodeCount,
      sharedCount: s.alloc.shared.size,
      nextIno: s.nextIno,
      metaBytes: s.recordedBytes(),
      orphans: s.nameless.size,
      deferredBlocks,
    };
  } catch (e) {
    t.reset(committed);
    if (isErrnoError(e, 'ENOSPC')) throw poolError('ENOSPC', 'fsync', s.path);
    // A committed page that does not decode (a cycle, a cell out of range) is damage, not misuse.
    if (doesNotDecode(e)) throw corrupt(s.path, 'metadata tree', 0, `a page that does not decode (${e.message})`);
    throw e;
  }
}

/** Inodes changed since the last checkpoint that exist now (one created and deleted since costs the trees a lookup). */
function changedInodes(s: PoolState): number {
  let n = 0;
  for (const ino of s.treeInodes) if (s.inodes.peek(ino) !== undefined) n++;
  return n;
}

/**
 * Every inode of the pool: memory's where memory decides, the trees' otherwise (read, not cached). O(files),
 * for a checkpoint that rewrites every tree and a search for the owner of a poisoned block.
 */
export function everyInode(s: PoolState): PoolInode[] {
  // Records copied out first: reading extents beside a walk of the inodes tree could reuse its page's buffer.
  const records: [number, Buffer][] = [];
  for (const [k, v] of s.trees.inodes.entries()) {
    const ino = k.readUInt32BE(0);
    if (!s.inodes.decides(ino)) records.push([ino, Buffer.from(v)]);
  }
  const out = records.map(([ino, v]) => s.treeInode(ino, v));
  for (const inode of s.inodes.values()) out.push(inode);
  return out;
}

/** The superblock of the checkpoint written is durable: the overlay is the committed trees, retired pages are free. */
export function finishCheckpoint(s: PoolState): void {
  s.trees.store.commit();
  s.inodes.checkpointed();
  s.names.checkpointed();
  // The inodes the trees just caught up with may go now: as many looked at as the checkpoint wrote, and a few.
  const caughtUp = s.treeInodes.size;
  s.treeInodes.clear();
  s.inodes.sweep(2 * caughtUp + RECENT_USES);
  s.alloc.treeRefs.clear();
}

/** The checkpoint written was not switched to: back to the committed trees, its pages free again. */
export function abandonCheckpoint(s: PoolState): void {
  s.trees.reset(s.sb.roots);
}

/** A page that cannot be read stands for a leaf: it is a tree page all the same, its parent says so. */
const UNREADABLE = ((): Buffer => {
  const p = Buffer.alloc(BLOCK);
  p.writeUInt16LE(LEAF, 0);
  return p;
})();

/** Every tree page of the committed checkpoint of `s`, as bits over the pool's blocks (for poison and tools). */
export function treeBlocks(s: PoolState): Uint32Array {
  const bits = new Uint32Array(s.alloc.bitmap.length);
  const roots = s.sb.roots;
  const pages = {
    page: (no: number): Buffer => {
      try {
        return s.trees.store.page(no);
      } catch {
        return UNREADABLE;
      }
    },
  };
  for (const root of [roots.names, roots.inodes, roots.extents, roots.shared]) forEachPage(pages, root, (no) => setBits(bits, no, 1));
  return bits;
}

/**
 * Load the checkpoint `sb` points at into the empty state `s`: the bitmap copy, then every tree, walked
 * and checked (walkTree), with the counts in the superblock. What cannot be decoded, a page reached twice,
 * names and inodes that disagree, and extents outside the data area or over metadata are ERR_PMEMDAX_CORRUPT.
 */
export function loadCheckpoint(device: DaxDevice, s: PoolState, sb: Superblock): void {
  const path = s.path;
  s.alloc.bitmap.set(s.bitmapCopies.read(device, path, sb, s.alloc.bitmap.length));
  const { meta, claim } = pageClaims(sb, s.alloc.bitmap.length, path);
  const store = s.trees.store;
  const roots = sb.roots;
  s.nextIno = sb.nextIno;
  try {
    const outOfLine = new Map<number, number>();
    let named = 0;
    let pages = walkTree(store, path, 'inodes', roots.inodes, claim, (p, i) => {
      if (keyLength(p, i) !== 4) throw corrupt(path, 'inodes tree', 0, `a key of ${keyLength(p, i)} bytes`);
      const ino = p.readUInt32BE(keyOffset(p, i));
      const r = decodeInode(ino, valueOf(p, i), path);
      if (ino === 0 || ino >= s.nextIno) throw corrupt(path, 'inodes tree', 0, `inode ${ino} is out of range`);
      if (r.name !== null) named++;
      const inode = s.loadInode(ino, r.name, r.ctimeMs);
      inode.size = r.size;
      inode.mtimeMs = r.mtimeMs;
      if (r.extents === null) {
        if (r.extentCount <= INLINE_EXTENTS) throw corrupt(path, `inode ${ino}`, 0, `${r.extentCount} extents kept out of line`);
        outOfLine.set(ino, r.extentCount);
      }
      for (const e of r.extents ?? []) addExtentOf(s, inode.ino, e.page, e.count, e.block, e.state);
    });
    // Each entry names an inode that has that name; as many entries as named inodes (the keys are unique): the
    // names tree and the inodes' names are the same set.
    let entries = 0;
    pages += walkTree(store, path, 'names', roots.names, claim, (p, i) => {
      const n = keyLength(p, i);
      const name = n === 0 || n > NAME_MAX ? null : nameFromBytes(p, keyOffset(p, i), n);
      if (name === null) throw corrupt(path, 'names tree', 0, `a name key of ${n} bytes, with a NUL, or not UTF-8`);
      const ino = decodeU32(valueOf(p, i), 'names tree', path);
      if (s.names.get(name)?.ino !== ino) throw corrupt(path, 'names tree', 0, `the name of inode ${ino} and its inode disagree`);
      entries++;
    });
    if (entries !== named) throw corrupt(path, 'names tree', 0, `${entries} names for ${named} named inodes`);
    pages += walkTree(store, path, 'extents', roots.extents, claim, (p, i) => {
      const e = decodeExtent(keyOf(p, i), valueOf(p, i), path);
      const left = outOfLine.get(e.ino);
      if (left === undefined || left === 0) throw corrupt(path, 'extents tree', 0, `an extent of inode ${e.ino}, which keeps no more out of line`);
      outOfLine.set(e.ino, left - 1);
      addExtentOf(s, e.ino, e.page, e.count, e.block, e.state);
    });
    for (const [ino, left] of outOfLine) if (left !== 0) throw corrupt(path, `inode ${ino}`, 0, `${left} of its extents are missing from the extents tree`);
    pages += loadShared(store, s, sb, claim);
    if (pages !== sb.treePages) throw corrupt(path, 'superblock', 0, `${sb.treePages} tree pages recorded, ${pages} reached`);
    if (s.inodes.size !== sb.inodeCount) throw corrupt(path, 'superblock', 0, `${sb.inodeCount} inodes recorded, ${s.inodes.size} in the inodes tree`);
  } catch (e) {
    if (doesNotDecode(e)) throw corrupt(path, 'metadata tree', 0, `a page that does not decode (${e.message})`);
    throw e;
  }
  for (const inode of s.inodes.values()) {
    inode.extents.forEach(0, Infinity, (page, count, block) => {
      if (firstBit(meta, block, count, 1) >= 0) throw corrupt(path, `inode ${inode.ino}`, 0, `extent at page ${page} (blocks ${block}+${count}) is over metadata`);
    });
  }
  s.metaBlocks = meta;
}

/** Walk the shared tree of `sb` into the allocator of `s` (every entry checked, and their count against the superblock's); returns its pages. */
export function loadShared(store: { page(no: number): Buffer }, s: PoolState, sb: Superblock, claim: (no: number, tree: string) => void): number {
  const path = s.path;
  const lo = dataStart(sb);
  const hi = dataEnd(sb);
  const pages = walkTree(store, path, 'shared', sb.roots.shared, claim, (p, i) => {
    if (keyLength(p, i) !== 4) throw corrupt(path, 'shared tree', 0, `a key of ${keyLength(p, i)} bytes`);
    const b = p.readUInt32BE(keyOffset(p, i));
    const refs = decodeU32(valueOf(p, i), 'shared tree', path);
    if (b < lo || b >= hi || refs < 2) throw corrupt(path, 'shared tree', 0, `reference count entry (block ${b}, ${refs})`);
    s.alloc.shared.set(b, refs);
  });
  if (s.alloc.shared.size !== sb.sharedCount) throw corrupt(path, 'superblock', 0, `${sb.sharedCount} reference counts recorded, ${s.alloc.shared.size} in the shared tree`);
  return pages;
}

/**
 * The metadata blocks of the checkpoint `sb` as a tree walk finds them: the bitmap copies, then each page
 * `claim`ed, which refuses a page outside the data area, in a bitmap copy, or reached twice.
 */
export function pageClaims(sb: Superblock, words: number, path: string): { meta: Uint32Array; claim: (no: number, tree: string) => void } {
  const lo = dataStart(sb);
  const hi = dataEnd(sb);
  const meta = new Uint32Array(words);
  for (const at of sb.bitmapAt) setBits(meta, at, sb.bitmapBlocks);
  const claim = (no: number, tree: string): void => {
    if (no < lo || no >= hi) throw corrupt(path, `${tree} tree`, 0, `a page at block ${no}, outside the data area`);
    if (firstBit(meta, no, 1, 1) >= 0) throw corrupt(path, `${tree} tree`, no * BLOCK, `block ${no} is reached twice, or is in a bitmap copy`);
    setBits(meta, no, 1);
  };
  return { meta, claim };
}

function addExtentOf(s: PoolState, ino: number, page: number, count: number, block: number, state: number): void {
  const inode = s.inodes.peek(ino);
  if (inode === undefined) throw corrupt(s.path, 'extents tree', 0, `an extent of inode ${ino}, which does not exist`);
  addExtent(s.sb, s.path, inode, page, count, block, state);
}
