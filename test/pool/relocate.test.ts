import { describe, expect, it } from 'vitest';
import { Pool, type PoolFile } from '../../lib';
import { PAGE_SIZE, PMD_SIZE } from '../../lib/iomap/constants';
import { MemoryDevice, SimulatedCrash, StrictMemoryDevice, memoryDeviceFromImage } from '../../lib/testing';
import { rng } from '../support/rng';

const KiB = 1024;
const MiB = 1024 * KiB;

/** Is the file's first 2 MiB range on one aligned extent (one PMD could map it)? */
function firstRangeAligned(file: PoolFile): boolean {
  let expect0 = -1;
  let covered = 0;
  for (const { logical, physical, length } of file.fiemap(0, PMD_SIZE)) {
    if (logical >= PMD_SIZE) break;
    if (expect0 < 0) expect0 = physical - logical;
    if (physical - logical !== expect0 || logical !== covered) return false;
    covered = logical + length;
  }
  return expect0 >= 0 && expect0 % PMD_SIZE === 0 && covered >= PMD_SIZE;
}

function pattern(bytes: number, seed: number): Uint8Array {
  const next = rng(seed);
  const out = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i += 512) out.fill(Math.floor(next() * 256), i, i + 512);
  return out;
}

/** Byte equality (vitest's deep equality takes seconds over megabytes). */
function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}

function contents(file: PoolFile): Uint8Array {
  const out = new Uint8Array(file.size);
  file.readSync(out, 0);
  return out;
}

/** A pool where small files were written first, so that a file's small first write is packed, off alignment. */
function agedPool(device: MemoryDevice): Pool {
  const pool = Pool.createOn(device);
  for (let i = 0; i < 8; i++) {
    const f = pool.open(`small${i}`, { create: true });
    f.writeSync(new Uint8Array(12 * KiB).fill(i + 1), 0);
    f.close();
  }
  return pool;
}

/** Write `data` from offset `from` to `to` in 100 KiB pieces, with a small file written between pieces. */
function grow(pool: Pool, file: PoolFile, data: Uint8Array, from: number, to: number): void {
  for (let at = from; at < to; at += 100 * KiB) {
    file.writeSync(data.subarray(at, Math.min(to, at + 100 * KiB)), at);
    const s = pool.open(`between${at}`, { create: true });
    s.writeSync(new Uint8Array(8 * KiB), 0);
    s.close();
  }
}

describe("a file's first 2 MiB range moves onto an aligned group when it is written whole (lib/pool/relocate.ts)", () => {
  it('a file whose first write was small ends up aligned, with the same bytes, its old blocks freed, after reopen too', () => {
    const device = new MemoryDevice(64 * MiB);
    const pool = agedPool(device);
    const data = pattern(3 * MiB, 1);
    const f = pool.open('big', { create: true });
    f.writeSync(data.subarray(0, 4 * KiB), 0);
    grow(pool, f, data, 4 * KiB, PMD_SIZE - PAGE_SIZE);
    expect(firstRangeAligned(f)).toBe(false);
    const commits = pool.stats().commits;
    grow(pool, f, data, PMD_SIZE - PAGE_SIZE, 3 * MiB);
    expect(firstRangeAligned(f)).toBe(true);
    // The move commits at once (an overwrite of a committed block is durable on return).
    expect(pool.stats().commits).toBeGreaterThan(commits);
    expect(same(contents(f), data)).toBe(true);
    expect(f.stat().allocated).toBe(3 * MiB);
    expect(pool.check().problems).toEqual([]);
    f.close();
    pool.closeSync();
    const again = Pool.openOn(device);
    const g = again.open('big', { readonly: true });
    expect(firstRangeAligned(g)).toBe(true);
    expect(same(contents(g), data)).toBe(true);
    expect(again.check().problems).toEqual([]);
    const total = again.statfs();
    again.closeSync();
    // Nothing leaked: the blocks in use are the files' and the metadata's, as a fresh count says.
    expect(total.freeBlocks).toBe(Pool.openOn(device).statfs().freeBlocks);
  });

  it('promise writes move it too, stores handed to jobs included', async () => {
    for (const device of [new MemoryDevice(32 * MiB), new StrictMemoryDevice(32 * MiB, { persistAsync: true, random: rng(5) })]) {
      const pool = agedPool(device);
      const data = pattern(3 * MiB, 2);
      const f = pool.open('big', { create: true });
      await f.write(data.subarray(0, 4 * KiB), 0);
      for (let at = 4 * KiB; at < 3 * MiB; at += 96 * KiB) await f.append(data.subarray(at, Math.min(3 * MiB, at + 96 * KiB)));
      expect(firstRangeAligned(f)).toBe(true);
      expect(same(contents(f), data)).toBe(true);
      expect(pool.check().problems).toEqual([]);
      await pool.close();
    }
  });

  it('is not moved while its blocks are shared with a clone, or while part of it is unwritten', async () => {
    const pool = agedPool(new MemoryDevice(32 * MiB));
    const data = pattern(3 * MiB, 3);
    const a = pool.open('a', { create: true });
    const b = pool.open('b', { create: true });
    a.writeSync(data.subarray(0, 4 * KiB), 0);
    grow(pool, a, data, 4 * KiB, MiB);
    await a.clone(b, 0, 0, 64 * KiB);
    const first = a.fiemap(0, PAGE_SIZE)[0]?.physical;
    grow(pool, a, data, MiB, 3 * MiB);
    expect(firstRangeAligned(a)).toBe(false);
    expect(a.fiemap(0, PAGE_SIZE)[0]?.physical).toBe(first);
    expect(b.fiemap(0, PAGE_SIZE)[0]?.physical).toBe(first);
    expect(same(contents(a), data)).toBe(true);

    const c = pool.open('c', { create: true });
    c.writeSync(data.subarray(0, 4 * KiB), 0);
    await c.fallocate('keep-size', 4 * KiB, PMD_SIZE);
    c.writeSync(data.subarray(PMD_SIZE - PAGE_SIZE, PMD_SIZE), PMD_SIZE - PAGE_SIZE);
    expect(firstRangeAligned(c)).toBe(false);
    expect(pool.check().problems).toEqual([]);
    pool.closeSync();
  });

  it('a power cut at every drain of the write that moves it leaves the file whole and the pool clean', () => {
    const data = pattern(PMD_SIZE, 4);
    const setup = new StrictMemoryDevice(16 * MiB);
    const pool = agedPool(setup);
    const f = pool.open('big', { create: true });
    f.writeSync(data.subarray(0, 4 * KiB), 0);
    grow(pool, f, data, 4 * KiB, PMD_SIZE - PAGE_SIZE);
    f.fsyncSync();
    pool.closeSync();
    const image = setup.media.slice();
    const last = data.subarray(PMD_SIZE - PAGE_SIZE);

    // The write whole: how many drains it makes, and that it moves the range.
    const whole = StrictMemoryDevice.fromImage(image);
    const open = Pool.openOn(whole);
    const g = open.open('big');
    expect(firstRangeAligned(g)).toBe(false);
    const before = whole.drains;
    g.writeSync(last, PMD_SIZE - PAGE_SIZE);
    const drains = whole.drains - before;
    expect(firstRangeAligned(g)).toBe(true);
    // The page's store, the copy, the record at least.
    expect(drains).toBeGreaterThanOrEqual(3);
    open.closeSync();

    const random = rng(6);
    let crashes = 0;
    for (let k = 1; k <= drains; k++) {
      const d = StrictMemoryDevice.fromImage(image);
      const p = Pool.openOn(d);
      const h = p.open('big');
      d.crashAt(k);
      expect(() => h.writeSync(last, PMD_SIZE - PAGE_SIZE)).toThrow(SimulatedCrash);
      for (const newest of [0, 1, 0.5]) {
        const after = Pool.openOn(memoryDeviceFromImage(d.crashImage(random, { newest })));
        const r = after.open('big', { readonly: true });
        const got = contents(r);
        expect(got.length === PMD_SIZE - PAGE_SIZE || got.length === PMD_SIZE, `drain ${k}: size ${got.length}`).toBe(true);
        expect(same(got.subarray(0, PMD_SIZE - PAGE_SIZE), data.subarray(0, PMD_SIZE - PAGE_SIZE)), `drain ${k}`).toBe(true);
        // The size is committed with the last page's mapping, whose bytes were durable before.
        if (got.length === PMD_SIZE) expect(same(got.subarray(PMD_SIZE - PAGE_SIZE), last), `drain ${k}`).toBe(true);
        expect(after.check().problems, `drain ${k}`).toEqual([]);
        after.closeSync();
        crashes++;
      }
    }
    expect(crashes).toBe(3 * drains);
  });
});
