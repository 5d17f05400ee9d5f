// The sizes every layer shares, named once. The page is that of every DAX mapping (a DAX file's block size
// must equal it); a PMD entry maps 2 MiB; badblocks count 512-byte sectors; write-back moves cache lines.
export const PAGE_SIZE = 4096;
export const PAGE_SHIFT = 12;
/** Pages per PMD entry (2 MiB). */
export const PMD_PAGES = 512;
export const PMD_ORDER = 9;
export const PMD_SIZE = PAGE_SIZE * PMD_PAGES;
export const SECTOR_SIZE = 512;
/** Bytes in one unit of write-back: a line reaches the media whole or not at all. */
export const CACHELINE_SIZE = 64;
