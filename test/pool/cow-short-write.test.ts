import { describe, expect, it } from 'vitest';
import { Pool } from '../../lib';
import { daxCopyAround } from '../../lib/dax/copy-around';
import { IomapOp, PAGE_SIZE } from '../../lib/iomap/constants';
import { MemoryDevice } from '../../lib/testing/memory-device';

describe('a copy-on-write write through the pool’s iomap operations', () => {
  it('a write cut short inside a page commits that page with the old bytes after the cut: never what the new block held', async () => {
    const dev = new MemoryDevice(8 * 1024 * 1024);
    const pool = Pool.createOn(dev);
    const f = pool.open('a', { create: true });
    const old = new Uint8Array(2 * PAGE_SIZE).map((_, i) => (i * 13) & 0xff);
    f.writeSync(old, 0);
    const g = pool.open('b', { create: true });
    await f.clone(g, 0, 0, 2 * PAGE_SIZE);
    const ops = g.iomapOps;
    const pos = 100;
    const length = 2 * PAGE_SIZE - 200;
    const flags = IomapOp.DAX | IomapOp.WRITE;
    const { iomap, srcmap } = ops.begin(g.inode, pos, length, flags);
    expect(iomap.length).toBe(2 * PAGE_SIZE);
    // The new blocks hold bytes of their own (a file's that freed them, say).
    dev.fill(iomap.addr, 0xee, 2 * PAGE_SIZE);
    expect(daxCopyAround(pos, length, PAGE_SIZE, srcmap ?? iomap, iomap)).toBe(0);
    // The write stops 50 bytes into the second page.
    const written = PAGE_SIZE - pos + 50;
    dev.copy(iomap.addr + pos, new Uint8Array(written).fill(0x77));
    ops.end?.(g.inode, pos, length, written, flags, iomap);
    await g.fsync();
    const back = new Uint8Array(2 * PAGE_SIZE);
    g.readSync(back, 0);
    const want = old.slice();
    want.fill(0x77, pos, pos + written);
    expect(Buffer.from(back).equals(Buffer.from(want))).toBe(true);
    const kept = new Uint8Array(2 * PAGE_SIZE);
    f.readSync(kept, 0);
    expect(Buffer.from(kept).equals(Buffer.from(old))).toBe(true);
    await g.close();
    await f.close();
    await pool.close();
  });
});
