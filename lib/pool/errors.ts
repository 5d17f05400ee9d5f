import { PmemdaxError, errnoError, type ErrnoCode, type ErrnoError } from '../errors';

/** ERR_PMEMDAX_CORRUPT naming the structure (`what`) and its device byte offset. */
export function corrupt(path: string, what: string, offset: number, why: string): PmemdaxError {
  return new PmemdaxError('ERR_PMEMDAX_CORRUPT', `pool '${path}' is corrupt: ${what} at offset ${offset}: ${why}`, { path, offset });
}

/** An fs-style error for a pool call; `path` is `<pool>:<name>` or the pool's path. */
export function poolError(code: ErrnoCode, syscall: string, path: string, offset?: number): ErrnoError {
  return errnoError(code, syscall, offset === undefined ? { path } : { path, offset });
}
