import { expect, it } from 'vitest';
import { Pool } from '../../lib';
import { MemoryDevice } from '../../lib/testing';
import { DeferredMemoryDevice } from './support/deferred-device';

const MiB = 1024 * 1024;

// docs/api.md, *Calls in flight at close*: closeSync() cannot wait; a file call still unsettled rejects with
// ERR_PMEMDAX_CLOSED, while a namespace call made its change when called, the final commit takes it, and it
// resolves.
it.each([
  ['inline commits', () => new MemoryDevice(8 * MiB)],
  ['deferred write-back', () => new DeferredMemoryDevice(8 * MiB)],
] as const)('closeSync with namespace and file calls in flight (%s)', async (_, device) => {
  const dev = device();
  const pool = Pool.createOn(dev);
  pool.open('a', { create: true }).close();
  pool.open('gone', { create: true }).close();
  const f = pool.open('f', { create: true });
  const calls = {
    write: f.write(new Uint8Array(10).fill(1), 0),
    rename: pool.renameAsync('a', 'b'),
    open: pool.openAsync('c', { create: true }),
    unlink: pool.unlinkAsync('gone'),
  };
  pool.closeSync();
  await expect(calls.write).rejects.toMatchObject({ code: 'ERR_PMEMDAX_CLOSED' });
  await expect(calls.rename).resolves.toBeUndefined();
  await expect(calls.open).resolves.toBeDefined();
  await expect(calls.unlink).resolves.toBeUndefined();
  const again = Pool.openOn(dev);
  expect([...again.list()].sort()).toEqual(['b', 'c', 'f']);
  expect(again.check().problems).toEqual([]);
  again.closeSync();
});
