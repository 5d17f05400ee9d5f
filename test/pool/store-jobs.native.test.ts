import { describe, expect, it } from 'vitest';
import { Device, Pool } from '../../lib';
import { scratchPerTest } from '../support/scratch';

const MiB = 1024 * 1024;
const scratch = scratchPerTest();

/** Until the calls made just before have run their turns (a few microtasks; their jobs land in later turns of the loop). */
async function turnsRun(): Promise<void> {
  for (let k = 0; k < 8; k++) await Promise.resolve();
}

describe('store jobs on a native Device at page granularity (a temp file)', () => {
  it('promise writes store by job: no store of theirs goes through the mapping, and the bytes are there when they resolve', async () => {
    const dev = Device.open(scratch.file('pool.img'), { create: true, size: 16 * MiB });
    expect(dev.info.granularity).toBe('page');
    const pool = Pool.createOn(dev);
    const f = pool.open('a', { create: true });
    const copies = { n: 0 };
    for (const name of ['copy', 'fill'] as const) {
      const inner = dev[name].bind(dev) as (...a: unknown[]) => void;
      Object.defineProperty(dev, name, { configurable: true, value: (...a: unknown[]) => (copies.n++, inner(...a)) });
    }
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < 50; i++) calls.push(i % 2 === 0 ? f.append(new Uint8Array(3000).fill(i + 1)) : f.write(new Uint8Array(100).fill(i + 1), i * 50));
    await Promise.all(calls);
    expect(copies.n).toBe(0);
    const b = new Uint8Array(f.size);
    f.readSync(b, 0);
    expect(b.subarray(49 * 50, 49 * 50 + 100).every((x) => x === 50)).toBe(true);
    expect(b.subarray(b.length - 3000).every((x) => x === 49)).toBe(true);
    await pool.close();
    dev.close();
  });

  it('mmap of a file whose write is still landing is EAGAIN; once it has landed, the region sees it', async () => {
    const pool = Pool.create(scratch.file('pool.img'), { size: 16 * MiB });
    const f = pool.open('a', { create: true });
    await f.write(new Uint8Array(8192).fill(1), 0);
    const w = f.write(new Uint8Array(4096).fill(2), 8192);
    await turnsRun();
    expect(() => f.mmap({ length: 12288 })).toThrow(expect.objectContaining({ code: 'EAGAIN', syscall: 'mmap' }));
    await w;
    const r = f.mmap({ length: 12288 });
    await r.populate();
    expect(r.bytes.subarray(8192, 12288).every((x) => x === 2)).toBe(true);
    r.unmap();
    await pool.close();
  });
});
