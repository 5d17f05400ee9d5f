import { IomapFlag, IomapOp, IomapType, PAGE_SIZE, PMD_PAGES } from '../iomap/constants';
import { Errno, errnoOf } from '../iomap/errno';
import type { IomapIter } from '../iomap/iter';
import type { Iomap } from '../iomap/types';
import { daxCopyAround } from './copy-around';
import { daxDirectAccess } from './direct-access';
import type { DaxEntry } from './entry';
import { daxFaultReturn, VmFault, type PmdFallbackReason, type VmFaultInfo } from './fault-types';
import { insertEntry } from './insert';
import { iomapPgoff } from './pgoff';
import { stagingBuffer } from './scratch';
import type { DaxInode } from './types';

/** Per-fault state the body fills in for its caller. */
export interface FaultState {
  readonly vmf: VmFaultInfo;
  entry: DaxEntry;
  /** The device page of a NEEDDSYNC result. */
  pfn: number;
  /** The fault was served from a hole or unwritten extent (zero page, or a zeroed CoW copy). */
  hole: boolean;
  fallback: PmdFallbackReason | null;
}

function isHole(m: Readonly<Iomap>): boolean {
  return m.type === IomapType.HOLE || m.type === IomapType.UNWRITTEN;
}

/**
 * copyCowPage -- the private copy-on-write of a PTE fault: zeros for a hole or unwritten extent,
 * else a machine-check-safe copy of the block. The file is never written.
 */
function copyCowPage(it: IomapIter<DaxInode>, st: FaultState): number {
  const src = it.readSource();
  const page = stagingBuffer(PAGE_SIZE);
  if (isHole(src)) {
    page.fill(0);
    st.hole = true;
  } else if (src.type === IomapType.MAPPED) {
    const w = daxDirectAccess(src.daxDev, iomapPgoff(src, it.pos), 1);
    if (typeof w === 'number') return daxFaultReturn(w);
    try {
      src.daxDev?.copySafe(iomapPgoff(src, it.pos) * PAGE_SIZE, page);
    } catch (e) {
      const errno = errnoOf(e);
      if (errno === 0) throw e;
      return daxFaultReturn(errno === -Errno.EIO ? -Errno.EHWPOISON : errno);
    }
  } else {
    return VmFault.SIGBUS;
  }
  st.vmf.vma.installCow(st.vmf.pgoff, page);
  return VmFault.DONE_COW;
}

/**
 * daxFaultIter -- dax_fault_iter: the body of a PTE (`pmd` false) or PMD fault over one iomap
 * mapping, with the entry locked. Private CoW, hole read → zero page, otherwise direct_access the
 * block, record it in the entry, copy around a shared (reflinked) destination, and either return
 * NEEDDSYNC (MAP_SYNC with metadata not yet durable) or install the page-table mapping.
 */
export function daxFaultIter(it: IomapIter<DaxInode>, st: FaultState, pmd: boolean): number {
  const { vmf } = st;
  const vma = vmf.vma;
  const m = it.inode.mapping;
  const iomap = it.iomap;
  const write = (it.flags & IomapOp.WRITE) !== 0;
  const size = pmd ? PAGE_SIZE * PMD_PAGES : PAGE_SIZE;
  const fail = pmd ? VmFault.FALLBACK : 0;

  if (!pmd && vmf.write && !vma.shared) return copyCowPage(it, st);

  if (!write && isHole(iomap)) {
    st.entry = insertEntry(m, st.entry, { pfn: 0, zero: true }, { write: false, sync: false, shared: false });
    st.hole = true;
    const zero = { pfn: 0, zero: true, write: false, writableOnTrap: false };
    if (pmd) vma.insertPmd(st.entry.index, zero);
    else vma.insertPte(vmf.pgoff, zero);
    return VmFault.NOPAGE;
  }

  const shared = (iomap.flags & IomapFlag.SHARED) !== 0;
  if (iomap.type !== IomapType.MAPPED && !shared) {
    if (pmd) st.fallback = 'extent-type';
    return fail || VmFault.SIGBUS;
  }

  const pages = pmd ? PMD_PAGES : 1;
  const pgoff = iomapPgoff(iomap, it.pos);
  const w = daxDirectAccess(iomap.daxDev, pgoff, pages);
  if (typeof w === 'number' || w.pages < pages || (pmd && pgoff % PMD_PAGES !== 0)) {
    if (pmd) {
      st.fallback = 'direct-access';
      return VmFault.FALLBACK;
    }
    return daxFaultReturn(typeof w === 'number' ? w : -Errno.EIO);
  }

  const sync = write && vma.mapSync && (iomap.flags & IomapFlag.DIRTY) !== 0;
  st.entry = insertEntry(m, st.entry, { pfn: pgoff, zero: false }, { write, sync, shared });

  if (write && shared) {
    const r = daxCopyAround(it.pos, size, size, it.readSource(), it.iomap, true);
    if (r < 0) return daxFaultReturn(r);
  }

  if (sync) {
    st.pfn = pgoff;
    return VmFault.NEEDDSYNC;
  }

  // A read-only page may turn writable on a first store only where the kernel's write fault would
  // change nothing but DIRTY: an ordinary block of a writable shared mapping whose metadata is durable.
  const writableOnTrap =
    !write && vma.shared && vma.writable && !shared && !(vma.mapSync && (iomap.flags & IomapFlag.DIRTY) !== 0);
  const what = { pfn: pgoff, zero: false, write, writableOnTrap };
  if (pmd) vma.insertPmd(st.entry.index, what);
  else vma.insertPte(vmf.pgoff, what);
  return VmFault.NOPAGE;
}
