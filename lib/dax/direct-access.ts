import type { DaxDevice, DirectAccessResult } from '../device/types';
import { Errno, errnoOf } from '../iomap/errno';

/** Modes of dax_direct_access. RECOVERY_WRITE is for the write(2) path only, after poison. */
export const DaxAccessMode = {
  ACCESS: 0,
  RECOVERY_WRITE: 1,
} as const;
export type DaxAccessMode = (typeof DaxAccessMode)[keyof typeof DaxAccessMode];

const RECOVERY = Object.freeze({ recovery: true });

/**
 * The checks and error translation shared by both forms below; `pagesOnly` asks the device for the
 * count alone (the caller has checked that it can answer that).
 */
function access(device: DaxDevice | null, pgoff: number, nrPages: number, mode: DaxAccessMode, pagesOnly: boolean): DirectAccessResult | number {
  if (device === null) return -Errno.EOPNOTSUPP;
  if (device.closed) return -Errno.ENXIO;
  if (nrPages < 0) return -Errno.EINVAL;
  if (nrPages === 0) return -Errno.ERANGE;
  const opts = mode === DaxAccessMode.RECOVERY_WRITE ? RECOVERY : undefined;
  try {
    if (pagesOnly) {
      const pages = (device.directAccessPages as NonNullable<DaxDevice['directAccessPages']>)(pgoff, nrPages, opts);
      return pages <= 0 ? -Errno.ERANGE : pages;
    }
    const r = device.directAccess(pgoff, nrPages, opts);
    return r.pages <= 0 ? -Errno.ERANGE : r;
  } catch (e) {
    const errno = errnoOf(e);
    if (errno === 0) throw e;
    // Devices report poison as EIO, as pmem did before 6.5; the DAX layer speaks EHWPOISON.
    return errno === -Errno.EIO ? -Errno.EHWPOISON : errno;
  }
}

/**
 * daxDirectAccess -- docs/semantics.md §1.2 over a DaxDevice: a window of at least 1 and at most `nrPages`
 * pages at device page `pgoff`, or a negative errno: `-EOPNOTSUPP` (no device), `-ENXIO` (closed),
 * `-EINVAL` (negative count), `-ERANGE` (nothing available), `-EHWPOISON` (the first page is bad,
 * ACCESS mode). Devices stop a window at the first bad page rather than failing the whole range,
 * so poison later in the range shows up as a shorter window (see docs/design-dax.md).
 */
export function daxDirectAccess(
  device: DaxDevice | null,
  pgoff: number,
  nrPages: number,
  mode: DaxAccessMode = DaxAccessMode.ACCESS,
): DirectAccessResult | number {
  return access(device, pgoff, nrPages, mode, false);
}

/**
 * daxDirectAccessPages -- daxDirectAccess for callers that copy by device offset (read(2), write(2)):
 * the page count or the same negative errno, without building a view where the device can avoid it.
 */
export function daxDirectAccessPages(device: DaxDevice | null, pgoff: number, nrPages: number, mode: DaxAccessMode = DaxAccessMode.ACCESS): number {
  const pagesOnly = device !== null && device.directAccessPages !== undefined;
  const r = access(device, pgoff, nrPages, mode, pagesOnly);
  return typeof r === 'number' ? r : r.pages;
}

/** daxMem2BlkErr -- poison seen by file I/O is an I/O error. */
export function daxMem2BlkErr(errno: number): number {
  return errno === -Errno.EHWPOISON ? -Errno.EIO : errno;
}
