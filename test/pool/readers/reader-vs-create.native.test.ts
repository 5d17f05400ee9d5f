import { afterEach, beforeEach, expect, it } from 'vitest';
import { Device, Pool } from '../../../lib';
import { scratchDir } from '../../support/scratch';

const MiB = 1024 * 1024;
let s: ReturnType<typeof scratchDir>;
beforeEach(() => {
  s = scratchDir('/dev/shm');
});
afterEach(() => s.cleanup());

it('a reader with lockTimeout waits for a create in progress instead of calling the file corrupt', () => {
  const path = s.file('pool');
  // Another process is in the middle of Pool.open(path, { create }) : it holds the exclusive flock.
  const creating = Device.open(path, { create: true, size: 16 * MiB, lock: 'exclusive' });
  let code = 'ok';
  try {
    Pool.open(path, { readonly: true, lockTimeout: 300 }).closeSync();
  } catch (e) {
    code = (e as { code?: string }).code ?? String(e);
  }
  creating.close();
  expect(code).toBe('ERR_PMEMDAX_POOL_LOCKED');
});
