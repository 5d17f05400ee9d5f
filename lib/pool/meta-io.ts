import type { DaxDevice } from '../device/types';
import { errnoError, isErrnoError } from '../errors';
import { PAGE_SIZE } from '../units';

/**
 * Read metadata bytes poison-safely (into `into`, `length` bytes long, when given): a poisoned (or lost)
 * range becomes EIO naming the structure, the device offset and the cause, never a SIGBUS.
 */
export function readMeta(device: DaxDevice, path: string, offset: number, length: number, what: string, into?: Uint8Array): Uint8Array {
  const out = into ?? new Uint8Array(length);
  try {
    device.copySafe(offset, out);
  } catch (e) {
    if (!isErrnoError(e, 'EIO')) throw e;
    const at = e.offset ?? offset;
    const err = errnoError('EIO', 'read', { path, offset: at });
    err.message = `EIO: i/o error reading the ${what} of pool '${path}' at offset ${at} (${faultCause(device, at)})`;
    throw err;
  }
  return out;
}

/** Poison when the page is in the device's list; otherwise the page went from under the mapping. */
function faultCause(device: DaxDevice, at: number): string {
  let bad: readonly { offset: number; length: number }[] = [];
  try {
    bad = device.badblocks();
  } catch {
    // An unreadable list says nothing either way.
  }
  const page = at - (at % PAGE_SIZE);
  const poisoned = bad.some((r) => r.offset < page + PAGE_SIZE && page < r.offset + r.length);
  return poisoned ? 'poisoned media' : 'the mapping is gone (file truncated or space exhausted)';
}
