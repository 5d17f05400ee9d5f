import { PmemdaxError, errnoError, type ErrnoCode, type ErrnoError } from '../errors';

/** ERR_PMEMDAX_CORRUPT naming the structure (`what`) and its device byte offset. */
export function corrupt(path: string, what: string, offset: number, why: string): PmemdaxError {
  return new PmemdaxError('ERR_PMEMDAX_CORRUPT', `pool '${path}' is corrupt: ${what} at offset ${offset}: ${why}`, { path, offset });
}

/** An fs-style error for a pool call; `path` is `<pool>:<name>` or the pool's path. */
export function poolError(code: ErrnoCode, syscall: string, path: string, offset?: number): ErrnoError {
  return errnoError(code, syscall, offset === undefined ? { path } : { path, offset });
}

/**
 * `read()`, with a page of a metadata tree that does not decode (a RangeError from its cells, a cycle)
 * reported as ERR_PMEMDAX_CORRUPT: what an inode or a name read on demand meets in a damaged pool.
 */
export function readingTrees<T>(path: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (doesNotDecode(e)) throw corrupt(path, 'metadata tree', 0, `a page that does not decode (${e.message})`);
    throw e;
  }
}

/**
 * A RangeError from reading a page's cells (Node's buffer bounds, our cycle check: each has a `code`). V8's
 * own RangeErrors (an allocation that failed, a stack overflow) carry none: they say nothing about the media.
 */
export function doesNotDecode(e: unknown): e is RangeError {
  return e instanceof RangeError && typeof (e as { code?: unknown }).code === 'string';
}
