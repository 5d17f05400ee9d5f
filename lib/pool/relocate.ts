import { isErrnoError } from '../errors';
import { PAGE_SIZE, PMD_PAGES, PMD_SIZE } from '../iomap/constants';
import type { PoolCore } from './core';
import { ExtentState, type PageLookup } from './extent-map';
import type { PoolInode } from './inode';
import { NO_BLOCK } from './layout';
import { clean, storesPending } from './store-job';

/**
 * Moving a file's first 2 MiB range onto a 2 MiB-aligned extent (docs/design.md, "Allocation: keeping
 * large files aligned"). The allocator places a file's first range by a guess made at its first write;
 * a file that reaches 2 MiB after a small first write, or while free space was in pieces, has that
 * range packed. Once the range is wholly written it is copied into a wholly free group and remapped
 * there, as one change that commits at once: the copy is durable before the record that maps it, and
 * the old blocks are freed only once that record is.
 */

const look: PageLookup = { block: NO_BLOCK, state: 0, run: 0 };

/** Does a write of `[pos, pos+length)` reach the last page of the file's first 2 MiB range? */
export function reachesFirstRangeEnd(pos: number, length: number): boolean {
  return pos < PMD_SIZE && pos + length > PMD_SIZE - PAGE_SIZE;
}

/** Might the first range be off one aligned extent? One lookup; `alignFirstRange` looks closer (an aligned range may be in two extents). */
export function firstRangeMisplaced(inode: PoolInode): boolean {
  const at = inode.extents.lookup(0, look);
  return at.block === NO_BLOCK || at.block % PMD_PAGES !== 0 || at.run < PMD_PAGES;
}

/**
 * Move pages [0, 512) of `inode` into a wholly free group and commit, when they are all mapped and
 * written, none is shared, no region maps the file, no store job of it is pending, no poison is known
 * under them, and the pool has a free group to spare beyond the checkpoint reserve. The caller makes
 * sure no other call of the file is between its pieces. Returns whether it moved them.
 */
export function alignFirstRange(core: PoolCore, inode: PoolInode): boolean {
  if (core.readonly || inode.daxFile !== null || inode.hasEntries || storesPending(inode)) return false;
  const from = movableRuns(core, inode);
  if (from === null) return false;
  const a = core.state.alloc;
  const to = a.takeGroup();
  if (to < 0) return false;
  let copied = false;
  try {
    copied = copyRange(core, from, to);
  } finally {
    if (!copied) a.unreserve(to, PMD_PAGES);
  }
  if (!copied) return false;
  a.confirm(to, PMD_PAGES);
  // Freed with the commit below: until it is durable the media map the old blocks, which keep their bytes.
  for (let i = 0; i < from.length; i += 3) a.unref(from[i + 1] as number, from[i + 2] as number);
  inode.extents.set(0, PMD_PAGES, to, ExtentState.UNCOMMITTED);
  inode.markDirty(0, PMD_PAGES);
  core.state.touch(inode);
  // Now, not at the next fsync: an overwrite of a committed block is durable on return, and must stay so
  // for the pages moved.
  core.commit();
  return true;
}

/** The extents of pages [0, 512) as [page, block, count] triples, when the range is one to move; else null. */
function movableRuns(core: PoolCore, inode: PoolInode): number[] | null {
  const a = core.state.alloc;
  const runs: number[] = [];
  let next = 0;
  let ok = true;
  let aligned = true;
  let base = -1;
  inode.extents.forEach(0, PMD_PAGES, (page, count, block, state) => {
    if (!ok) return;
    // A hole would get blocks, and unwritten pages are zeros that need no copy: neither is worth a move.
    if (page !== next || (state & ExtentState.UNWRITTEN) !== 0 || !clean(core, block, count)) {
      ok = false;
      return;
    }
    // A move is a copy on write already (the old blocks are freed as any are, after readers let go): only
    // blocks another file shares stop it.
    if (a.cowNeededIn(block, count, false)) ok = false;
    if (base < 0) base = block;
    if (base % PMD_PAGES !== 0 || block !== base + page) aligned = false;
    runs.push(page, block, count);
    next = page + count;
  });
  return ok && next === PMD_PAGES && !aligned ? runs : null;
}

/** Copy the runs into the group at block `to`, durable on return; false when poison is found in the old blocks. */
function copyRange(core: PoolCore, runs: readonly number[], to: number): boolean {
  if (!clean(core, to, PMD_PAGES)) return false;
  const buf = new Uint8Array(PMD_SIZE);
  const device = core.device;
  try {
    for (let i = 0; i < runs.length; i += 3) {
      const page = runs[i] as number;
      device.copySafe((runs[i + 1] as number) * PAGE_SIZE, buf.subarray(page * PAGE_SIZE, (page + (runs[i + 2] as number)) * PAGE_SIZE));
    }
  } catch (e) {
    if (isErrnoError(e, 'EIO')) return false;
    throw e;
  }
  device.copy(to * PAGE_SIZE, buf);
  return true;
}
