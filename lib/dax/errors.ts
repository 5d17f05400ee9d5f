import { errnoError, type ErrnoError } from '../errors';
import { constants } from 'node:os';
import { errnoCode } from '../iomap/errno';

export interface DaxErrorDetails {
  readonly path?: string;
  readonly offset?: number;
  readonly length?: number;
}

/**
 * daxError -- an fs-style error for a negative errno. Codes that Node's table lacks (EHWPOISON,
 * EBADE) are built in the same shape by hand.
 */
export function daxError(errno: number, syscall: string, details: DaxErrorDetails = {}): ErrnoError {
  const code = errnoCode(errno);
  if (code in constants.errno) return errnoError(code as keyof typeof constants.errno, syscall, details);
  let message = `${code}: ${syscall}`;
  if (details.path !== undefined) message += ` '${details.path}'`;
  if (details.offset !== undefined) message += ` at offset ${details.offset}`;
  const error = new Error(message) as ErrnoError;
  error.code = code;
  error.errno = -Math.abs(errno);
  error.syscall = syscall;
  if (details.path !== undefined) error.path = details.path;
  if (details.offset !== undefined) error.offset = details.offset;
  if (details.length !== undefined) error.length = details.length;
  return error;
}
