import type { PoolDevice } from './device';
import type { Superblock } from './layout';
import type { UnsafeShutdownState } from './types';

function identityOf(device: PoolDevice): string | null {
  return device.info?.region ?? device.info?.blockDevice ?? null;
}

/**
 * The device's unsafe-shutdown count against the one the superblock `found` recorded when the pool was last
 * opened for writing (docs/api.md, "Unsafe shutdowns"): reported by `info` and `check`, never acted on.
 */
export function unsafeShutdownOf(device: PoolDevice, found: Pick<Superblock, 'shutdownCount' | 'dirty' | 'identity'>): UnsafeShutdownState {
  const count = device.info?.unsafeShutdownCount ?? null;
  const recorded = found.shutdownCount < 0 ? null : found.shutdownCount;
  return {
    count,
    recorded,
    dirty: found.dirty,
    mismatch: count !== null && recorded !== null && count !== recorded,
    identity: identityOf(device),
    recordedIdentity: found.identity === '' ? null : found.identity,
  };
}
