import { setImmediate as nextTurn } from 'node:timers/promises';
import type { PoolDeviceFacts } from '../../../lib';
import { MemoryDevice } from '../../../lib/testing';

/**
 * A MemoryDevice that looks like a file at page granularity with `persistAsync`: the pool's promise
 * methods take their deferred write-back path on it (lib/pool/deferred-flush.ts). Each job runs a
 * macrotask later, as an msync on the libuv pool would, so calls interleave with it.
 */
export class DeferredMemoryDevice extends MemoryDevice {
  readonly info: PoolDeviceFacts = { granularity: 'page' };
  jobs = 0;

  async persistAsync(ranges: Float64Array): Promise<void> {
    this.jobs++;
    await nextTurn();
    for (let i = 0; i < ranges.length; i += 2) this.persist(ranges[i] as number, ranges[i + 1] as number);
  }
}
