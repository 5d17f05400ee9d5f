import { beforeEach } from 'vitest';
import { Pool, type PoolCreateOptions } from '../../../lib';
import { scratchPerTest } from '../../support/scratch';

/**
 * The readers' tests' set-up: a scratch directory on /dev/shm for each test, with a pool made at `path` in it
 * (closed) before the test runs. Read `path` and `file` inside tests, not at import.
 */
export function poolPerTest(opts: PoolCreateOptions): { readonly path: string; file: (name: string) => string } {
  const s = scratchPerTest('/dev/shm');
  beforeEach(() => {
    Pool.create(s.file('pool'), opts).closeSync();
  });
  return {
    get path() {
      return s.file('pool');
    },
    file: (name) => s.file(name),
  };
}
