import * as units from '../units';

// Plain constants, not `export { … } from`: TypeScript compiles a re-export to a getter, and V8 kept this
// module's exports as a dictionary then (%HasFastProperties false), so each use on the write path was a call
// of the generic property load instead of a constant.
export const PAGE_SHIFT = units.PAGE_SHIFT;
export const PAGE_SIZE = units.PAGE_SIZE;
export const PMD_ORDER = units.PMD_ORDER;
export const PMD_PAGES = units.PMD_PAGES;
export const PMD_SIZE = units.PMD_SIZE;
export const SECTOR_SIZE = units.SECTOR_SIZE;

/**
 * `addr` of a mapping that has no storage (HOLE, DELALLOC, INLINE). The kernel uses all ones; -1 is
 * the signed spelling of that and can never be a device offset.
 */
export const IOMAP_NULL_ADDR = -1;

/** Mapping types, with the modern numeric values (HOLE = 0, so a zeroed srcmap means "no source"). */
export const IomapType = {
  HOLE: 0,
  DELALLOC: 1,
  MAPPED: 2,
  UNWRITTEN: 3,
  INLINE: 4,
} as const;
export type IomapType = (typeof IomapType)[keyof typeof IomapType];

/** Flags a filesystem sets on a mapping it returns from `begin`. */
export const IomapFlag = {
  NEW: 1 << 0,
  DIRTY: 1 << 1,
  SHARED: 1 << 2,
  MERGED: 1 << 3,
  XATTR: 1 << 5,
  /** Set by the core only: the mapping must be re-queried. Never on DAX paths. */
  STALE: 1 << 9,
  /** First bit free for the filesystem's own use. */
  PRIVATE: 1 << 12,
} as const;

/** Operation flags passed to `begin`/`end`. No flag at all means a plain read. */
export const IomapOp = {
  WRITE: 1 << 0,
  ZERO: 1 << 1,
  REPORT: 1 << 2,
  FAULT: 1 << 3,
  DIRECT: 1 << 4,
  NOWAIT: 1 << 5,
  OVERWRITE_ONLY: 1 << 6,
  UNSHARE: 1 << 7,
  DAX: 1 << 8,
} as const;
