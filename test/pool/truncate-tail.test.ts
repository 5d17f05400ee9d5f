import { describe, expect, it } from 'vitest';
import { Pool } from '../../lib';
import { MemoryDevice, StrictMemoryDevice } from '../../lib/testing';
import { Prng } from '../dax/support/prng';

// A shrinking truncate to an unaligned size zeroes the tail of the new last page (what a later extension
// must read as zeros). Bytes inside the old size may be zeroed only once the new size is committed.
const DEVICE = 4 * 1024 * 1024;
const OLD = 8192;
const NEW = 5000;

/** `{ size, whole }` of file 'a': whole when every byte up to its size is the one written. */
function look(pool: Pool): { size: number; whole: boolean } {
  const f = pool.open('a', { readonly: true });
  try {
    const bytes = Buffer.alloc(f.size);
    f.readSync(bytes, 0);
    return { size: f.size, whole: bytes.every((b) => b === 0xee) };
  } finally {
    void f.close();
  }
}

async function truncated(device: MemoryDevice): Promise<{ pool: Pool; done: Promise<void> }> {
  const pool = Pool.createOn(device);
  const f = pool.open('a', { create: true });
  f.writeSync(Buffer.alloc(OLD, 0xee), 0);
  await f.fsync();
  return { pool, done: f.truncate(NEW) };
}

describe('a shrinking truncate to an unaligned size', () => {
  it('every crash image along it holds the old file whole or the new one, never the old size with zeros inside', async () => {
    const device = new StrictMemoryDevice(DEVICE);
    const image = new MemoryDevice(DEVICE);
    const rng = new Prng(17);
    const sizes = new Set<number>();
    const problems: string[] = [];
    const { pool, done } = await truncated(device);
    device.onDrain = (drain) => {
      for (const newest of [0, 1, 0.5]) {
        device.crashImageInto(image.bytes, () => rng.next(), { newest });
        const p = Pool.openOn(image, { path: 'crash-image' });
        try {
          const got = look(p);
          sizes.add(got.size);
          if (!got.whole || (got.size !== OLD && got.size !== NEW)) problems.push(`drain ${drain}: ${JSON.stringify(got)}`);
        } finally {
          p.closeSync();
        }
      }
    };
    await done;
    device.onDrain = null;
    expect(problems).toEqual([]);
    expect(sizes).toEqual(new Set([OLD, NEW]));
    expect(look(pool)).toEqual({ size: NEW, whole: true });
    pool.closeSync();
  });

  it("the writer's own reads see the old size and bytes or the new size, turn after turn", async () => {
    const { pool, done } = await truncated(new MemoryDevice(DEVICE));
    let settled = false;
    void done.then(() => (settled = true));
    const seen: { size: number; whole: boolean }[] = [];
    // Mostly microtask by microtask; a macrotask now and then lets the commit's own turns come.
    for (let i = 0; !settled; i++) {
      seen.push(look(pool));
      await (i % 16 === 15 ? new Promise((resolve) => setImmediate(resolve)) : Promise.resolve());
    }
    await done;
    expect(seen.filter((s) => !s.whole || (s.size !== OLD && s.size !== NEW))).toEqual([]);
    expect(seen.at(-1)).toEqual({ size: NEW, whole: true });
    pool.closeSync();
  });
});
