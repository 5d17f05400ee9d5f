import { describe, expect, it } from 'vitest';
import { Pool } from '../../lib';
import { INODE_CACHE_LIMIT, InodeCache } from '../../lib/pool/inode-cache';
import { MemoryDevice } from '../../lib/testing';
import { FailingDevice } from './support/failing-device';

const MiB = 1024 * 1024;

const byCodePoint = (names: readonly string[]): string[] => [...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

function run(seed0: number, steps: number): void {
  let seed = seed0;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return Math.floor(seed / 65536) % n;
  };
  const SIZE = 32 * MiB;
  let dev = new FailingDevice(SIZE);
  let pool = Pool.createOn(dev, { journalBytes: 64 * 1024 });
  const model = new Map<string, number>(); // name -> ino
  const handles: { f: ReturnType<Pool['open']>; ino: number }[] = [];
  const universe: string[] = [];
  for (let i = 0; i < 60; i++) universe.push(`n${String(i).padStart(2, '0')}${i % 7 === 0 ? '\u{1F600}' : i % 11 === 0 ? '\uE000' : ''}`);
  const pick = (): string => universe[rand(universe.length)] as string;
  const check = (where: string): void => {
    for (const n of universe) {
      expect(pool.exists(n), `${where} exists ${n}`).toBe(model.has(n));
      if (model.has(n)) expect(pool.stat(n).ino, `${where} ino ${n}`).toBe(model.get(n));
    }
    expect(pool.statfs().files, `${where} files`).toBe(model.size);
    const all = byCodePoint([...model.keys()]);
    expect([...pool.list()], `${where} list`).toEqual(all);
    expect([...pool.list({ prefix: 'n1', after: 'n12' })], `${where} list2`).toEqual(all.filter((n) => n.startsWith('n1') && Buffer.compare(Buffer.from(n), Buffer.from('n12')) > 0));
  };
  let lastThrew = false; let eios = 0; let crashes = 0; let ckpts = 0;
  for (let step = 0; step < steps; step++) {
    const op = rand(20);
    lastThrew = false;
    if (rand(40) === 0) dev.failOffset = rand(2) === 0 ? 0 : SIZE - 4096;
    try {
      if (op < 7) {
        const name = pick();
        if (model.has(name)) continue;
        const f = pool.open(name, { create: true });
        const ino = pool.stat(name).ino;
        model.set(name, ino);
        if (rand(3) === 0) handles.push({ f, ino });
        else f.close();
      } else if (op < 11) {
        const name = pick();
        if (!model.has(name)) continue;
        model.delete(name);
        pool.unlink(name);
      } else if (op < 16) {
        const from = pick();
        const to = pick();
        if (!model.has(from) || from === to) continue;
        const ino = model.get(from) as number;
        model.delete(from);
        model.set(to, ino);
        pool.rename(from, to);
      } else if (op < 18) {
        const h = handles.splice(rand(handles.length + 1), 1)[0];
        h?.f.close();
      } else if (op === 18 && rand(100) === 0) {
        // crash
        if (lastThrew) continue;
        const img = new FailingDevice(SIZE);
        img.bytes.set(dev.bytes);
        ckpts += pool.stats().checkpoints; const crashed = pool;
        dev = img;
        pool = Pool.openOn(dev);
        for (const h of handles) h.f; handles.length = 0;
        try { crashed.close(); } catch { /* */ }
        crashes++; check(`after crash at ${step}`);
      } else if (op === 19 && rand(10) === 0) {
        // readonly open of the image
        const img = new MemoryDevice(SIZE);
        img.bytes.set(dev.bytes);
        const ro = Pool.openOn(img, { readonly: true });
        for (const n of universe) expect(ro.exists(n), `ro ${step} ${n}`).toBe(model.has(n));
        expect([...ro.list()], `ro list ${step}`).toEqual(byCodePoint([...model.keys()]));
        expect(ro.statfs().files, `ro files ${step}`).toBe(model.size);
        ro.close();
      }
    } catch (e) {
      if ((e as { code?: string }).code !== 'EIO') throw e;
      lastThrew = true; eios++;
      // a create that failed is undone
      if (op < 7) {
        const name = [...model.keys()].pop() as string;
        if (!pool.exists(name)) model.delete(name);
      }
    }
    if (step % 50 === 0) check(`step ${step} op ${op}`);
  }
  check('end');
  // The history went through what it is meant to: failed checkpoints, crashes and many checkpoints.
  expect(eios).toBeGreaterThan(0);
  expect(crashes).toBeGreaterThan(0);
  expect(ckpts + pool.stats().checkpoints).toBeGreaterThan(3);
  for (const h of handles) h.f.close();
  pool.close();
}

// Names and listings (the checkpoint's names tree merged with the changes since, NameTable): a random history
// against a model, checked every 50 steps by every lookup, the count and listings (a hostile review's model).
describe('names model: open handles, renames onto names, failed checkpoints, crashes', () => {
  for (const s of [1, 2]) it(`seed ${s}`, () => run(s, 10000), 120_000);
  // Every read from the trees evicts: no lookup, listing, rename or crash may see two inodes for one file.
  it('seed 3, with a cache of 2 inodes', () => {
    InodeCache.defaultLimit = 2;
    try {
      run(3, 10000);
    } finally {
      InodeCache.defaultLimit = INODE_CACHE_LIMIT;
    }
  }, 120_000);
});
