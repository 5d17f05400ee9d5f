import { setImmediate as nextTurn } from 'node:timers/promises';
import { errnoError, type PoolDeviceFacts } from '../../../lib';
import { MemoryDevice } from '../../../lib/testing';

/**
 * A MemoryDevice that looks like a file at page granularity with `persistAsync`: the pool's promise
 * methods take their deferred write-back path on it (lib/pool/deferred-flush.ts). Each job runs a
 * macrotask later, as an msync on the libuv pool would, so calls interleave with it.
 */
export class DeferredMemoryDevice extends MemoryDevice {
  readonly info: PoolDeviceFacts = { granularity: 'page' };
  jobs = 0;
  /** Jobs from now on that fail (an msync reporting EIO) instead of persisting. */
  failJobs = 0;

  async persistAsync(ranges: Float64Array): Promise<void> {
    this.jobs++;
    await nextTurn();
    if (this.failJobs > 0) {
      this.failJobs--;
      throw errnoError('EIO', 'msync', { path: 'deferred-memory-device' });
    }
    for (let i = 0; i < ranges.length; i += 2) this.persist(ranges[i] as number, ranges[i + 1] as number);
  }
}
