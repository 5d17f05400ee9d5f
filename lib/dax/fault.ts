import { PMD_ORDER } from '../iomap/constants';
import type { IomapOps } from '../iomap/types';
import { daxIomapPmdFault } from './fault-pmd';
import { daxIomapPteFault, faultOutcome } from './fault-pte';
import { VmFault, type FaultOutcome, type VmFaultInfo } from './fault-types';
import type { DaxInode } from './types';

/**
 * daxIomapFault -- dax_iomap_fault: order 0 is a PTE fault, PMD_ORDER a PMD fault, and any other
 * order (a PUD) falls back. The caller holds what serialises faults against truncate and punch.
 */
export function daxIomapFault(inode: DaxInode, vmf: VmFaultInfo, order: number, ops: IomapOps<DaxInode>): Promise<FaultOutcome> {
  if (order === 0) return daxIomapPteFault(inode, vmf, ops);
  if (order === PMD_ORDER) return daxIomapPmdFault(inode, vmf, ops);
  return Promise.resolve(faultOutcome(VmFault.FALLBACK));
}
