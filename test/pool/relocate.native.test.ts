import { describe, expect, it } from 'vitest';
import { Pool } from '../../lib';
import { PAGE_SIZE, PMD_SIZE } from '../../lib/iomap/constants';
import { scratchPerTest } from '../support/scratch';

const KiB = 1024;
const MiB = 1024 * KiB;

describe("a file's first 2 MiB range (lib/pool/relocate.ts), on a native device", () => {
  const scratch = scratchPerTest('/dev/shm');

  it('is not moved while a region maps the file: the region keeps seeing the file', async () => {
    const pool = Pool.create(scratch.file('pool.img'), { size: 32 * MiB });
    for (let i = 0; i < 4; i++) pool.open(`small${i}`, { create: true }).writeSync(new Uint8Array(12 * KiB).fill(1), 0);
    const f = pool.open('big', { create: true });
    f.writeSync(new Uint8Array(4 * KiB).fill(7), 0);
    const region = f.mmap({ length: PAGE_SIZE });
    await region.populate(undefined, 'write');
    const first = f.fiemap(0, PAGE_SIZE)[0]?.physical;
    const data = new Uint8Array(100 * KiB).fill(9);
    for (let at = 4 * KiB; at < 3 * MiB; at += data.length) f.writeSync(data, at);
    expect(f.fiemap(0, PAGE_SIZE)[0]?.physical).toBe(first);
    expect(first === undefined ? 0 : first % PMD_SIZE).not.toBe(0);
    region.bytes[1] = 8;
    const out = new Uint8Array(2);
    f.readSync(out, 0);
    expect([...out]).toEqual([7, 8]);
    region.unmap();
    await f.fsync();
    expect(pool.check().problems).toEqual([]);
    pool.closeSync();
  });

  it('is moved while a reader holds a snapshot of it: the reader keeps reading its bytes, a refresh sees the moved range', async () => {
    const path = scratch.file('pool.img');
    const pool = Pool.create(path, { size: 32 * MiB });
    for (let i = 0; i < 4; i++) pool.open(`small${i}`, { create: true }).writeSync(new Uint8Array(12 * KiB).fill(1), 0);
    const f = pool.open('big', { create: true });
    const data = new Uint8Array(100 * KiB).fill(9);
    f.writeSync(new Uint8Array(4 * KiB).fill(7), 0);
    for (let at = 4 * KiB; at < PMD_SIZE - 200 * KiB; at += data.length) f.writeSync(data, at);
    const first = f.fiemap(0, PAGE_SIZE)[0]?.physical ?? 0;
    expect(first % PMD_SIZE).not.toBe(0);
    // Committed: blocks a snapshot reaches.
    await f.fsync();
    const reader = Pool.open(path, { readonly: true });
    const g = reader.open('big', { readonly: true });
    const seen = new Uint8Array(g.size);
    g.readSync(seen, 0);
    for (let at = PMD_SIZE - 200 * KiB; at < 3 * MiB; at += data.length) f.writeSync(data, at);
    expect((f.fiemap(0, PAGE_SIZE)[0]?.physical ?? 1) % PMD_SIZE).toBe(0);
    const again = new Uint8Array(seen.length);
    g.readSync(again, 0);
    expect(Buffer.from(again).equals(Buffer.from(seen))).toBe(true);
    await g.close();
    await f.fsync();
    reader.refresh();
    const h = reader.open('big', { readonly: true });
    expect(h.size).toBe(f.size);
    const now = new Uint8Array(4);
    h.readSync(now, 4 * KiB - 2);
    expect([...now]).toEqual([7, 7, 9, 9]);
    await h.close();
    reader.closeSync();
    await f.close();
    expect(pool.check().problems).toEqual([]);
    pool.closeSync();
  });
});
