import { IomapFlag, IomapOp, PAGE_SIZE } from '../iomap/constants';
import { Errno, errnoOf } from '../iomap/errno';
import { IomapIter } from '../iomap/iter';
import type { IomapOps } from '../iomap/types';
import { daxFaultIter, type FaultState } from './fault-iter';
import { daxFaultReturn, VM_FAULT_ERROR, VmFault, type FaultOutcome, type VmFaultInfo } from './fault-types';
import { FALLBACK, grabMappingEntry } from './grab';
import { unlockEntry } from './lock';
import type { DaxInode } from './types';

/** The outcome of a fault that never reached the iomap (EOF, a lost race). */
export function faultOutcome(result: number, fallback: FaultOutcome['fallback'] = null): FaultOutcome {
  return { result, pfn: 0, iomapError: 0, fallback, hole: false };
}

/**
 * daxIomapPteFault -- docs/semantics.md §4.2: one 4 KiB page. SIGBUS beyond EOF; otherwise lock (or
 * create) the entry, map `[pos, pos+PAGE)` with DAX|FAULT (+WRITE for a shared write fault) and
 * run the fault body. The entry is unlocked on every path.
 */
export async function daxIomapPteFault(inode: DaxInode, vmf: VmFaultInfo, ops: IomapOps<DaxInode>): Promise<FaultOutcome> {
  const pos = vmf.pgoff * PAGE_SIZE;
  if (pos >= inode.size) return faultOutcome(VmFault.SIGBUS);
  const cow = vmf.write && !vmf.vma.shared;
  const flags = IomapOp.DAX | IomapOp.FAULT | (vmf.write && !cow ? IomapOp.WRITE : 0);
  const m = inode.mapping;
  const entry = await grabMappingEntry(m, vmf.pgoff, 0);
  if (entry === FALLBACK) return faultOutcome(VmFault.SIGBUS);
  const st: FaultState = { vmf, entry, pfn: 0, hole: false, fallback: null };
  try {
    // A racing PMD fault already mapped this address.
    if (vmf.vma.hugeAt(vmf.pgoff)) return faultOutcome(VmFault.NOPAGE);
    const it = new IomapIter(inode, pos, PAGE_SIZE, flags);
    let ret = 0;
    let r: number;
    while ((r = it.next(ops)) > 0) {
      if (it.length() < PAGE_SIZE) {
        it.status = -Errno.EIO;
        continue;
      }
      try {
        ret = daxFaultIter(it, st, false);
      } catch (e) {
        const errno = errnoOf(e);
        if (errno === 0) throw e;
        ret = daxFaultReturn(errno);
      }
      if (ret !== VmFault.SIGBUS && (it.iomap.flags & IomapFlag.NEW) !== 0) ret |= VmFault.MAJOR;
      if ((ret & VM_FAULT_ERROR) === 0) it.status = it.advance(PAGE_SIZE);
    }
    const iomapError = r < 0 ? r : 0;
    if (r < 0 && ret === 0) ret = daxFaultReturn(r);
    return { result: ret, pfn: st.pfn, iomapError, fallback: null, hole: st.hole };
  } finally {
    unlockEntry(m, st.entry);
  }
}
