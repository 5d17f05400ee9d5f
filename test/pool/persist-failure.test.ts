import { describe, expect, it } from 'vitest';
import { Pool, type PoolFile } from '../../lib';
import { errnoError } from '../../lib/errors';
import type { WriteRangesOptions } from '../../lib/device/types';
import { StrictMemoryDevice, memoryDeviceFromImage } from '../../lib/testing';

const MiB = 1024 * 1024;

/**
 * A strict device at page granularity whose next `persistAsync` or store job (or `persist`) fails with EIO, making
 * nothing durable: what an msync that hit a write-back error reports (the pages are clean afterwards).
 */
class FailingDevice extends StrictMemoryDevice {
  failAsync = false;
  failSync = false;
  /** The next async call throws at once instead of returning a promise (a job the device refuses outright). */
  throwAsync = false;

  constructor(size: number, storeJobs: boolean) {
    super(size, { persistAsync: true, storeJobs, random: () => 0.1 });
    const inner = this.persistAsync as (ranges: Float64Array) => Promise<void>;
    Object.defineProperty(this, 'persistAsync', {
      value: (ranges: Float64Array): Promise<void> => (this.#throws('msync') || this.#fails() ? this.#failure('msync') : inner(ranges)),
    });
    // With store jobs the promise writes' stores and write-back go through writeRangesAsync: its pwrite fails.
    const write = this.writeRangesAsync;
    if (write !== undefined) {
      Object.defineProperty(this, 'writeRangesAsync', {
        value: (ranges: Float64Array, src: ArrayBufferView, opts?: WriteRangesOptions): Promise<void> =>
          this.#throws('pwrite') || this.#fails() ? this.#failure('pwrite') : write(ranges, src, opts),
      });
    }
  }

  #fails(): boolean {
    const now = this.failAsync;
    this.failAsync = false;
    return now;
  }

  #throws(syscall: string): false {
    if (!this.throwAsync) return false;
    this.throwAsync = false;
    throw errnoError('EIO', syscall, { path: '(device)' });
  }

  #failure(syscall: string): Promise<void> {
    return new Promise((_resolve, reject) => setImmediate(() => reject(errnoError('EIO', syscall, { path: '(device)' }))));
  }

  override persist(offset: number, length: number): void {
    if (this.failSync) {
      this.failSync = false;
      throw errnoError('EIO', 'msync', { path: '(device)' });
    }
    super.persist(offset, length);
  }
}

/** A pool on a failing device whose file 'a' holds one durable 4 KiB block of 1s, written by a promise write. */
async function durableBlock(storeJobs: boolean): Promise<{ dev: FailingDevice; pool: Pool; f: PoolFile }> {
  const dev = new FailingDevice(8 * MiB, storeJobs);
  const pool = Pool.createOn(dev);
  const f = pool.open('a', { create: true });
  await f.write(new Uint8Array(4096).fill(1), 0);
  await f.fsync();
  return { dev, pool, f };
}

/** What `p` settles with (its error when it rejects) within a second, or 'pending'. */
function settles(p: Promise<unknown>): Promise<unknown> {
  return Promise.race([p.then((v) => v, (e: unknown) => e), new Promise((resolve) => setTimeout(() => resolve('pending'), 1000))]);
}

/** The file on the media is empty or holds only `fill` bytes. */
function consistent(dev: StrictMemoryDevice, name: string, fill: number): boolean {
  const bytes = onMedia(dev, name);
  return bytes.length === 0 || bytes.every((b) => b === fill);
}

/** The file as the media hold it now (only what was made durable). */
function onMedia(dev: StrictMemoryDevice, name: string): Uint8Array {
  const pool = Pool.openOn(memoryDeviceFromImage(dev.crashImage(Math.random, { newest: 0 })));
  try {
    const f = pool.open(name, { readonly: true });
    const bytes = new Uint8Array(f.size);
    f.readSync(bytes, 0);
    return bytes;
  } finally {
    pool.closeSync();
  }
}

describe.each([false, true])('a failed write-back (msync EIO) of a promise method (store jobs: %s)', (storeJobs) => {
  it('a write whose write-back failed rejects, and no later commit maps its blocks: the pool refuses commits (EIO)', async () => {
    const dev = new FailingDevice(8 * MiB, storeJobs);
    const pool = Pool.createOn(dev);
    const f = pool.open('a', { create: true });
    f.fsyncSync();
    dev.failAsync = true;
    await expect(f.write(new Uint8Array(4096).fill(7), 0)).rejects.toMatchObject({ code: 'EIO' });
    // The data never reached the media: a record now would map a block holding whatever was there.
    expect(() => f.fsyncSync()).toThrow(expect.objectContaining({ code: 'EIO' }));
    await expect(f.fsync()).rejects.toMatchObject({ code: 'EIO' });
    expect(consistent(dev, 'a', 7)).toBe(true);
    // Nor may the close: its checkpoint would map the same block.
    expect(() => pool.closeSync()).toThrow(expect.objectContaining({ code: 'EIO' }));
    expect(consistent(dev, 'a', 7)).toBe(true);
  });

  it('a job the device refuses outright (it throws): the write rejects, nothing waits on it, and the pool refuses commits (EIO)', async () => {
    const { dev, pool, f } = await durableBlock(storeJobs);
    dev.throwAsync = true;
    // The refused call is the store job's pwrite with store jobs, else the write-back's msync.
    await expect(f.write(new Uint8Array(4096).fill(2), 0)).rejects.toMatchObject({ code: 'EIO', syscall: storeJobs ? 'pwrite' : 'msync' });
    expect(dev.throwAsync).toBe(false);
    // Settled, not pending: calls that wait for the file's chunks to land return, and fail as after any failed job.
    for (const call of [() => f.truncate(0), () => f.write(new Uint8Array(4096).fill(3), 4096), () => f.fsync()]) {
      await expect(settles(call())).resolves.toMatchObject({ code: 'EIO' });
    }
    expect(() => pool.closeSync()).toThrow(expect.objectContaining({ code: 'EIO' }));
  });

  it('a later promise method is not told its stores are durable when an earlier job holding them failed', async () => {
    const { dev, pool, f } = await durableBlock(storeJobs);
    dev.failAsync = true;
    const first = f.write(new Uint8Array(4096).fill(2), 0);
    await expect(first).rejects.toMatchObject({ code: 'EIO' });
    // Nothing stored since: a plain durable() would resolve at once, and this fsync would commit.
    await expect(f.fsync()).rejects.toMatchObject({ code: 'EIO' });
    expect(() => pool.closeSync()).toThrow(expect.objectContaining({ code: 'EIO' }));
  });

  // Without store jobs: with them, the second write's stores are in its job, not deferred, when the commit comes.
  if (!storeJobs) it('a synchronous commit whose write-back of deferred stores fails leaves the pool refusing commits', async () => {
    const dev = new FailingDevice(8 * MiB, storeJobs);
    const pool = Pool.createOn(dev);
    const f = pool.open('a', { create: true, sync: true });
    const g = pool.open('b', { create: true, sync: true });
    f.fsyncSync();
    // A group commit in flight, and a second synced write queued behind it with its stores not yet handed to a job.
    const w1 = f.write(new Uint8Array(4096).fill(1), 0);
    await new Promise((r) => setImmediate(r));
    const w2 = g.write(new Uint8Array(4096).fill(2), 0);
    w1.catch(() => {});
    w2.catch(() => {});
    dev.failSync = true;
    expect(() => pool.sync()).toThrow(expect.objectContaining({ code: 'EIO' }));
    // Its stores are lost: nothing may commit a record mapping them.
    expect(() => pool.sync()).toThrow(expect.objectContaining({ code: 'EIO' }));
    await Promise.allSettled([w1, w2]);
    const bytes = onMedia(dev, 'b');
    expect(bytes.length === 0 || bytes.every((b) => b === 2)).toBe(true);
    expect(() => pool.closeSync()).toThrow(expect.objectContaining({ code: 'EIO' }));
    expect(consistent(dev, 'b', 2)).toBe(true);
  });

  it('closeSync of a failed pool with an unlinked file open still closes the pool (one EIO, then closed)', async () => {
    const dev = new FailingDevice(8 * MiB, storeJobs);
    const pool = Pool.createOn(dev);
    const f = pool.open('a', { create: true });
    await f.write(new Uint8Array(4096).fill(1), 0);
    pool.unlink('a');
    dev.failAsync = true;
    await expect(f.write(new Uint8Array(4096).fill(2), 0)).rejects.toMatchObject({ code: 'EIO' });
    // The last close of the unlinked file commits its removal: refused, but the pool must close all the same.
    expect(() => pool.closeSync()).toThrow(expect.objectContaining({ code: 'EIO' }));
    await expect(pool.close()).resolves.toBeUndefined();
    expect(() => pool.exists('a')).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_CLOSED' }));
  });

  it('pool.close() that fails, its promise ignored (as the docs allow when no call is in flight): no unhandled rejection; awaited, it rejects', async () => {
    const unhandled: unknown[] = [];
    const on = (e: unknown): void => {
      unhandled.push(e);
    };
    process.on('unhandledRejection', on);
    try {
      for (const awaited of [false, true]) {
        const dev = new FailingDevice(8 * MiB, storeJobs);
        const pool = Pool.createOn(dev);
        const f = pool.open('a', { create: true });
        dev.failAsync = true;
        await expect(f.write(new Uint8Array(4096).fill(1), 0)).rejects.toMatchObject({ code: 'EIO' });
        if (awaited) await expect(pool.close()).rejects.toMatchObject({ code: 'EIO' });
        else void pool.close();
        await new Promise((r) => setTimeout(r, 10));
      }
    } finally {
      process.off('unhandledRejection', on);
    }
    expect(unhandled).toEqual([]);
  });
});
