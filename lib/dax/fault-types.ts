import { Errno } from '../iomap/errno';

/**
 * VM_FAULT_* bits a DAX fault returns (docs/semantics.md §4.1), with the kernel's values. NOPAGE (possibly
 * with MAJOR) is success; DONE_COW is a private copy installed; the rest are outcomes the caller acts on.
 */
export const VmFault = {
  OOM: 0x0001,
  SIGBUS: 0x0002,
  MAJOR: 0x0004,
  HWPOISON: 0x0010,
  NOPAGE: 0x0100,
  FALLBACK: 0x0800,
  DONE_COW: 0x1000,
  NEEDDSYNC: 0x2000,
} as const;

/** The bits that mean the access was not satisfied. */
export const VM_FAULT_ERROR = VmFault.OOM | VmFault.SIGBUS | VmFault.HWPOISON | VmFault.FALLBACK;

/** dax_fault_return -- 0 → NOPAGE, -ENOMEM → OOM, -EHWPOISON → HWPOISON, any other error → SIGBUS. */
export function daxFaultReturn(errno: number): number {
  if (errno === 0) return VmFault.NOPAGE;
  if (errno === -Errno.ENOMEM) return VmFault.OOM;
  if (errno === -Errno.EHWPOISON) return VmFault.HWPOISON;
  return VmFault.SIGBUS;
}

/** What a fault asks the page tables to install at one file page (PTE) or 2 MiB (PMD). */
export interface PageTableInsert {
  /** Device page (first of 512 for a PMD); ignored for the zero page. */
  readonly pfn: number;
  /** The shared zero page / huge zero folio, read-only. */
  readonly zero: boolean;
  /** Writable now (a write fault). */
  readonly write: boolean;
  /**
   * Read-only, but a later store may make it writable without a fault through the filesystem: the
   * page is an ordinary mapped block of this file, so the store only has to be recorded (DIRTY).
   */
  readonly writableOnTrap: boolean;
}

/**
 * FaultVma -- one mapping of a file (a VMA) as the fault path sees it: its flags, where it sits in
 * the file and in the virtual 2 MiB grid, and its page tables. lib/vm's regions implement it.
 */
export interface FaultVma {
  /** VM_SHARED; a write fault on a private VMA copies on write into anonymous memory. */
  readonly shared: boolean;
  /** VM_SYNC (MAP_SYNC). */
  readonly mapSync: boolean;
  /** Whether the VMA may be written at all (PROT_WRITE). */
  readonly writable: boolean;
  /** File page mapped at the VMA's first page (vm_pgoff). */
  readonly pgoff: number;
  /** Pages the VMA covers. */
  readonly pages: number;
  /** Virtual page number of the VMA's first page, modulo 512: its place in the 2 MiB grid. */
  readonly colour: number;
  /** A huge (PMD) mapping already covers file page `pgoff`. */
  hugeAt(pgoff: number): boolean;
  /** Some page of the 2 MiB virtual slot holding file page `pgoff` is mapped by a PTE (a page table exists). */
  ptesAt(pgoff: number): boolean;
  insertPte(pgoff: number, what: PageTableInsert): void;
  /** `pgoff` is the PMD base; the 2 MiB virtual range lies inside the VMA (the fault checked it). */
  insertPmd(pgoff: number, what: PageTableInsert): void;
  /** split_huge_pmd after a PMD fallback: no 2 MiB mapping may stay over `pgoff`. */
  splitHuge(pgoff: number): void;
  /** finish_fault for a private CoW: an anonymous page holding `data` (4 KiB) at `pgoff`. */
  installCow(pgoff: number, data: Uint8Array): void;
}

/** struct vm_fault, as much of it as DAX reads. */
export interface VmFaultInfo {
  readonly vma: FaultVma;
  /** File page of the access. */
  readonly pgoff: number;
  /** FAULT_FLAG_WRITE. */
  readonly write: boolean;
}

/** What daxIomapFault answers: VmFault bits and, for NEEDDSYNC, the pfn to finish with. */
export interface FaultOutcome {
  readonly result: number;
  readonly pfn: number;
  /** The raw iomap_begin error of a PTE fault (iomap_errp), 0 when none. */
  readonly iomapError: number;
  /** Why a PMD fault fell back (for stats and tests); null otherwise. */
  readonly fallback: PmdFallbackReason | null;
  /** Served from a hole or unwritten extent (the zero page, or a zeroed private copy). */
  readonly hole: boolean;
}

/** The reasons of docs/semantics.md §4.3 / invariant 21 for a PMD fault to retry as PTE faults. */
export type PmdFallbackReason =
  | 'colour'
  | 'private-write'
  | 'vma-bounds'
  | 'eof'
  | 'pte-entries'
  | 'extent-short'
  | 'direct-access'
  | 'extent-type'
  | 'pmd-busy';
