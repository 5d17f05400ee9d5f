// errors -- the one place pmemdax errors are built, in TypeScript and (through setErrorClasses) in native code.
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
  | 'ERR_PMEMDAX_FORMAT_VERSION'
  | 'ERR_PMEMDAX_REFRESH_FAILED'
  | 'ERR_PMEMDAX_ADDON'
  | 'ERR_PMEMDAX_INTERNAL';

/** Misuse, with Node's own codes: a TypeError for the first two, a RangeError for the last. */
export type ArgumentErrorCode = 'ERR_INVALID_ARG_TYPE' | 'ERR_INVALID_ARG_VALUE' | 'ERR_OUT_OF_RANGE';

// Linux errno values the DAX paths report that Node's table lacks.
const extraErrno = { EBADE: 52, EHWPOISON: 133 } as const;

/** The symbolic name of an errno value: the `code` of a system error. */
export type ErrnoCode = keyof typeof constants.errno | keyof typeof extraErrno;

/** Every `code` a pmemdax error carries. */
export type ErrorCode = PmemdaxErrorCode | ErrnoCode | ArgumentErrorCode;

/** Extra context an error may carry, as Node's fs errors do. */
export interface ErrorDetails {
  readonly path?: string;
  readonly offset?: number;
  readonly length?: number;
  /** The error this one reports (Error's own `cause`). */
  readonly cause?: unknown;
  /** Why, when the errno alone does not say: appended to an errnoError's message in parentheses. */
  readonly detail?: string;
}

/** An errno failure in the shape of Node's fs errors (`code`, negative `errno`, `syscall`, `path`). */
export interface ErrnoError extends PmemdaxError {
  readonly code: ErrnoCode;
  readonly errno: number;
  readonly syscall: string;
}

// Every error built here carries this brand, so `instanceof PmemdaxError` holds for the TypeError and
// RangeError classes too, which must keep their own identity (users and Node test for it).
const brand = Symbol('pmemdax.error');

function attach(error: Error, details: ErrorDetails): void {
  const fields = error as { path?: string; offset?: number; length?: number };
  if (details.path !== undefined) fields.path = details.path;
  if (details.offset !== undefined) fields.offset = details.offset;
  if (details.length !== undefined) fields.length = details.length;
}

function errorOptions(details: ErrorDetails): ErrorOptions | undefined {
  return 'cause' in details ? { cause: details.cause } : undefined;
}

/**
 * PmemdaxError -- `ERR_PMEMDAX_*` conditions (name 'PmemdaxError') and system errors (errnoError; name
 * 'Error', as Node's fs errors). `instanceof PmemdaxError` is also true of PmemdaxTypeError and
 * PmemdaxRangeError, the misuse errors: every error pmemdax throws passes it.
 */
export class PmemdaxError extends Error {
  declare readonly [brand]: true;
  readonly code: ErrorCode;
  declare readonly errno?: number;
  declare readonly syscall?: string;
  declare readonly path?: string;
  declare readonly offset?: number;
  declare readonly length?: number;

  constructor(code: PmemdaxErrorCode | ErrnoCode, message: string, details: ErrorDetails = {}) {
    super(message, errorOptions(details));
    // A system error keeps the name Node's fs errors have.
    this.name = code.startsWith('ERR_') ? 'PmemdaxError' : 'Error';
    this.code = code;
    attach(this, details);
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    // A subclass keeps the ordinary prototype test; only PmemdaxError itself means "any pmemdax error".
    if (this !== PmemdaxError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === 'object' && value !== null && brand in value;
  }
}

/** Misuse of the wrong type or value: code ERR_INVALID_ARG_TYPE or ERR_INVALID_ARG_VALUE. */
export class PmemdaxTypeError extends TypeError {
  declare readonly [brand]: true;
  readonly code: 'ERR_INVALID_ARG_TYPE' | 'ERR_INVALID_ARG_VALUE';

  constructor(code: PmemdaxTypeError['code'], message: string) {
    super(message);
    this.code = code;
  }
}

/** A number outside what is allowed: `new PmemdaxRangeError(message)`, code ERR_OUT_OF_RANGE. */
export class PmemdaxRangeError extends RangeError {
  declare readonly [brand]: true;
  readonly code = 'ERR_OUT_OF_RANGE';
}

for (const cls of [PmemdaxError, PmemdaxTypeError, PmemdaxRangeError]) {
  Object.defineProperty(cls.prototype, brand, { value: true });
}

const systemErrors = getSystemErrorMap();

/**
 * errnoError -- an fs-style error for `code` raised by `syscall`, worded like Node's own. A code Node's
 * table lacks (EHWPOISON, EBADE) has no description: the message is `<code>: <syscall>`.
 */
export function errnoError(code: ErrnoCode, syscall: string, details: ErrorDetails = {}): ErrnoError {
  const errno = -(code in extraErrno ? extraErrno[code as keyof typeof extraErrno] : constants.errno[code as keyof typeof constants.errno]);
  let message = code in extraErrno ? `${code}: ${syscall}` : `${code}: ${systemErrors.get(errno)?.[1] ?? code}, ${syscall}`;
  if (details.path !== undefined) message += ` '${details.path}'`;
  if (details.offset !== undefined) message += ` at offset ${details.offset}`;
  if (details.detail !== undefined) message += ` (${details.detail})`;
  const error = new PmemdaxError(code, message, details) as { -readonly [K in keyof ErrnoError]: ErrnoError[K] };
  error.errno = errno;
  error.syscall = syscall;
  return error;
}

/** isErrnoCode -- `name` is an errno name errnoError can build. */
export function isErrnoCode(name: string): name is ErrnoCode {
  return name in constants.errno || name in extraErrno;
}

/** argTypeError -- an argument of the wrong type: a TypeError with code ERR_INVALID_ARG_TYPE. */
export function argTypeError(message: string): PmemdaxTypeError {
  return new PmemdaxTypeError('ERR_INVALID_ARG_TYPE', message);
}

/** argValueError -- an argument of the right type but a value not accepted: a TypeError, ERR_INVALID_ARG_VALUE. */
export function argValueError(message: string): PmemdaxTypeError {
  return new PmemdaxTypeError('ERR_INVALID_ARG_VALUE', message);
}

/** outOfRangeError -- a number outside what is allowed: a RangeError with code ERR_OUT_OF_RANGE. */
export function outOfRangeError(message: string): PmemdaxRangeError {
  return new PmemdaxRangeError(message);
}

/** internalError -- an invariant of pmemdax itself did not hold: a bug, ERR_PMEMDAX_INTERNAL. */
export function internalError(message: string): PmemdaxError {
  return new PmemdaxError('ERR_PMEMDAX_INTERNAL', message);
}

/** True for an fs-style error with the given code. */
export function isErrnoError(value: unknown, code?: string): value is ErrnoError {
  return value instanceof Error && typeof (value as Partial<ErrnoError>).errno === 'number' &&
    (code === undefined || (value as ErrnoError).code === code);
}

/** An error as plain fields, to cross a thread (a worker's structured clone keeps no `code`, `errno` or `path`). */
export interface ErrorFields {
  readonly code: string;
  readonly message: string;
  readonly errno?: number;
  readonly syscall?: string;
  readonly path?: string;
  readonly offset?: number;
}

export function errorFields(e: unknown): ErrorFields {
  const f = (e ?? {}) as Partial<ErrorFields>;
  return {
    code: typeof f.code === 'string' ? f.code : 'ERR_PMEMDAX_INTERNAL',
    message: typeof f.message === 'string' ? f.message : String(e),
    ...(typeof f.errno === 'number' ? { errno: f.errno } : {}),
    ...(typeof f.syscall === 'string' ? { syscall: f.syscall } : {}),
    ...(typeof f.path === 'string' ? { path: f.path } : {}),
    ...(typeof f.offset === 'number' ? { offset: f.offset } : {}),
  };
}

/** The error `errorFields` described, made again on this thread with the same code, message and fields. */
export function errorFromFields(f: ErrorFields): PmemdaxError {
  const code = (f.code.startsWith('ERR_PMEMDAX_') || isErrnoCode(f.code) ? f.code : 'ERR_PMEMDAX_INTERNAL') as PmemdaxErrorCode | ErrnoCode;
  const error = new PmemdaxError(code, f.message, { path: f.path, offset: f.offset }) as { -readonly [K in keyof PmemdaxError]: PmemdaxError[K] };
  if (f.errno !== undefined) error.errno = f.errno;
  if (f.syscall !== undefined) error.syscall = f.syscall;
  return error;
}
