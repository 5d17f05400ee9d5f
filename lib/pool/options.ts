import { checkMode } from '../device/validate';
import type { PoolCreateOptions, PoolOpenCreateOptions, PoolOpenOptions } from './types';

function typeError(message: string): TypeError {
  return Object.assign(new TypeError(message), { code: 'ERR_INVALID_ARG_TYPE' });
}

function rangeError(message: string): RangeError {
  return Object.assign(new RangeError(message), { code: 'ERR_OUT_OF_RANGE' });
}

function checkObject(value: unknown, name: string): void {
  if (typeof value !== 'object' || value === null) throw typeError(`The "${name}" argument must be an object`);
}

function checkBoolean(value: unknown, name: string): void {
  if (value !== undefined && typeof value !== 'boolean') throw typeError(`The "${name}" option must be a boolean`);
}

/** A byte count: a positive safe integer. */
function checkBytes(value: unknown, name: string): void {
  if (value === undefined) return;
  if (typeof value !== 'number') throw typeError(`The "${name}" option must be a number`);
  if (!Number.isSafeInteger(value) || value <= 0) throw rangeError(`The "${name}" option must be a positive safe integer, received ${value}`);
}

function checkFormat(opts: { readonly journalBytes?: unknown; readonly progress?: unknown }, prefix: string): void {
  checkBytes(opts.journalBytes, `${prefix}journalBytes`);
  if (opts.progress !== undefined && typeof opts.progress !== 'function') throw typeError(`The "${prefix}progress" option must be a function`);
}

function checkMedia(opts: { readonly mode?: unknown; readonly allowVolatile?: unknown }, prefix: string): void {
  if (opts.mode !== undefined) checkMode(opts.mode, `${prefix}mode`);
  checkBoolean(opts.allowVolatile, `${prefix}allowVolatile`);
}

function checkLockTimeout(value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== 'number') throw typeError('The "lockTimeout" option must be a number');
  if (!Number.isFinite(value) || value < 0) throw rangeError(`The "lockTimeout" option must be a finite number of milliseconds >= 0, received ${value}`);
}

/** `Pool.create`'s options, checked as Node checks arguments (wrong type: TypeError; out of range: RangeError). */
export function checkCreateOptions(opts: unknown): asserts opts is PoolCreateOptions {
  checkObject(opts, 'options');
  const o = opts as Record<string, unknown>;
  checkBytes(o.size, 'size');
  checkBoolean(o.force, 'force');
  checkFormat(o, '');
  checkMedia(o, '');
  checkLockTimeout(o.lockTimeout);
}

/** `Pool.open`'s options; `create` needs a `size` and excludes `readonly`. */
export function checkOpenOptions(opts: unknown): asserts opts is PoolOpenOptions {
  checkObject(opts, 'options');
  const o = opts as Record<string, unknown>;
  checkBoolean(o.readonly, 'readonly');
  checkLockTimeout(o.lockTimeout);
  if (o.create === undefined) return;
  if (typeof o.create !== 'object' || o.create === null) throw typeError('The "create" option must be an object ({ size, … })');
  const c = o.create as Partial<Record<keyof PoolOpenCreateOptions, unknown>>;
  if (c.size === undefined) throw typeError('The "create.size" option must be a number');
  checkBytes(c.size, 'create.size');
  checkFormat(c, 'create.');
  checkMedia(c, 'create.');
  if (o.readonly === true) {
    throw Object.assign(new TypeError('The "create" and "readonly" options exclude each other'), { code: 'ERR_INVALID_ARG_VALUE' });
  }
}
