import { expect, it } from 'vitest';
import { Device, Pool } from '../../../lib';
import { poolPerTest } from './support';

const KiB = 1024;
const MiB = 1024 * KiB;
const pool = poolPerTest({ size: 16 * MiB });

it('a reader refreshing past a writer’s online grow maps the new blocks and reads files there; its old files and regions keep working', async () => {
  const w = Pool.open(pool.path);
  const f = w.open('a', { create: true, sync: true });
  f.writeSync(Buffer.alloc(256 * KiB, 3), 0);
  f.close();
  const r = Pool.open(pool.path, { readonly: true });
  const old = r.open('a', { readonly: true });
  const region = old.mmap({ length: 256 * KiB, write: false });
  await region.populate(undefined, 'read');
  w.grow(48 * MiB);
  // More than the pool had before the grow: some of it can only be in the new blocks.
  const big = w.open('big', { create: true, sync: true });
  const pattern = Buffer.alloc(24 * MiB);
  for (let i = 0; i < pattern.length; i += 4096) pattern.writeUInt32LE(i, i);
  big.writeSync(pattern, 0);
  big.close();
  r.refresh();
  expect(r.info.size).toBe(48 * MiB);
  const got = r.open('big', { readonly: true });
  const back = Buffer.alloc(pattern.length);
  expect(got.readSync(back, 0)).toBe(pattern.length);
  expect(back.equals(pattern)).toBe(true);
  await got.close();
  expect(region.bytes.every((x) => x === 3)).toBe(true);
  region.unmap();
  await old.close();
  r.closeSync();
  w.closeSync();
});

it('a reader whose open reserved too little address space for the grow is told to open the pool again (ERR_PMEMDAX_SIZE), and keeps its snapshot', () => {
  const w = Pool.open(pool.path);
  const f = w.open('a', { create: true, sync: true });
  f.writeSync(Buffer.alloc(4096, 3), 0);
  f.close();
  const device = Device.open(pool.path, { readonly: true, maxSize: 24 * MiB });
  const r = Pool.openOn(device, { readonly: true, path: pool.path });
  w.grow(32 * MiB);
  expect(() => r.refresh()).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_SIZE', message: expect.stringMatching(/grew to 33554432 bytes .*open it again/) }));
  expect(r.exists('a')).toBe(true);
  const again = Pool.open(pool.path, { readonly: true });
  expect(again.info.size).toBe(32 * MiB);
  again.closeSync();
  r.closeSync();
  device.close();
  w.closeSync();
});
