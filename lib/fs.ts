// pmemdax/fs -- the entry for filesystem authors: the kernel's DAX machinery in userspace, grouped under
// the kernel's headings. A filesystem answers iomap_begin for its inodes, calls the fs/dax.c operations
// where a kernel filesystem calls them, and lets DaxFile map its files. Applications need only the root
// entry ('pmemdax'); internal helpers (entry locking, the wait table, iteration steps) are not exported.

// include/linux/iomap.h: the extent a filesystem reports for a file range, and the units it speaks in.
export { IOMAP_NULL_ADDR, IomapFlag, IomapOp, IomapType, PAGE_SHIFT, PAGE_SIZE, PMD_ORDER, PMD_PAGES, PMD_SIZE, SECTOR_SIZE } from './iomap/constants';
export type { Iomap, IomapBeginResult, IomapInode, IomapOps } from './iomap/types';
// include/uapi/asm-generic/errno*.h: iomap operations fail with negative errnos.
export { Errno, errnoCode, errnoOf } from './iomap/errno';
export type { ErrnoCode } from './errors';

// fs/iomap/: the iterator and the operations built on it alone.
export { IomapIter } from './iomap/iter';
export { iomapSeekData, iomapSeekHole, type SeekProbe } from './iomap/seek';
export { FiemapFlag, iomapFiemap, type FiemapExtent } from './iomap/fiemap';
export { iomapBmap } from './iomap/bmap';
export { iomapSwapfileActivate, type SwapExtent, type SwapfileResult } from './iomap/swapfile';

// fs/dax.c: a DAX file's mapping and the file operations over it.
export type { DaxInode } from './dax/types';
export { DaxMapping, type PageTableHooks } from './dax/mapping';
export { daxError, type DaxErrorDetails } from './dax/errors';
export { daxRead, type DaxRwOptions } from './dax/read';
export { daxWrite, daxWriteSync } from './dax/write';
export { daxZeroRange, daxZeroRangeSync } from './dax/zero-range';
export { daxTruncatePage } from './dax/truncate-page';
export { daxZeroEof, daxZeroEofSync, eofGap } from './dax/zero-eof';
export { daxFileUnshare } from './dax/unshare';
export { daxDedupeCompare } from './dax/dedupe';
export { daxSeekData, daxSeekHole, type DaxSeekOptions } from './dax/seek';
export { daxFiemap } from './dax/fiemap';
export { daxWritebackMappingRange, type WritebackControl } from './dax/writeback';
export { daxLayoutBusyPageRange, type BusyPage } from './dax/layout-busy';
export { daxBreakLayout, type BreakLayoutOptions } from './dax/break-layout';
// fs/dax.c faults, for a filesystem that brings its own VMAs (DaxFile runs them for its regions).
export { daxIomapFault } from './dax/fault';
export { daxFinishSyncFault, type DatasyncRange } from './dax/finish-sync-fault';
export { VmFault, type FaultOutcome, type FaultVma, type PageTableInsert, type PmdFallbackReason, type VmFaultInfo } from './dax/fault-types';

// include/linux/fs.h: the invalidate lock (filemap_invalidate_lock) that faults take shared.
export { AsyncRwLock, withInvalidateLocks } from './dax/invalidate-lock';

// mm/: mapping a DAX file into memory -- the file's VMAs, their pages, and pins on them.
export { DaxFile, type DaxFileHost, type FileRange, type MmapOptions } from './vm/file';
export { DaxRegion, type RegionRange } from './vm/region';
export { RegionPin } from './vm/pin';
export { PageState } from './vm/page-state';
export { AddressSpace, MAX_ADDRESS_SPACE, VM_PAGE, type DeviceAccess, type PageAccess } from './vm/address-space';
export type { VmStats } from './vm/stats';
