import { expect } from 'vitest';

/** Bytes either side of a view inside its backing buffer: a copy that overruns the view changes them. */
export const GUARD = 0xee;
const GUARD_BYTES = 16;

type ViewCtor = { new (buffer: ArrayBufferLike, byteOffset: number, length: number): ArrayBufferView; BYTES_PER_ELEMENT: number };

const TYPED: [string, ViewCtor][] = [
  ['Int8Array', Int8Array],
  ['Uint8Array', Uint8Array],
  ['Uint8ClampedArray', Uint8ClampedArray],
  ['Int16Array', Int16Array],
  ['Uint16Array', Uint16Array],
  ['Int32Array', Int32Array],
  ['Uint32Array', Uint32Array],
  ['Float32Array', Float32Array],
  ['Float64Array', Float64Array],
  ['BigInt64Array', BigInt64Array as unknown as ViewCtor],
  ['BigUint64Array', BigUint64Array as unknown as ViewCtor],
];

/** A view of one kind whose bytes are `content`, inside a guarded backing buffer. */
export interface ViewKind {
  readonly name: string;
  make(content: Uint8Array): { view: ArrayBufferView; backing: Uint8Array; at: number };
}

function placed(name: string, shared: boolean, offset: number, build: (buffer: ArrayBufferLike, at: number, bytes: number) => ArrayBufferView): ViewKind {
  return {
    name,
    make(content) {
      const at = GUARD_BYTES + offset;
      const buffer = shared ? new SharedArrayBuffer(at + content.length + GUARD_BYTES) : new ArrayBuffer(at + content.length + GUARD_BYTES);
      const backing = new Uint8Array(buffer);
      backing.fill(GUARD);
      backing.set(content, at);
      return { view: build(buffer, at, content.length), backing, at };
    },
  };
}

/** Every kind fs.writeSync accepts; content lengths must be multiples of 8. */
export const VIEW_KINDS: readonly ViewKind[] = [
  ...TYPED.map(([name, C]) => placed(name, false, 0, (b, at, n) => new C(b, at, n / C.BYTES_PER_ELEMENT))),
  placed('Buffer', false, 0, (b, at, n) => Buffer.from(b, at, n)),
  placed('DataView', false, 0, (b, at, n) => new DataView(b, at, n)),
  placed('DataView at byteOffset 3', false, 3, (b, at, n) => new DataView(b, at, n)),
  placed('Uint8Array at byteOffset 5', false, 5, (b, at, n) => new Uint8Array(b, at, n)),
  placed('Int16Array at byteOffset 2', false, 2, (b, at, n) => new Int16Array(b, at, n / 2)),
  placed('Float64Array at byteOffset 8', false, 8, (b, at, n) => new Float64Array(b, at, n / 8)),
  placed('Uint8Array over a SharedArrayBuffer', true, 0, (b, at, n) => new Uint8Array(b, at, n)),
  placed('Float64Array over a SharedArrayBuffer', true, 8, (b, at, n) => new Float64Array(b, at, n / 8)),
  placed('DataView over a SharedArrayBuffer', true, 1, (b, at, n) => new DataView(b, at, n)),
];

function detach(buffer: ArrayBuffer): void {
  structuredClone(buffer, { transfer: [buffer] });
}

/** Views over detached buffers: zero bytes. */
export const DETACHED_KINDS: readonly { name: string; make(): ArrayBufferView }[] = [
  { name: 'detached Uint8Array', make: () => { const v = new Uint8Array(64); detach(v.buffer); return v; } },
  { name: 'detached Float64Array', make: () => { const v = new Float64Array(8); detach(v.buffer); return v; } },
  { name: 'detached DataView', make: () => { const v = new DataView(new ArrayBuffer(64), 8); detach(v.buffer as ArrayBuffer); return v; } },
];

/** What must be refused, as fs.writeSync refuses it. */
export const INVALID_KINDS: readonly [string, () => unknown][] = [
  ['ArrayBuffer', () => new ArrayBuffer(64)],
  ['SharedArrayBuffer', () => new SharedArrayBuffer(64)],
  ['number[]', () => [1, 2, 3]],
  ['string', () => 'abcdefgh'],
  ['null', () => null],
  ['undefined', () => undefined],
  ['{}', () => ({})],
  ['number', () => 64],
];

export function pattern(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = ((i * 131 + seed * 17) % 251) + 1;
  return b;
}

/** The guards around a made view are intact. */
export function expectGuards(backing: Uint8Array, at: number, length: number): void {
  const outside = [...backing.subarray(0, at), ...backing.subarray(at + length)];
  expect(outside.every((b) => b === GUARD)).toBe(true);
}

/** Runs `call` (sync throw or rejected promise) and expects the node-style buffer TypeError. */
export async function expectInvalidArg(call: () => unknown): Promise<void> {
  let caught: unknown = null;
  try {
    await call();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(TypeError);
  expect(caught).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE', message: expect.stringMatching(/must be an instance of TypedArray or DataView\. Received/) });
}

/** Byte equality without vitest's deep walk (slow on megabytes): reports the first difference. */
export function expectSameBytes(actual: Uint8Array | undefined, expected: Uint8Array | undefined): void {
  expect(actual?.length).toBe(expected?.length);
  if (actual === undefined || expected === undefined) return;
  const a = Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength);
  const b = Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength);
  if (a.equals(b)) return;
  let i = 0;
  while (a[i] === b[i]) i++;
  expect({ firstDifference: i, actual: a[i] }).toEqual({ firstDifference: i, actual: b[i] });
}
