import { describe, expect, it } from 'vitest';
import { iomapBmap } from '../../lib/iomap/bmap';
import { PAGE_SIZE } from '../../lib/iomap/constants';
import { Errno } from '../../lib/iomap/errno';
import { iomapSwapfileActivate } from '../../lib/iomap/swapfile';
import { MemFs } from '../../lib/testing/memfs';
import { MemoryDevice } from '../../lib/testing/memory-device';

describe('FIBMAP and swapfile activation (docs/semantics.md §6.7, §6.8)', () => {
  it('bmap gives the device block of mapped blocks and 0 for holes and unwritten extents', async () => {
    const fs = new MemFs(new MemoryDevice(1 << 20));
    const f = fs.create();
    await fs.write(f, PAGE_SIZE, new Uint8Array(PAGE_SIZE).fill(1));
    fs.fallocate(f, 2 * PAGE_SIZE, PAGE_SIZE);
    expect(iomapBmap(f, 0, PAGE_SIZE, fs.ops)).toBe(0);
    expect(iomapBmap(f, 1, PAGE_SIZE, fs.ops)).toBe(f.blockAt(1));
    expect(iomapBmap(f, 2, PAGE_SIZE, fs.ops)).toBe(0);
  });

  it('activation refuses holes, uncommitted and shared blocks, and collects contiguous runs otherwise', async () => {
    const fs = new MemFs(new MemoryDevice(1 << 20));
    const f = fs.create();
    await fs.write(f, 0, new Uint8Array(4 * PAGE_SIZE).fill(1));
    expect(iomapSwapfileActivate(f, fs.ops)).toEqual({ errno: -Errno.EINVAL, reason: 'is not committed' });
    await fs.fsync(f);
    expect(iomapSwapfileActivate(f, fs.ops)).toEqual({ extents: [{ page: 0, devicePage: f.blockAt(0), pages: 4 }] });
    const g = fs.create();
    await fs.reflink(f, 0, g, 0, 4 * PAGE_SIZE);
    await fs.fsync(g);
    expect(iomapSwapfileActivate(g, fs.ops)).toEqual({ errno: -Errno.EINVAL, reason: 'has shared extents' });
    const h = fs.create();
    await fs.write(h, 0, new Uint8Array(PAGE_SIZE).fill(2));
    await fs.truncate(h, 3 * PAGE_SIZE);
    await fs.fsync(h);
    expect(iomapSwapfileActivate(h, fs.ops)).toEqual({ errno: -Errno.EINVAL, reason: 'has unallocated extents' });
  });
});
