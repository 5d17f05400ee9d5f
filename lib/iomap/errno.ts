import type { ErrnoCode } from '../errors';

/**
 * Linux errno values used on the DAX paths. Status values inside iteration are negative errnos, as
 * in the kernel; public functions turn them into thrown fs-style errors.
 */
export const Errno = {
  ENOENT: 2,
  EINTR: 4,
  EIO: 5,
  ENXIO: 6,
  EAGAIN: 11,
  ENOMEM: 12,
  EFAULT: 14,
  EBUSY: 16,
  EINVAL: 22,
  EFBIG: 27,
  ENOSPC: 28,
  ERANGE: 34,
  EBADE: 52,
  EOPNOTSUPP: 95,
  EHWPOISON: 133,
} as const satisfies Partial<Record<ErrnoCode, number>>;

const byNumber = new Map<number, ErrnoCode>(
  (Object.keys(Errno) as (keyof typeof Errno)[]).map((code) => [Errno[code], code]),
);

/** errnoCode -- the symbolic name of a (positive or negative) errno, `EIO` when unknown. */
export function errnoCode(errno: number): ErrnoCode {
  return byNumber.get(Math.abs(errno)) ?? 'EIO';
}

/**
 * errnoOf -- the negative errno carried by a thrown fs-style error, or 0 when `e` is not one (a bug
 * that must propagate rather than be turned into a status).
 */
export function errnoOf(e: unknown): number {
  if (e instanceof Error) {
    const n = (e as { errno?: unknown }).errno;
    if (typeof n === 'number' && Number.isInteger(n) && n !== 0) return n < 0 ? n : -n;
  }
  return 0;
}
