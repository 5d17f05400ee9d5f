import { constants } from 'node:os';
import { getSystemErrorMap } from 'node:util';

/** Conditions that are not errno values. Each is described in docs/errors.md. */
export type PmemdaxErrorCode =
  | 'ERR_PMEMDAX_CLOSED'
  | 'ERR_PMEMDAX_READONLY'
  | 'ERR_PMEMDAX_EMPTY'
  | 'ERR_PMEMDAX_SIZE'
  | 'ERR_PMEMDAX_UNSUPPORTED_SOURCE'
  | 'ERR_PMEMDAX_CLEAR_UNSUPPORTED'
  | 'ERR_PMEMDAX_BAD_ENV'
  | 'ERR_PMEMDAX_TOO_MANY_REGIONS'
  | 'ERR_PMEMDAX_SIGBUS'
  | 'ERR_PMEMDAX_DEVDAX_ALIGNMENT'
  | 'ERR_PMEMDAX_POOL_LOCKED'
  | 'ERR_PMEMDAX_HAS_DATA'
  | 'ERR_PMEMDAX_VOLATILE'
  | 'ERR_PMEMDAX_CORRUPT'
  | 'ERR_PMEMDAX_ADDON';

/** Extra context an error may carry, as Node's fs errors do. */
export interface ErrorDetails {
  readonly path?: string;
  readonly offset?: number;
  readonly length?: number;
}

/** An errno failure in the shape of Node's fs errors (`code`, negative `errno`, `syscall`, `path`). */
export interface ErrnoError extends Error {
  code: string;
  errno: number;
  syscall: string;
  path?: string;
  offset?: number;
  length?: number;
}

export class PmemdaxError extends Error {
  readonly code: PmemdaxErrorCode;
  readonly path?: string;
  readonly offset?: number;
  readonly length?: number;

  constructor(code: PmemdaxErrorCode, message: string, details: ErrorDetails = {}) {
    super(message);
    this.name = 'PmemdaxError';
    this.code = code;
    if (details.path !== undefined) this.path = details.path;
    if (details.offset !== undefined) this.offset = details.offset;
    if (details.length !== undefined) this.length = details.length;
  }
}

export type ErrnoCode = keyof typeof constants.errno;

const systemErrors = getSystemErrorMap();

/** Builds an fs-style error for `code` raised by `syscall`, worded like Node's own. */
export function errnoError(code: ErrnoCode, syscall: string, details: ErrorDetails = {}): ErrnoError {
  const errno = -constants.errno[code];
  const description = systemErrors.get(errno)?.[1] ?? code;
  let message = `${code}: ${description}, ${syscall}`;
  if (details.path !== undefined) message += ` '${details.path}'`;
  if (details.offset !== undefined) message += ` at offset ${details.offset}`;
  const error = new Error(message) as ErrnoError;
  error.code = code;
  error.errno = errno;
  error.syscall = syscall;
  if (details.path !== undefined) error.path = details.path;
  if (details.offset !== undefined) error.offset = details.offset;
  if (details.length !== undefined) error.length = details.length;
  return error;
}

/** True for an fs-style error with the given code. */
export function isErrnoError(value: unknown, code?: string): value is ErrnoError {
  return value instanceof Error && typeof (value as Partial<ErrnoError>).errno === 'number' &&
    (code === undefined || (value as ErrnoError).code === code);
}
