import type { PageAccess } from './address-space';

/** What one page of a region shows (the region's side of the page tables). */
export const PageState = {
  /** Nothing: inaccessible (PROT_NONE). A raw access is SIGSEGV, as in C. */
  NONE: 0,
  /** The zero page, read-only (a hole or unwritten extent). */
  ZERO: 1,
  /** A device page, read-only; a store is SIGSEGV. */
  READ: 2,
  /** A device page, read-only until the first store, which is caught and recorded (write trap). */
  TRAP: 3,
  /** A device page, writable. */
  WRITE: 4,
  /** A private anonymous copy (copy-on-write); never reaches the file. */
  COW: 5,
} as const;
export type PageState = (typeof PageState)[keyof typeof PageState];

/** The states of a page that shows a device page. */
export type DevicePageState = typeof PageState.READ | typeof PageState.TRAP | typeof PageState.WRITE;

/** The access a device page is mapped (or protected) with in each of its states. */
export const DEVICE_PAGE_ACCESS = {
  [PageState.READ]: 'read',
  [PageState.TRAP]: 'trap',
  [PageState.WRITE]: 'write',
} as const satisfies Record<DevicePageState, PageAccess>;

/** isDevice -- the page shows a device page (the file's storage). */
export function isDevice(s: number): boolean {
  return s === PageState.READ || s === PageState.TRAP || s === PageState.WRITE;
}

/**
 * forRuns -- call `fn(first, count)` for each maximal run of consecutive indices in `[from, to)`
 * where `want(i)` holds, so native calls (and kernel VMAs) cover whole runs, not single pages.
 */
export function forRuns(from: number, to: number, want: (i: number) => boolean, fn: (first: number, count: number) => void): void {
  let i = from;
  while (i < to) {
    if (!want(i)) {
      i++;
      continue;
    }
    let j = i + 1;
    while (j < to && want(j)) j++;
    fn(i, j - i);
    i = j;
  }
}
