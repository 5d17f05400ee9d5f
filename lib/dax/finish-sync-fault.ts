import { PAGE_SIZE, PMD_ORDER, PMD_PAGES } from '../iomap/constants';
import { CONFLICT, lockEntry, putUnlockedEntry, unlockEntry, withUnlockedEntry } from './lock';
import { VmFault, type VmFaultInfo } from './fault-types';
import type { DaxInode } from './types';

/** The data-integrity sync of a byte range (inclusive end) that a sync fault needs first. */
export type DatasyncRange = (start: number, end: number) => Promise<void>;

/**
 * daxFinishSyncFault -- T15: after a fault returned NEEDDSYNC, make the metadata of the faulting
 * range durable (`datasync`), then, if the entry is still there with the same block, mark it DIRTY
 * and install the writable mapping. A failed sync is SIGBUS and installs nothing; a vanished or
 * changed entry gives NOPAGE, and the access faults again.
 */
export async function daxFinishSyncFault(
  inode: DaxInode,
  vmf: VmFaultInfo,
  order: 0 | typeof PMD_ORDER,
  pfn: number,
  datasync: DatasyncRange,
): Promise<number> {
  const pages = order === 0 ? 1 : PMD_PAGES;
  const index = vmf.pgoff - (vmf.pgoff % pages);
  try {
    await datasync(index * PAGE_SIZE, (index + pages) * PAGE_SIZE - 1);
  } catch {
    return VmFault.SIGBUS;
  }
  const m = inode.mapping;
  const e = await withUnlockedEntry(m, index, order, (found) => {
    if (found === null || found === CONFLICT) return null;
    // A PTE sync fault that now finds a PMD entry, or a different block (truncated and reallocated
    // meanwhile), installs nothing: the access faults again.
    if ((order === 0 && found.isPmd) || found.pfn !== pfn) {
      putUnlockedEntry(m, found);
      return null;
    }
    found.dirty = true;
    m.inodeDirty = true;
    lockEntry(found);
    return found;
  });
  if (e === null) return VmFault.NOPAGE;
  try {
    const what = { pfn, zero: false, write: true, writableOnTrap: false };
    if (order === 0) vmf.vma.insertPte(vmf.pgoff, what);
    else vmf.vma.insertPmd(index, what);
  } finally {
    unlockEntry(m, e);
  }
  return VmFault.NOPAGE;
}
