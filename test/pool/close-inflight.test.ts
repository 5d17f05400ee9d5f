import { describe } from 'vitest';
import { Pool } from '../../lib';
import { MemoryDevice } from '../../lib/testing';
import { closeInflightSuite } from './support/close-inflight-suite';

describe('calls in flight when the pool or the file closes, on a MemoryDevice pool (docs/api.md)', () => {
  let device = new MemoryDevice(8 * 1024 * 1024);
  closeInflightSuite({
    fresh: () => {
      device = new MemoryDevice(8 * 1024 * 1024);
      return Pool.createOn(device);
    },
    reopen: () => Pool.openOn(device),
    image: () => device.bytes,
  });
});
