import { describe } from 'vitest';
import { Pool } from '../../lib';
import { concurrencySuite } from './support/concurrency-suite';
import { closeInflightSuite } from './support/close-inflight-suite';
import { DeferredMemoryDevice } from './support/deferred-device';

const MiB = 1024 * 1024;

describe('concurrent PoolFile calls with write-back deferred off the thread (page granularity, persistAsync)', () => {
  let dev: DeferredMemoryDevice;
  concurrencySuite(
    () => {
      dev = new DeferredMemoryDevice(8 * MiB);
      return Pool.createOn(dev);
    },
    (closed) => {
      closed.closeSync();
      return Pool.openOn(dev);
    },
  );
});

describe('calls in flight at close with deferred write-back', () => {
  let dev = new DeferredMemoryDevice(8 * MiB);
  closeInflightSuite({
    fresh: () => {
      dev = new DeferredMemoryDevice(8 * MiB);
      return Pool.createOn(dev);
    },
    reopen: () => Pool.openOn(dev),
    image: () => dev.bytes,
  });
});
