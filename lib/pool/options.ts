import { checkFunction, checkMode, received } from '../device/validate';
import { argTypeError, argValueError, outOfRangeError } from '../errors';
import { BLOCK, BLOCKS_MAX } from './layout';
import type { PoolBackupOptions, PoolCheckOptions, PoolCreateOptions, PoolGrowOptions, PoolOpenCreateOptions, PoolOpenOptions, PoolUpgradeOptions } from './types';

function checkObject(value: unknown, name: string): void {
  if (typeof value !== 'object' || value === null) throw argTypeError(`The "${name}" argument must be of type object. ${received(value)}`);
}

function checkBoolean(value: unknown, name: string): void {
  if (value !== undefined && typeof value !== 'boolean') throw argTypeError(`The "${name}" option must be of type boolean. ${received(value)}`);
}

/** A byte count: a positive safe integer. */
function checkBytes(value: unknown, name: string): void {
  if (value === undefined) return;
  if (typeof value !== 'number') throw argTypeError(`The "${name}" option must be of type number. ${received(value)}`);
  if (!Number.isSafeInteger(value) || value <= 0) throw outOfRangeError(`The "${name}" option must be a positive safe integer, received ${value}`);
}

function checkFormat(opts: { readonly journalBytes?: unknown; readonly progress?: unknown }, prefix: string): void {
  checkBytes(opts.journalBytes, `${prefix}journalBytes`);
  if (opts.progress !== undefined && typeof opts.progress !== 'function') throw argTypeError(`The "${prefix}progress" option must be of type function. ${received(opts.progress)}`);
}

function checkMedia(opts: { readonly mode?: unknown; readonly allowVolatile?: unknown }, prefix: string): void {
  if (opts.mode !== undefined) checkMode(opts.mode, `${prefix}mode`);
  checkBoolean(opts.allowVolatile, `${prefix}allowVolatile`);
}

/** The longest `lockTimeout`, as Node's timers cap a delay: about 24.8 days. */
const LOCK_TIMEOUT_MAX = 2 ** 31 - 1;

function checkLockTimeout(value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== 'number') throw argTypeError(`The "lockTimeout" option must be of type number. ${received(value)}`);
  if (!(value >= 0 && value <= LOCK_TIMEOUT_MAX)) {
    throw outOfRangeError(`The "lockTimeout" option must be a number of milliseconds from 0 to ${LOCK_TIMEOUT_MAX}, received ${value}`);
  }
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
  checkBoolean(o.verify, 'verify');
  checkLockTimeout(o.lockTimeout);
  if (o.create === undefined) return;
  if (typeof o.create !== 'object' || o.create === null) throw argTypeError(`The "create" option must be of type object ({ size, … }). ${received(o.create)}`);
  const c = o.create as Partial<Record<keyof PoolOpenCreateOptions, unknown>>;
  if (c.size === undefined) throw argTypeError(`The "create.size" option must be of type number. ${received(c.size)}`);
  checkBytes(c.size, 'create.size');
  checkFormat(c, 'create.');
  checkMedia(c, 'create.');
  if (o.readonly === true) {
    throw argValueError('The "create" and "readonly" options exclude each other');
  }
}

/** `Pool.grow`'s size (a positive safe integer) and options. */
export function checkGrowArgs(size: unknown, opts: unknown): asserts opts is PoolGrowOptions {
  checkGrowSize(size);
  checkObject(opts, 'options');
  checkLockTimeout((opts as Record<string, unknown>).lockTimeout);
}

/** The size a pool grows to: a positive safe integer of bytes, below 2^32 - 1 blocks. */
export function checkGrowSize(size: unknown): asserts size is number {
  if (typeof size !== 'number') throw argTypeError(`The "size" argument must be of type number. ${received(size)}`);
  if (!Number.isSafeInteger(size) || size <= 0) throw outOfRangeError(`The "size" argument must be a positive safe integer, received ${size}`);
  if (size >= (BLOCKS_MAX + 1) * BLOCK) throw outOfRangeError(`The "size" argument must be below ${(BLOCKS_MAX + 1) * BLOCK} (2^32 - 2 blocks of ${BLOCK} bytes), received ${size}`);
}

/** `Pool.check`'s options. */
export function checkStaticCheckOptions(opts: unknown): asserts opts is PoolCheckOptions {
  checkObject(opts, 'options');
  const o = opts as Record<string, unknown>;
  checkLockTimeout(o.lockTimeout);
  checkFunction(o.progress, 'progress');
}

/** `Pool.backup`'s options. */
export function checkBackupOptions(opts: unknown): asserts opts is PoolBackupOptions {
  checkObject(opts, 'options');
  checkFunction((opts as Record<string, unknown>).progress, 'progress');
}

/** `Pool.upgrade`'s options. */
export function checkUpgradeOptions(opts: unknown): asserts opts is PoolUpgradeOptions {
  checkObject(opts, 'options');
  checkLockTimeout((opts as Record<string, unknown>).lockTimeout);
}
