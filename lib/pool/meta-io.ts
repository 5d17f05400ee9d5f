import type { DaxDevice } from '../device/types';
import { errnoError, isErrnoError } from '../errors';

/**
 * Read metadata bytes poison-safely: a poisoned range becomes EIO naming the structure and the
 * device offset, never a SIGBUS.
 */
export function readMeta(device: DaxDevice, path: string, offset: number, length: number, what: string): Uint8Array {
  const out = new Uint8Array(length);
  try {
    device.copySafe(offset, out);
  } catch (e) {
    if (!isErrnoError(e, 'EIO')) throw e;
    const at = e.offset ?? offset;
    const err = errnoError('EIO', 'read', { path, offset: at });
    err.message = `EIO: i/o error reading the ${what} of pool '${path}' at offset ${at} (poisoned media)`;
    throw err;
  }
  return out;
}
