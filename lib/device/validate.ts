// Argument checks for the device surface: misuse is a TypeError or RangeError with a fixed sentence.
import { argTypeError, argValueError, outOfRangeError } from '../errors';

/** A non-negative safe integer (a byte offset, a length, a page count). */
export function checkIndex(value: unknown, name: string): asserts value is number {
  if (typeof value !== 'number') throw argTypeError(`The "${name}" argument must be of type number. ${received(value)}`);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw outOfRangeError(`The "${name}" argument must be a non-negative integer, received ${value}`);
  }
}

/** A byte range inside a device of `size` bytes. */
export function checkRange(offset: unknown, length: unknown, size: number): asserts offset is number {
  checkIndex(offset, 'offset');
  checkIndex(length, 'length');
  if ((offset as number) + (length as number) > size) {
    throw outOfRangeError(`The range [${offset as number}, ${(offset as number) + (length as number)}) is outside the device (${size} bytes)`);
  }
}

export function checkFlags(flags: unknown): asserts flags is number {
  if (typeof flags !== 'number' || !Number.isInteger(flags) || flags < 0 || flags > 15) {
    throw argTypeError(`The "flags" argument must be a combination of CopyFlags, received ${String(flags)}`);
  }
}

const EMPTY = new Uint8Array(0);

/** How node's argument errors name what they received. */
export function received(value: unknown): string {
  if (value === null || value === undefined) return `Received ${String(value)}`;
  if (typeof value === 'function') return `Received function ${value.name}`;
  if (typeof value === 'object') {
    const ctor = (value as { constructor?: { name?: unknown } }).constructor;
    return typeof ctor?.name === 'string' && ctor.name !== '' ? `Received an instance of ${ctor.name}` : 'Received an object';
  }
  let shown = typeof value === 'string' ? `'${value.length > 25 ? `${value.slice(0, 25)}...` : value}'` : String(value);
  if (typeof value === 'bigint') shown += 'n';
  return `Received type ${typeof value} (${shown})`;
}

/**
 * The bytes of a buffer argument, as fs.writeSync and fs.readSync take them: any TypedArray or
 * DataView, by its byteOffset and byteLength (never its element count). A view over a detached
 * buffer is zero bytes. Anything else, ArrayBuffer and SharedArrayBuffer included, is a TypeError
 * with code ERR_INVALID_ARG_TYPE. A Uint8Array (a Buffer too) comes back as is, with no allocation.
 */
export function bytesOf(value: unknown, name = 'buffer'): Uint8Array {
  // A detached Uint8Array reads as zero bytes, but set() on it throws: hand back the shared empty one.
  if (value instanceof Uint8Array) return value.byteLength === 0 ? EMPTY : value;
  if (!ArrayBuffer.isView(value)) {
    throw argTypeError(`The "${name}" argument must be an instance of TypedArray or DataView. ${received(value)}`);
  }
  let length: number;
  try {
    length = value.byteLength;
  } catch {
    // A DataView over a detached buffer throws where a TypedArray answers 0.
    return EMPTY;
  }
  return length === 0 ? EMPTY : new Uint8Array(value.buffer, value.byteOffset, length);
}

/** bytesOf for an optional argument: undefined stays undefined. */
export function optionalBytesOf(value: unknown, name: string): Uint8Array | undefined {
  return value === undefined ? undefined : bytesOf(value, name);
}

export function checkByte(value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 255) {
    throw argTypeError(`The "value" argument must be an integer from 0 to 255, received ${String(value)}`);
  }
}

/**
 * A path argument, checked before anything is opened or created: a string (else ERR_INVALID_ARG_TYPE),
 * not empty, and without a NUL byte (else ERR_INVALID_ARG_VALUE, as node:fs says). The native side sees
 * a C string, so 'a.txt\0.pool' would silently name 'a.txt'.
 */
export function checkPath(value: unknown, name = 'path'): asserts value is string {
  if (typeof value !== 'string') throw argTypeError(`The "${name}" argument must be of type string. ${received(value)}`);
  if (value.length === 0) throw argValueError(`The argument '${name}' must be a non-empty string. Received ''`);
  if (value.includes('\0')) {
    throw argValueError(`The argument '${name}' must be a string without null bytes. ${received(value).replace(/\0/g, '\\x00')}`);
  }
}

/** A file mode for a created file: an integer from 0 to 0o7777, as fs takes it (the umask still applies). */
export function checkMode(value: unknown, name = 'mode'): asserts value is number {
  if (typeof value !== 'number') throw argTypeError(`The "${name}" option must be of type number. ${received(value)}`);
  if (!Number.isInteger(value) || value < 0 || value > 0o7777) {
    throw outOfRangeError(`The "${name}" option must be an integer from 0 to 0o7777, received ${value}`);
  }
}

/** A number argument of any value: only its type is checked (the caller decides its range, or its errno). */
export function checkNumber(value: unknown, name: string): asserts value is number {
  if (typeof value !== 'number') throw argTypeError(`The "${name}" argument must be of type number. ${received(value)}`);
}

/**
 * An options object: `undefined` means the defaults; `null` or anything not an object is ERR_INVALID_ARG_TYPE
 * (one rule for every method, where a default parameter would let `null` through to a property read).
 */
export function checkOptions(value: unknown, name = 'options'): asserts value is object | undefined {
  if (value === undefined) return;
  if (typeof value !== 'object' || value === null) throw argTypeError(`The "${name}" argument must be of type object. ${received(value)}`);
}

/** An optional callback: undefined, or a function. */
export function checkFunction(value: unknown, name: string): asserts value is ((...args: never[]) => unknown) | undefined {
  if (value !== undefined && typeof value !== 'function') throw argTypeError(`The "${name}" option must be of type function. ${received(value)}`);
}

/** Boolean options of an options object: each one undefined or a boolean, else ERR_INVALID_ARG_TYPE. */
export function checkBooleans(opts: object | undefined, names: readonly string[]): void {
  if (opts === undefined) return;
  for (const name of names) {
    const value = (opts as Record<string, unknown>)[name];
    if (value !== undefined && typeof value !== 'boolean') throw argTypeError(`The "${name}" option must be of type boolean. ${received(value)}`);
  }
}

/** How many leading ranges of `pairs` `bytes` bytes fill exactly (0 for none); -1 when they end inside a range or run past the last. */
export function filledRanges(pairs: ArrayLike<number>, bytes: number): number {
  let total = 0;
  let k = 0;
  while (k < pairs.length / 2 && total < bytes) total += pairs[2 * k++ + 1] as number;
  return total === bytes ? k : -1;
}
