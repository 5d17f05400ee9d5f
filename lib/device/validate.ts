// Argument checks for the device surface: misuse is a TypeError or RangeError with a fixed sentence.

function typeError(message: string): TypeError {
  const e = new TypeError(message);
  (e as TypeError & { code: string }).code = 'ERR_INVALID_ARG_TYPE';
  return e;
}

export function rangeError(message: string): RangeError {
  const e = new RangeError(message);
  (e as RangeError & { code: string }).code = 'ERR_OUT_OF_RANGE';
  return e;
}

/** A non-negative safe integer (a byte offset, a length, a page count). */
export function checkIndex(value: unknown, name: string): asserts value is number {
  if (typeof value !== 'number') throw typeError(`The "${name}" argument must be a number, received ${typeof value}`);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw rangeError(`The "${name}" argument must be a non-negative integer, received ${value}`);
  }
}

/** A byte range inside a device of `size` bytes. */
export function checkRange(offset: unknown, length: unknown, size: number): asserts offset is number {
  checkIndex(offset, 'offset');
  checkIndex(length, 'length');
  if ((offset as number) + (length as number) > size) {
    throw rangeError(`The range [${offset as number}, ${(offset as number) + (length as number)}) is outside the device (${size} bytes)`);
  }
}

export function checkFlags(flags: unknown): asserts flags is number {
  if (typeof flags !== 'number' || !Number.isInteger(flags) || flags < 0 || flags > 15) {
    throw typeError(`The "flags" argument must be a combination of CopyFlags, received ${String(flags)}`);
  }
}

export function checkView(value: unknown, name: string): asserts value is ArrayBufferView {
  if (!ArrayBuffer.isView(value)) throw typeError(`The "${name}" argument must be an ArrayBufferView`);
}

export function checkByte(value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 255) {
    throw typeError(`The "value" argument must be an integer from 0 to 255, received ${String(value)}`);
  }
}
