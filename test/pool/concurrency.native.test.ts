import { afterEach, describe } from 'vitest';
import { Pool } from '../../lib';
import { scratchDir } from '../support/scratch';
import { concurrencySuite } from './support/concurrency-suite';

const MiB = 1024 * 1024;
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

describe('concurrent PoolFile calls on a native pool (temp file)', () => {
  let path = '';
  concurrencySuite(
    () => {
      const s = scratchDir();
      cleanups.push(s.cleanup);
      path = s.file('pool.img');
      return Pool.create(path, { size: 8 * MiB });
    },
    (closed) => {
      closed.closeSync();
      return Pool.open(path);
    },
  );
});
