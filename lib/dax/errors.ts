import { errnoError, type ErrnoError, type ErrorDetails } from '../errors';
import { errnoCode } from '../iomap/errno';

export type DaxErrorDetails = ErrorDetails;

/** daxError -- an fs-style error for a negative errno of the DAX paths (errnoError by its name). */
export function daxError(errno: number, syscall: string, details: DaxErrorDetails = {}): ErrnoError {
  return errnoError(errnoCode(errno), syscall, details);
}
