import type { DaxDevice } from '../device/types';
import { PAGE_SIZE } from '../iomap/constants';
import { Errno } from '../iomap/errno';
import { EntryKind, type DaxEntry } from './entry';
import { daxError } from './errors';
import { lockEntry, putUnlockedEntry, unlockEntry } from './lock';
import type { DaxMapping } from './mapping';
import { tagPagesForWriteback } from './tag';
import type { DaxInode } from './types';
import { waitExclusive } from './wait-table';

/** The part of `struct writeback_control` DAX looks at. */
export interface WritebackControl {
  /** WB_SYNC_ALL (an integrity sync: fsync, msync). Background writeback is a no-op for DAX. */
  readonly sync: boolean;
  /** Byte range, inclusive; the defaults cover the whole file. */
  readonly start?: number;
  readonly end?: number;
}

/**
 * daxWritebackOne -- docs/semantics.md §5.2 for the TOWRITE entry `e`: wait until it is unlocked and still
 * the same block, lock it, clear TOWRITE, write-protect its mappings, flush all of it (4 KiB or
 * 2 MiB), clear DIRTY, unlock. Returns 0 or a negative errno.
 */
export async function daxWritebackOne(m: DaxMapping, device: DaxDevice, e: DaxEntry): Promise<number> {
  const index = e.index;
  const pfn = e.pfn;
  let cur: DaxEntry | undefined = e;
  let waited = false;
  while (cur.locked) {
    await waitExclusive(m.id, cur.index);
    waited = true;
    cur = m.tree.load(index);
    if (cur === undefined) return 0;
  }
  if (waited) {
    // Re-validate: the block may have been reallocated or flushed by someone else meanwhile.
    // What to return instead of writing back: 0 when the entry moved on, EIO when it is no longer real.
    const stale = cur.pfn !== pfn || !cur.towrite;
    const instead = stale ? 0 : cur.kind !== EntryKind.REAL ? -Errno.EIO : null;
    if (instead !== null) {
      putUnlockedEntry(m, cur);
      return instead;
    }
  }
  lockEntry(cur);
  cur.towrite = false;
  const count = cur.pages;
  m.pageTables?.cleanPages(cur.index, count, cur.pfn);
  try {
    device.flush(cur.pfn * PAGE_SIZE, count * PAGE_SIZE);
  } catch (err) {
    unlockEntry(m, cur);
    throw err;
  }
  cur.dirty = false;
  unlockEntry(m, cur);
  return 0;
}

/**
 * daxWritebackMappingRange -- docs/semantics.md §5.1: for an integrity sync, tag the DIRTY entries of the
 * range TOWRITE, then write each back in index order; the first error is recorded in the mapping
 * and thrown. Background writeback does nothing (invariant 14).
 */
export async function daxWritebackMappingRange(inode: DaxInode, device: DaxDevice, wbc: WritebackControl): Promise<void> {
  const m = inode.mapping;
  if (inode.blockSize !== PAGE_SIZE) throw daxError(-Errno.EIO, 'fsync', { path: inode.path });
  if (m.empty || !wbc.sync) return;
  const first = Math.floor((wbc.start ?? 0) / PAGE_SIZE);
  const last = wbc.end === undefined ? Number.MAX_SAFE_INTEGER : Math.floor(wbc.end / PAGE_SIZE);
  tagPagesForWriteback(m, first, last);
  let cursor = first;
  for (;;) {
    const e = m.tree.findFirst(cursor, last);
    if (e === undefined) return;
    cursor = e.index + e.pages;
    if (!e.towrite) continue;
    let r: number;
    try {
      r = await daxWritebackOne(m, device, e);
    } catch (err) {
      m.writebackError = err as Error;
      throw err;
    }
    if (r < 0) {
      const err = daxError(r, 'fsync', { path: inode.path, offset: e.index * PAGE_SIZE });
      m.writebackError = err;
      throw err;
    }
  }
}
