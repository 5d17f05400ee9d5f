import { describe, expect, it } from 'vitest';
import { Pool } from '../../lib';
import { PAGE_SIZE } from '../../lib/iomap/constants';
import { MemoryDevice } from '../../lib/testing';

// Found by the pool model test (seed 5006): the DAX dedupe compare reads unwritten blocks as raw media.
describe('dedupe against an unwritten range', () => {
  it('fails with EBADE when the unwritten block reuses one that held the other range\'s bytes, and changes nothing', async () => {
    using pool = Pool.createOn(new MemoryDevice(16 * 1024 * 1024));
    const f = pool.open('a', { create: true });
    const x = new Uint8Array(PAGE_SIZE).fill(9);
    await f.write(new Uint8Array(PAGE_SIZE).fill(7), 0);
    await f.write(x, PAGE_SIZE);
    const freed = f.inode.extents.blockAt(1);
    await f.fallocate('punch-hole', PAGE_SIZE, PAGE_SIZE);
    await f.fsync();
    // Extending page 0's run takes the freed block back, as an unwritten extent.
    await f.fallocate('keep-size', PAGE_SIZE, PAGE_SIZE);
    expect(f.inode.extents.blockAt(1)).toBe(freed);
    await f.write(x, 2 * PAGE_SIZE);
    await expect(f.dedupe(f, 2 * PAGE_SIZE, PAGE_SIZE, PAGE_SIZE)).rejects.toMatchObject({ code: 'EBADE' });
    const page = new Uint8Array(PAGE_SIZE);
    f.readSync(page, PAGE_SIZE);
    expect(page.every((b) => b === 0)).toBe(true);
  });
});
