import { setImmediate as nextTurn } from 'node:timers/promises';
import { daxBreakLayout } from '../dax/break-layout';
import { withInvalidateLocks } from '../dax/invalidate-lock';
import { daxDedupeCompare } from '../dax/dedupe';
import { daxError } from '../dax/errors';
import { isErrnoError } from '../errors';
import { Errno } from '../iomap/errno';
import { daxTruncatePage } from '../dax/truncate-page';
import { daxFileUnshare } from '../dax/unshare';
import { daxWritebackMappingRange } from '../dax/writeback';
import { daxZeroEof } from '../dax/zero-eof';
import { daxZeroRange } from '../dax/zero-range';
import { PAGE_SIZE } from '../iomap/constants';
import type { PoolCore } from './core';
import { poolError } from './errors';
import { ExtentState } from './extent-map';
import { freePages } from './free';
import type { PoolInode } from './inode';
import type { FallocateMode } from './types';

const LAST_INDEX = Number.MAX_SAFE_INTEGER;

/** The most pages a truncate frees, or a fallocate allocates, in one piece: between pieces the thread goes back to the event loop. */
const PIECE_PAGES = 512;

// Only the promise methods call these: they store through `core.asyncIo`, and commit once their turn ends.

/**
 * Called after every wait, before the pool's state changes: throws ERR_PMEMDAX_CLOSED once the pool
 * closed meanwhile, so nothing lands after the close's final commit.
 */
export type Kept = () => void;

function setSize(core: PoolCore, inode: PoolInode, size: number): void {
  inode.size = size;
  inode.mtimeMs = Date.now();
  inode.attrDirty = true;
  core.state.touch(inode);
}

/** Free whole pages `[first, end)` after breaking the layouts that map them. */
async function dropPages(core: PoolCore, inode: PoolInode, first: number, end: number, kept: Kept): Promise<void> {
  if (end <= first) return;
  await daxBreakLayout(inode.mapping, core.asyncIo.device, first, end === Infinity ? LAST_INDEX : end - 1, { wait: true, path: inode.path });
  kept();
  freePages(core.state, inode, first, end === Infinity ? Math.max(first, inode.extents.end) : end);
}

/**
 * Cut `inode` down to page `first`, a piece at a time from the end (freeing a large file is milliseconds of
 * work): before each piece is freed the size comes down to where the piece starts (never up), so each
 * piece leaves a file cut whole, and a commit between pieces (another call's, or a close's) commits one.
 * Blocks past EOF are allowed (as after a keep-size fallocate); written ones past the EOF page are not, for
 * growing the file again zeroes only that page.
 */
async function dropTail(core: PoolCore, inode: PoolInode, first: number, kept: Kept): Promise<void> {
  await daxBreakLayout(inode.mapping, core.asyncIo.device, first, LAST_INDEX, { wait: true, path: inode.path });
  kept();
  for (let end = Math.max(first, inode.extents.end); end > first; ) {
    const from = Math.max(first, end - PIECE_PAGES);
    const t0 = core.hold.start();
    if (inode.size > from * PAGE_SIZE) setSize(core, inode, from * PAGE_SIZE);
    freePages(core.state, inode, from, end);
    core.hold.stop(t0, 'ftruncate');
    // Down to the last mapped page below: a sparse file's holes cost no piece (nor a turn).
    end = Math.max(first, Math.min(from, inode.extents.end));
    if (end > first) {
      await nextTurn();
      kept();
    }
  }
}

/** ftruncate. Shrinking cuts the file from the end, 2 MiB at a time, down to the new size. */
export async function truncateLocked(core: PoolCore, inode: PoolInode, size: number, kept: Kept): Promise<void> {
  kept();
  const old = inode.size;
  if (size < old) {
    // The pages wholly past the new size go first, then the size, committed; only then is the rest of the
    // new last page zeroed in place. A crash or another call's commit in between finds a file cut whole,
    // with stale bytes at most in that page past EOF, which every extension zeroes. (Zeroed first, a crash
    // before the commit left the old size with zeros inside it.)
    await dropTail(core, inode, Math.ceil(size / PAGE_SIZE), kept);
    setSize(core, inode, size);
    if (size % PAGE_SIZE !== 0) {
      await core.commitAsync();
      kept();
      await zeroPastEof(core, inode, size);
    }
    return;
  } else if (size > old) {
    // Bytes past the old EOF in its last block (stores through a region) must read as zeros.
    await daxZeroEof(inode, old, size, core.asyncIo.ops);
  }
  kept();
  setSize(core, inode, size);
}

/**
 * Zero the last page of `inode` from `size` (its EOF, committed) on. The bytes are inside the old size, which
 * the snapshot of a reader that claimed before that commit still shows: with readers holding claims the page
 * is copied on write instead. Past EOF they are no file data, so a copy that finds no room (ENOSPC) or a page
 * that cannot be written (EIO, poison) leaves them: the truncate is whole without it, and the extension that
 * would show them zeroes them first (meeting the error then, if it is still there).
 */
async function zeroPastEof(core: PoolCore, inode: PoolInode, size: number): Promise<void> {
  const page = Math.floor(size / PAGE_SIZE);
  inode.extents.forEach(page, page + 1, (_p, _count, block, state) => {
    if ((state & ExtentState.UNWRITTEN) === 0) core.state.alloc.keepForReaders(block);
  });
  try {
    await decided(core, daxTruncatePage(inode, size, core.asyncIo.ops));
  } catch (e) {
    if (!isErrnoError(e, 'ENOSPC') && !isErrnoError(e, 'EIO')) throw e;
  }
}

/** Give the holes of pages `[first, end)` unwritten blocks, zeroed, a piece at a time. */
async function allocateUnwritten(core: PoolCore, inode: PoolInode, first: number, end: number, kept: Kept): Promise<void> {
  const holes: number[] = [];
  let p = first;
  inode.extents.forEach(first, end, (page, count) => {
    if (page > p) holes.push(p, page - p);
    p = page + count;
  });
  if (p < end) holes.push(p, end - p);
  const a = core.state.alloc;
  let need = 0;
  for (let i = 1; i < holes.length; i += 2) need += holes[i] as number;
  if (need > 0 && !a.room(need)) throw poolError('ENOSPC', 'fallocate', inode.path, first * PAGE_SIZE);
  for (let i = 0; i < holes.length; i += 2) {
    let page = holes[i] as number;
    let left = holes[i + 1] as number;
    while (left > 0) {
      const t0 = core.hold.start();
      const got = a.takeForPage(inode, page, Math.min(left, PIECE_PAGES));
      if (got === null) throw poolError('ENOSPC', 'fallocate', inode.path, page * PAGE_SIZE);
      // Dedupe compares unwritten blocks as raw media: stale bytes there could match and change the file.
      core.asyncIo.device.fill(got[0] * PAGE_SIZE, 0, got[1] * PAGE_SIZE);
      inode.extents.set(page, got[1], got[0], ExtentState.UNWRITTEN | ExtentState.UNCOMMITTED);
      inode.markDirty(page, got[1]);
      core.state.touch(inode);
      core.hold.stop(t0, 'fallocate');
      page += got[1];
      left -= got[1];
      if (left > 0 || i + 2 < holes.length) {
        await nextTurn();
        kept();
      }
    }
  }
  core.state.touch(inode);
}

/**
 * `op`, a DAX operation whose synchronous part has run (its stores over blocks decided in place are made
 * there: only copies wait): the writer's in-place decisions are done with before anything else of this run of
 * the thread, so that a busy task after it does not hold readers (in-place-gate.ts).
 */
function decided<T>(core: PoolCore, op: Promise<T>): Promise<T> {
  core.inPlace?.wrote();
  return op;
}

async function punch(core: PoolCore, inode: PoolInode, pos: number, len: number, kept: Kept): Promise<[number, number]> {
  const end = pos + len;
  const firstWhole = Math.ceil(pos / PAGE_SIZE);
  const endWhole = Math.floor(end / PAGE_SIZE);
  if (firstWhole > endWhole) {
    await decided(core, daxZeroRange(inode, pos, len, core.asyncIo.ops));
    return [firstWhole, firstWhole];
  }
  if (pos < firstWhole * PAGE_SIZE) await decided(core, daxZeroRange(inode, pos, firstWhole * PAGE_SIZE - pos, core.asyncIo.ops));
  if (end > endWhole * PAGE_SIZE) await decided(core, daxZeroRange(inode, endWhole * PAGE_SIZE, end - endWhole * PAGE_SIZE, core.asyncIo.ops));
  await dropPages(core, inode, firstWhole, endWhole, kept);
  return [firstWhole, endWhole];
}

export async function fallocateLocked(core: PoolCore, inode: PoolInode, mode: FallocateMode, pos: number, len: number, kept: Kept): Promise<void> {
  kept();
  const end = pos + len;
  if (mode === 'punch-hole') {
    // A punch never changes the size. One that reaches EOF frees the EOF block whole: what lies
    // past EOF in it is not file data.
    const stop = end >= inode.size ? Math.ceil(end / PAGE_SIZE) * PAGE_SIZE : end;
    if (stop > pos) await punch(core, inode, pos, stop - pos, kept);
    return;
  }
  const grows = mode !== 'keep-size' && end > inode.size;
  // The old EOF block's tail becomes file data: zeros, whatever a region stored there.
  if (grows) await daxZeroEof(inode, inode.size, end, core.asyncIo.ops);
  kept();
  if (mode === 'zero-range') {
    const stop = Math.min(end, Math.ceil(inode.size / PAGE_SIZE) * PAGE_SIZE);
    if (stop > pos) await punch(core, inode, pos, stop - pos, kept);
  }
  kept();
  await allocateUnwritten(core, inode, Math.floor(pos / PAGE_SIZE), Math.ceil(end / PAGE_SIZE), kept);
  if (grows) setSize(core, inode, end);
}

export async function unshareLocked(core: PoolCore, inode: PoolInode, pos: number, len: number, kept: Kept): Promise<void> {
  kept();
  await daxFileUnshare(inode, pos, len, core.asyncIo.ops);
}

function checkRemap(src: PoolInode, srcOff: number, dst: PoolInode, dstOff: number, len: number): void {
  const fail = (): Error => poolError('EINVAL', 'ioctl', dst.path, dstOff);
  if (![srcOff, dstOff, len].every(Number.isSafeInteger)) throw fail();
  if (len <= 0 || srcOff < 0 || dstOff < 0 || srcOff % PAGE_SIZE !== 0 || dstOff % PAGE_SIZE !== 0) throw fail();
  if (srcOff + len > src.size) throw fail();
  if (len % PAGE_SIZE !== 0 && !(srcOff + len === src.size && dstOff + len >= dst.size)) throw fail();
  if (src === dst && srcOff < dstOff + len && dstOff < srcOff + len) throw fail();
}

/** FICLONERANGE / FIDEDUPERANGE: `dst` shares the blocks of `src`'s range (after comparing, for dedupe). */
export async function remap(core: PoolCore, src: PoolInode, srcOff: number, dst: PoolInode, dstOff: number, len: number, dedupe: boolean, kept: Kept): Promise<void> {
  checkRemap(src, srcOff, dst, dstOff, len);
  if (dedupe && dstOff + len > dst.size) throw poolError('EINVAL', 'ioctl', dst.path, dstOff);
  await withInvalidateLocks([src, dst], async () => {
    kept();
    const count = Math.ceil(len / PAGE_SIZE);
    const s0 = srcOff / PAGE_SIZE;
    const d0 = dstOff / PAGE_SIZE;
    // What remap_file_range_prep does for DAX: write both ranges back, write-protect the source
    // (its blocks become shared), drop the target's entries.
    await daxWritebackMappingRange(src, core.asyncIo.device, { sync: true, start: srcOff, end: srcOff + len - 1 });
    await daxWritebackMappingRange(dst, core.asyncIo.device, { sync: true, start: dstOff, end: dstOff + len - 1 });
    src.mapping.writeProtectPages(s0, count);
    await daxBreakLayout(dst.mapping, core.asyncIo.device, d0, d0 + count - 1, { wait: true, path: dst.path });
    // A clone past the target's EOF must not expose what a region left past it.
    if (!dedupe && dstOff + len > dst.size) await daxZeroEof(dst, dst.size, dstOff, core.asyncIo.ops);
    kept();
    if (dedupe && !daxDedupeCompare(src, srcOff, dst, dstOff, len, core.asyncIo.ops)) throw daxError(-Errno.EBADE, 'ioctl', { path: dst.path, offset: dstOff });
    const runs: number[] = [];
    src.extents.forEach(s0, s0 + count, (page, n, block, state) => {
      // Unwritten source pages arrive as holes: they read as zeros either way.
      if ((state & ExtentState.UNWRITTEN) === 0) runs.push(page - s0, n, block);
    });
    core.state.needRoomToShare(runs, 'ioctl', dst.path);
    freePages(core.state, dst, d0, d0 + count);
    dst.markDirty(d0, count);
    for (let i = 0; i < runs.length; i += 3) {
      const at = runs[i] as number;
      const n = runs[i + 1] as number;
      const block = runs[i + 2] as number;
      core.state.alloc.ref(block, n);
      dst.extents.set(d0 + at, n, block, ExtentState.UNCOMMITTED);
    }
    core.state.touch(dst);
    if (!dedupe && dstOff + len > dst.size) setSize(core, dst, dstOff + len);
  });
}
