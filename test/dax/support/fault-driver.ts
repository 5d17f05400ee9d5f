import { daxIomapFault } from '../../../lib/dax/fault';
import { VmFault, type FaultOutcome, type FaultVma } from '../../../lib/dax/fault-types';
import { daxFinishSyncFault, type DatasyncRange } from '../../../lib/dax/finish-sync-fault';
import type { DaxInode } from '../../../lib/dax/types';
import { PMD_ORDER } from '../../../lib/iomap/constants';
import type { IomapOps } from '../../../lib/iomap/types';

export interface DrivenFault {
  /** The VmFault bits the access ended with (after finish-sync-fault, if one ran). */
  readonly result: number;
  /** Order of the fault that produced the result. */
  readonly order: 0 | 9;
  readonly pmd: FaultOutcome | null;
  readonly pte: FaultOutcome | null;
}

/**
 * driveFault -- what a filesystem's huge_fault handler does around the DAX fault: a PMD fault when
 * `huge`, a PTE fault on FALLBACK (or 0), and finish-sync-fault for NEEDDSYNC with `datasync`.
 */
export async function driveFault(
  inode: DaxInode,
  ops: IomapOps<DaxInode>,
  vma: FaultVma,
  pgoff: number,
  write: boolean,
  opts: { huge?: boolean; datasync?: DatasyncRange } = {},
): Promise<DrivenFault> {
  const vmf = { vma, pgoff, write };
  let pmd: FaultOutcome | null = null;
  let pte: FaultOutcome | null = null;
  let order: 0 | 9 = 0;
  if (opts.huge !== false) {
    pmd = await daxIomapFault(inode, vmf, PMD_ORDER, ops);
    if (pmd.result !== VmFault.FALLBACK && pmd.result !== 0) order = PMD_ORDER;
  }
  if (order === 0) {
    vma.splitHuge(pgoff);
    pte = await daxIomapFault(inode, vmf, 0, ops);
  }
  const out = (pte ?? pmd) as FaultOutcome;
  let result = out.result;
  if (result & VmFault.NEEDDSYNC && opts.datasync) {
    result = await daxFinishSyncFault(inode, vmf, order, out.pfn, opts.datasync);
  }
  return { result, order, pmd, pte };
}
