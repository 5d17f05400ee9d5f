import { afterAll, describe } from 'vitest';
import { Pool } from '../../lib';
import { scratchDir } from '../support/scratch';
import { closeInflightSuite } from './support/close-inflight-suite';

const scratch = scratchDir();
afterAll(() => scratch.cleanup());

describe('calls in flight when the pool or the file closes, on a native pool (temp file; the close closes the device)', () => {
  const path = scratch.file('pool.img');
  closeInflightSuite({
    fresh: () => Pool.create(path, { size: 8 * 1024 * 1024, force: true }),
    reopen: () => Pool.open(path),
  });
});
