import { statSync, truncateSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Device, Pool } from '../../lib';
import { HOST_MEDIA, MiB, scratchPerTest } from '../support/scratch';

const SMALL = 8 * MiB;
const LARGE = 24 * MiB;
const PMD = 2 * MiB;

describe.each(HOST_MEDIA)('pool.grow on an open pool in a file ($name)', ({ dir }) => {
  const s = scratchPerTest(dir());

  it('open files and a mapped region keep working across the grow; new files use the new space; the pool reopens clean', async () => {
    const path = s.file('p.pool');
    const big = new Uint8Array(12 * MiB).fill(0x42);
    {
      using pool = Pool.create(path, { size: SMALL });
      using a = pool.open('a', { create: true });
      a.writeSync(new Uint8Array(MiB).fill(1), 0);
      const m = pool.open('m', { create: true });
      await m.truncate(2 * PMD);
      const region = m.mmap({ length: 2 * PMD });
      await region.populate(undefined, 'write');
      region.bytes.fill(0x5a, 4096, 8192);
      const view = pool.device.directAccess(0, 1).view;
      pool.grow(LARGE);
      expect(pool.info.size).toBe(LARGE);
      expect(pool.device.size).toBe(LARGE);
      expect(statSync(path).size).toBe(LARGE);
      // A view of the device made before the grow still reads the superblock.
      expect(Buffer.from(view.subarray(0, 8)).toString()).toBe('PMEMDAXP');
      // The region, an mmap of the file made before the grow, still stores into the file.
      region.bytes[PMD + 1] = 7;
      expect(region.bytes[4096]).toBe(0x5a);
      await m.fsync();
      region.unmap();
      await m.close();
      a.writeSync(new Uint8Array(MiB).fill(2), MiB);
      // More than the pool had in all before the grow.
      using g = pool.open('big', { create: true });
      g.writeSync(big, 0);
      g.fsyncSync();
      expect(pool.check().problems).toEqual([]);
    }
    using pool = Pool.open(path);
    expect(pool.info.size).toBe(LARGE);
    expect(pool.check().problems).toEqual([]);
    const out = new Uint8Array(2 * PMD);
    using m = pool.open('m', { readonly: true });
    m.readSync(out, 0);
    expect(out[4096]).toBe(0x5a);
    expect(out[8191]).toBe(0x5a);
    expect(out[PMD + 1]).toBe(7);
    using a = pool.open('a', { readonly: true });
    const ab = new Uint8Array(2 * MiB);
    a.readSync(ab, 0);
    expect(ab.subarray(0, MiB).every((b) => b === 1)).toBe(true);
    expect(ab.subarray(MiB).every((b) => b === 2)).toBe(true);
    using g = pool.open('big', { readonly: true });
    const gb = new Uint8Array(big.length);
    g.readSync(gb, 0);
    expect(Buffer.compare(gb, big)).toBe(0);
  });

  it('after an open cut back the file of a crashed grow, a grow extends the file again before it uses it', () => {
    const path = s.file('cut.pool');
    Pool.create(path, { size: SMALL }).closeSync();
    truncateSync(path, LARGE);
    {
      using pool = Pool.open(path);
      expect(statSync(path).size).toBe(SMALL);
      pool.grow(16 * MiB);
      expect(statSync(path).size).toBe(16 * MiB);
      using f = pool.open('f', { create: true });
      f.writeSync(new Uint8Array(10 * MiB).fill(3), 0);
      f.fsyncSync();
    }
    using pool = Pool.open(path);
    expect(pool.info.size).toBe(16 * MiB);
    expect(pool.check().problems).toEqual([]);
  });

  it('a device opened with maxSize limits the grow (ERR_PMEMDAX_SIZE, nothing changed); a read-only pool is EROFS', () => {
    const path = s.file('max.pool');
    Pool.create(path, { size: SMALL }).closeSync();
    {
      using device = Device.open(path, { lock: 'exclusive', maxSize: 16 * MiB });
      using pool = Pool.openOn(device, { path });
      expect(() => pool.grow(LARGE)).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_SIZE' }));
      expect(pool.info.size).toBe(SMALL);
      expect(statSync(path).size).toBe(SMALL);
      pool.grow(16 * MiB);
      expect(pool.info.size).toBe(16 * MiB);
    }
    {
      using ro = Pool.open(path, { readonly: true });
      expect(() => ro.grow(LARGE)).toThrow(expect.objectContaining({ code: 'EROFS' }));
    }
    using pool = Pool.open(path);
    expect(pool.info.size).toBe(16 * MiB);
    expect(pool.check().problems).toEqual([]);
  });
});
