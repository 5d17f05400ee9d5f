/**
 * Which parts of the library's own ArrayBuffers (device windows, address spaces) may be loaded from or
 * stored to. A copy the library makes into or out of such memory would otherwise die of SIGSEGV inside
 * native code; it is refused first. V8 never has two ArrayBuffers over the same memory, so a view's
 * buffer names the mapping it lies in.
 */

import { PmemdaxError } from '../errors';

/** Whether `[offset, offset+length)` of the buffer may be stored to (`write`) or loaded from. */
export type AccessCheck = (offset: number, length: number, write: boolean) => boolean;

const mappings = new WeakMap<ArrayBufferLike, AccessCheck>();
let anyRegistered = false;

/** Declares how `buffer`'s bytes may be accessed (for buffers that are not plainly read-write). */
export function registerMapping(buffer: ArrayBufferLike, check: AccessCheck): void {
  mappings.set(buffer, check);
  anyRegistered = true;
}

/** Whether a native copy may store to (`write`) or load from every byte of `view`. */
export function accessible(view: ArrayBufferView, write: boolean): boolean {
  if (!anyRegistered || view.byteLength === 0) return true;
  const check = mappings.get(view.buffer);
  return check === undefined || check(view.byteOffset, view.byteLength, write);
}

/**
 * Throws ERR_PMEMDAX_READONLY unless a copy may store to (`write`) or load from every byte of `view` (the
 * argument `name` of a call on `path`).
 */
export function checkReachable(view: ArrayBufferView, write: boolean, name: string, path?: string): void {
  if (accessible(view, write)) return;
  throw new PmemdaxError(
    'ERR_PMEMDAX_READONLY',
    `The "${name}" argument lies in memory the process cannot ${write ? 'store to' : 'load from'} (a view of a ` +
      'read-only device, or of address-space pages not mapped for that access): the copy would kill the process',
    path === undefined ? {} : { path },
  );
}
