import { describe } from 'vitest';
import { Pool } from '../../lib';
import { MemoryDevice } from '../../lib/testing';
import { concurrencySuite } from './support/concurrency-suite';

const MiB = 1024 * 1024;

describe('concurrent PoolFile calls on a MemoryDevice pool', () => {
  let dev: MemoryDevice;
  concurrencySuite(
    () => {
      dev = new MemoryDevice(8 * MiB);
      return Pool.createOn(dev);
    },
    (closed) => {
      closed.closeSync();
      return Pool.openOn(dev);
    },
  );
});
