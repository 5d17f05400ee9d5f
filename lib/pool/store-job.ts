import { PAGE_SIZE, PMD_PAGES } from '../iomap/constants';
import type { PoolCore } from './core';
import type { DeferredFlush } from './deferred-flush';
import { ExtentState } from './extent-map';
import type { PoolInode } from './inode';
import { FILE_SIZE_MAX } from './layout';

/**
 * Store jobs -- at page granularity, the stores of a promise write go to the pool file by a job on the
 * thread pool (pwrite, then the write-back, with the other stores of its round: DeferredFlush), not through
 * the mapping on the JavaScript thread, where a page not yet in the page cache or not yet writable faults,
 * and the fault can wait on the disk or the filesystem for milliseconds.
 *
 * The write's turn of its file ends once its stores are handed over, as it does when they are made on the
 * thread, so the file's next calls need not wait for the job: jobs run one at a time and store in the
 * order they were handed over, so a later write to the same bytes lands later. Until its stores land a
 * chunk is *pending*:
 * - new blocks for its pages past EOF join the file at once, unwritten (read as zeros, like a keep-size
 *   fallocate's: a commit meanwhile may record them so), and become written when the job is done;
 * - the size grows when the job is done; `ahead` is the size the file will have then, from which appends
 *   are placed;
 * - calls that change the file other than by a store job (truncate, fallocate, clone, dedupe, a write
 *   the job cannot take) wait for the file's pending chunks first (`landed`); a synchronous write or append
 *   that would touch a pending chunk's bytes or new pages fails with EAGAIN, as one overlapping a queued
 *   async call does; a region cannot be made meanwhile.
 */

/** A chunk handed to a job and not yet landed. */
interface Pending {
  readonly at: number;
  readonly length: number;
  /** New blocks for it: file page, block, count. */
  readonly fresh: readonly number[];
}

/** A file's pending chunks, oldest first, the pages of their new blocks, and who waits for none to be left. */
interface FileStores {
  readonly chunks: Pending[];
  readonly freshPages: Set<number>;
  ahead: number;
  waiters: (() => void)[];
}

const stores = new WeakMap<PoolInode, FileStores>();
/** Chunks pending in this thread, all files: none (the common case) answers touchesPending without the map. */
let pendingChunks = 0;

/** The size `inode` will have once its pending chunks land (its size when none is pending). */
export function sizeAhead(inode: PoolInode): number {
  const s = stores.get(inode);
  return s === undefined ? inode.size : Math.max(inode.size, s.ahead);
}

/** Whether a chunk of `inode` is pending. */
export function storesPending(inode: PoolInode): boolean {
  return (stores.get(inode)?.chunks.length ?? 0) > 0;
}

/** Whether `[from, to)` of `inode` touches the bytes or the new pages of a pending chunk. */
export function touchesPending(inode: PoolInode, from: number, to: number): boolean {
  return pendingChunks > 0 && touchesPendingOf(inode, from, to);
}

function touchesPendingOf(inode: PoolInode, from: number, to: number): boolean {
  const s = stores.get(inode);
  if (s === undefined || s.chunks.length === 0) return false;
  for (const c of s.chunks) if (from < c.at + c.length && c.at < to) return true;
  const first = Math.floor(from / PAGE_SIZE);
  const end = Math.ceil(to / PAGE_SIZE);
  for (const p of s.freshPages) if (p >= first && p < end) return true;
  return false;
}

/** Settles once no chunk of `inode` is pending. */
export function landed(inode: PoolInode): Promise<void> | null {
  const s = stores.get(inode);
  if (s === undefined || s.chunks.length === 0) return null;
  return new Promise((resolve) => s.waiters.push(resolve));
}

/**
 * Hand the stores of `chunk` at `at` to the next job; null, having changed nothing, when the chunk is not
 * one a job can take: the file has a region, or a page of the chunk is shared, unwritten (and not a pending
 * chunk's), a hole before EOF, poisoned, or young while readers make the writer copy (`youngBeforeJob`); or
 * the blocks for its holes cannot all be had (the usual path then reports ENOSPC). The promise resolves once the stores are durable and the chunk has landed (the
 * new blocks written, `wrote` told), and rejects when the job fails (the device then fails) or when the
 * pool closed first (`kept`); the chunk is no longer pending either way.
 */
export function storeByJob(
  core: PoolCore,
  d: DeferredFlush,
  inode: PoolInode,
  chunk: Uint8Array,
  at: number,
  wrote: (at: number, length: number) => void,
  kept: () => void,
): Promise<void> | null {
  // A region, even one with no page faulted in yet, takes the DAX layer's path; so does what EFBIG refuses.
  if (inode.daxFile !== null || inode.hasEntries || !Number.isSafeInteger(at) || chunk.length === 0 || at + chunk.length > FILE_SIZE_MAX) return null;
  if (d.failure !== null) return null;
  const t0 = core.hold.start();
  const s = stores.get(inode);
  const plan = planStores(core, d, inode, chunk, at, s);
  if (plan === null) {
    core.hold.stop(t0, 'store');
    return null;
  }
  const file = s ?? { chunks: [], freshPages: new Set<number>(), ahead: 0, waiters: [] };
  if (s === undefined) stores.set(inode, file);
  const pending: Pending = { at, length: chunk.length, fresh: plan.fresh };
  file.chunks.push(pending);
  pendingChunks++;
  file.ahead = Math.max(file.ahead, inode.size, at + chunk.length);
  for (let i = 0; i < plan.fresh.length; i += 3) for (let k = 0; k < (plan.fresh[i + 2] as number); k++) file.freshPages.add((plan.fresh[i] as number) + k);
  // Told before the job may start (durable): the job's start says the gathered stores are handed over. Then
  // the decision is done (slot GATHERED holds the lock for the stores), whatever runs before this run ends.
  const gen = core.inPlace?.handed() ?? -1;
  core.inPlace?.wrote();
  const job = d.durable();
  core.hold.stop(t0, 'store');
  return job.then(
    () => {
      core.inPlace?.landed(gen);
      kept();
      land(core, inode, file, pending, true);
      wrote(at, chunk.length);
    },
    (e: unknown) => {
      core.inPlace?.landed(gen);
      land(core, inode, file, pending, false);
      throw e;
    },
  ).catch((e: unknown) => {
    // kept() threw: the pool closed before the chunk landed (its pages stay unwritten past EOF).
    if (file.chunks.includes(pending)) land(core, inode, file, pending, false);
    throw e;
  });
}

/** The chunk is no longer pending; with `stored`, its new blocks (still as joined) become written. */
function land(core: PoolCore, inode: PoolInode, file: FileStores, pending: Pending, stored: boolean): void {
  const i = file.chunks.indexOf(pending);
  if (i < 0) return;
  file.chunks.splice(i, 1);
  pendingChunks--;
  const f = pending.fresh;
  for (let r = 0; r < f.length; r += 3) {
    const page = f[r] as number;
    const block = f[r + 1] as number;
    const count = f[r + 2] as number;
    for (let k = 0; k < count; k++) file.freshPages.delete(page + k);
    if (!stored) continue;
    let same = true;
    inode.extents.forEach(page, page + count, (p, _n, b, state) => {
      if (b !== block + (p - page) || (state & ExtentState.UNWRITTEN) === 0) same = false;
    });
    if (!same) continue;
    inode.extents.set(page, count, block, ExtentState.UNCOMMITTED);
    inode.markDirty(page, count);
    core.state.touch(inode);
  }
  if (file.chunks.length === 0) {
    file.ahead = 0;
    for (const wake of file.waiters.splice(0)) wake();
  }
}

interface StorePlan {
  /** New blocks joined (unwritten): file page, block, count. */
  readonly fresh: number[];
}

/**
 * The chunk's stores handed to the next job (`storeRoom`), with new blocks for its holes joined unwritten;
 * null, having changed nothing, when the chunk is not one to take.
 */
function planStores(core: PoolCore, d: DeferredFlush, inode: PoolInode, chunk: Uint8Array, at: number, file: FileStores | undefined): StorePlan | null {
  const first = Math.floor(at / PAGE_SIZE);
  const end = Math.ceil((at + chunk.length) / PAGE_SIZE);
  const a = core.state.alloc;
  const readers = inode.seenByReaders(at);
  const runs: number[] = [];
  let next = first;
  let fits = true;
  inode.extents.forEach(first, end, (page, count, block, state) => {
    if (!fits) return;
    if ((state & ExtentState.UNWRITTEN) !== 0) {
      // Only a pending chunk's new pages may be unwritten here: the job that wrote them runs first.
      for (let k = 0; k < count && fits; k++) if (file?.freshPages.has(page + k) !== true) fits = false;
    } else if (a.cowNeededIn(block, count, readers) || a.youngBeforeJob(block, count, readers)) {
      fits = false;
    }
    if (page > next) runs.push(next, -1, page - next);
    runs.push(page, block, count);
    next = page + count;
  });
  if (next < end) runs.push(next, -1, end - next);
  // A hole before EOF would be read (as the old bytes of its new block) before the job stored into it.
  for (let r = 0; r < runs.length && fits; r += 3) if ((runs[r + 1] as number) < 0 && (runs[r] as number) * PAGE_SIZE < inode.size) fits = false;
  if (!fits) return null;

  const fresh: number[] = [];
  const pairs: number[] = [];
  let bytes = 0;
  let goal = -1;
  const giveBack = (): null => {
    for (let i = 0; i < fresh.length; i += 3) a.unreserve(fresh[i + 1] as number, fresh[i + 2] as number);
    return null;
  };
  // Blocks first (reserved: nothing changes until all are had), then the payload.
  const layout: number[] = [];
  for (let r = 0; r < runs.length; r += 3) {
    let page = runs[r] as number;
    const block = runs[r + 1] as number;
    let left = runs[r + 2] as number;
    if (block >= 0) {
      if (!clean(core, block, left)) return giveBack();
      layout.push(page, block, left, 0);
      goal = block + left;
      continue;
    }
    while (left > 0) {
      const prev = page > 0 ? inode.extents.blockAt(page - 1) : -1;
      const got = a.take(left, goal >= 0 ? goal : prev >= 0 ? prev + 1 : -1, page, inode, true);
      if (got === null) return giveBack();
      fresh.push(page, got[0], got[1]);
      if (!clean(core, got[0], got[1])) return giveBack();
      layout.push(page, got[0], got[1], 1);
      goal = got[0] + got[1];
      page += got[1];
      left -= got[1];
    }
  }
  for (let l = 0; l < layout.length; l += 4) {
    const page = layout[l] as number;
    const block = layout[l + 1] as number;
    const count = layout[l + 2] as number;
    if (layout[l + 3] === 1) {
      bytes += addPair(pairs, block * PAGE_SIZE, count * PAGE_SIZE);
    } else {
      const from = Math.max(at, page * PAGE_SIZE);
      const to = Math.min(at + chunk.length, (page + count) * PAGE_SIZE);
      bytes += addPair(pairs, block * PAGE_SIZE + (from - page * PAGE_SIZE), to - from);
    }
  }
  // The payload: the chunk's bytes where they land, zeros around them in whole new pages.
  const payload = d.storeRoom(pairs, bytes);
  for (let l = 0, off = 0; l < layout.length; l += 4) {
    const page = layout[l] as number;
    const count = layout[l + 2] as number;
    const whole = layout[l + 3] === 1;
    const lo = Math.max(at, page * PAGE_SIZE);
    const hi = Math.min(at + chunk.length, (page + count) * PAGE_SIZE);
    payload.set(chunk.subarray(lo - at, hi - at), off + (whole ? lo - page * PAGE_SIZE : 0));
    off += whole ? count * PAGE_SIZE : hi - lo;
  }
  // The new blocks join the file now, unwritten: a commit may record them, and they read as zeros until written.
  for (let i = 0; i < fresh.length; i += 3) {
    const page = fresh[i] as number;
    const block = fresh[i + 1] as number;
    const count = fresh[i + 2] as number;
    a.confirm(block, count);
    inode.extents.set(page, count, block, ExtentState.UNWRITTEN | ExtentState.UNCOMMITTED);
    inode.markDirty(page, count);
  }
  if (fresh.length > 0) core.state.touch(inode);
  return { fresh };
}

/** Appends a device range, merged into the last when it follows it; returns its length. */
function addPair(pairs: number[], offset: number, length: number): number {
  const k = pairs.length;
  if (k > 0 && (pairs[k - 2] as number) + (pairs[k - 1] as number) === offset) pairs[k - 1] = (pairs[k - 1] as number) + length;
  else pairs.push(offset, length);
  return length;
}

/** No known poison in the blocks: a store over poison goes the usual way, which clears it. */
export function clean(core: PoolCore, block: number, count: number): boolean {
  const device = core.asyncIo.device;
  const pages = device.directAccessPages;
  if (pages !== undefined) return pages.call(device, block, count) >= count;
  const lo = block * PAGE_SIZE;
  const hi = (block + count) * PAGE_SIZE;
  return !device.badblocks().some((r) => r.offset < hi && lo < r.offset + r.length);
}
