import { IomapOp, PAGE_SIZE, PMD_ORDER, PMD_PAGES, PMD_SIZE } from '../iomap/constants';
import { errnoOf } from '../iomap/errno';
import { IomapIter } from '../iomap/iter';
import type { IomapOps } from '../iomap/types';
import { daxFaultIter, type FaultState } from './fault-iter';
import { faultOutcome } from './fault-pte';
import { VmFault, type FaultOutcome, type PmdFallbackReason, type VmFaultInfo } from './fault-types';
import { FALLBACK, grabMappingEntry } from './grab';
import { unlockEntry } from './lock';
import type { DaxInode } from './types';

/**
 * pmdFallbackReason -- dax_fault_check_fallback: why a 2 MiB mapping cannot serve this fault, or
 * null. The file's 2 MiB grid must line up with the virtual one (colour), a private write needs
 * PTE-sized CoW, the aligned 2 MiB must lie inside the VMA, and wholly below EOF.
 */
export function pmdFallbackReason(vmf: VmFaultInfo, maxPgoff: number): PmdFallbackReason | null {
  const vma = vmf.vma;
  const vpage = vma.colour + (vmf.pgoff - vma.pgoff);
  if (vmf.pgoff % PMD_PAGES !== vpage % PMD_PAGES) return 'colour';
  if (vmf.write && !vma.shared) return 'private-write';
  const vbase = vpage - (vpage % PMD_PAGES);
  if (vbase < vma.colour || vbase + PMD_PAGES > vma.colour + vma.pages) return 'vma-bounds';
  const index = vmf.pgoff - (vmf.pgoff % PMD_PAGES);
  if ((index | (PMD_PAGES - 1)) >= maxPgoff) return 'eof';
  return null;
}

/**
 * daxIomapPmdFault -- docs/semantics.md §4.3: map the 2 MiB around the access with one PMD entry, or answer
 * FALLBACK (with the reason) so the caller retries with PTEs. SIGBUS when the PMD base is past EOF;
 * result 0 when a PTE table already occupies the slot (the caller retries as a PTE fault too).
 */
export async function daxIomapPmdFault(inode: DaxInode, vmf: VmFaultInfo, ops: IomapOps<DaxInode>): Promise<FaultOutcome> {
  const index = vmf.pgoff - (vmf.pgoff % PMD_PAGES);
  const pos = index * PAGE_SIZE;
  const maxPgoff = Math.ceil(inode.size / PAGE_SIZE);
  if (index >= maxPgoff) return faultOutcome(VmFault.SIGBUS);
  const reason = pmdFallbackReason(vmf, maxPgoff);
  if (reason !== null) return faultOutcome(VmFault.FALLBACK, reason);
  const m = inode.mapping;
  const entry = await grabMappingEntry(m, index, PMD_ORDER);
  if (entry === FALLBACK) return faultOutcome(VmFault.FALLBACK, 'pte-entries');
  const st: FaultState = { vmf, entry, pfn: 0, hole: false, fallback: null };
  const flags = IomapOp.DAX | IomapOp.FAULT | (vmf.write ? IomapOp.WRITE : 0);
  let ret: number = VmFault.FALLBACK;
  try {
    if (vmf.vma.ptesAt(vmf.pgoff)) return faultOutcome(0, 'pmd-busy');
    const it = new IomapIter(inode, pos, PMD_SIZE, flags);
    while (it.next(ops) > 0) {
      if (it.length() < PMD_SIZE) {
        st.fallback = 'extent-short';
        continue;
      }
      try {
        ret = daxFaultIter(it, st, true);
      } catch (e) {
        if (errnoOf(e) === 0) throw e;
        ret = VmFault.FALLBACK;
        st.fallback = 'direct-access';
      }
      if (ret !== VmFault.FALLBACK) it.status = it.advance(PMD_SIZE);
    }
  } finally {
    unlockEntry(m, st.entry);
  }
  if (ret === VmFault.FALLBACK && st.fallback === null) st.fallback = 'extent-short';
  return { result: ret, pfn: st.pfn, iomapError: 0, fallback: ret === VmFault.FALLBACK ? st.fallback : null, hole: st.hole };
}
