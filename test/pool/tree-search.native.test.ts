import { spawn } from 'node:child_process';
import { truncateSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { Device } from '../../lib';
import { BTree, NO_PAGE, type ScanRange } from '../../lib/pool/meta/btree';
import { BRANCH, LEAF, PAGE, VALUE_MAX, initPage, insertCell, pageProblem } from '../../lib/pool/meta/page';
import { treeReaderOf } from '../../lib/device/device';
import { DevicePageStore, pageCrc, type PageBlocks } from '../../lib/pool/meta/page-store';
import { decodeNameKey } from '../../lib/pool/meta/records';
import { native } from '../../lib/native';
import { MemoryDevice } from '../../lib/testing/memory-device';
import { rng } from '../support/rng';
import { PROJECT_ROOT, scratchDir } from '../support/scratch';

// The in-place search of committed subtrees (native/tree_search.cpp) against a model and against the same
// tree read page by page from a copy of the device's bytes (a MemoryDevice has no native search).

const BLOCKS = 4096;

class Blocks implements PageBlocks {
  readonly #free: number[] = [];
  constructor() {
    for (let b = BLOCKS - 1; b >= 1; b--) this.#free.push(b);
  }
  take(): number {
    const b = this.#free.pop();
    if (b === undefined) throw new Error('out of blocks');
    return b;
  }
  give(block: number): void {
    this.#free.push(block);
  }
  retire(block: number): void {
    this.#free.push(block);
  }
}

const scratch = scratchDir();

function openDevice(name: string): Device {
  return Device.open(scratch.file(name), { create: true, size: BLOCKS * PAGE });
}

/** Keys of 1-255 random bytes (0x00 and 0xff among them, so byte order matters) and values of 0-1024. */
function randomKey(next: () => number): Buffer {
  const len = 1 + Math.floor(next() ** 3 * 255);
  const key = Buffer.alloc(len);
  for (let i = 0; i < len; i++) key[i] = next() < 0.2 ? (next() < 0.5 ? 0 : 255) : Math.floor(next() * 256);
  return key;
}

function randomValue(next: () => number): Buffer {
  const len = next() < 0.05 ? VALUE_MAX : Math.floor(next() * 40);
  return Buffer.from(Array.from({ length: len }, () => Math.floor(next() * 256)));
}

/** A MemoryDevice holding a copy of `device`'s bytes: the same pages, read only page by page. */
function copyOf(device: Device): MemoryDevice {
  const copy = new MemoryDevice(device.size);
  copy.copy(0, device.readSafe(0, device.size));
  return copy;
}

describe('pool metadata: lookups in place', () => {
  it('answer every get as the model does, with changes pending over committed pages and after each commit (6 seeds)', () => {
    for (let seed = 1; seed <= 6; seed++) {
      const device = openDevice(`model-${seed}`);
      const next = rng(seed);
      const store = new DevicePageStore(device, 'pool', new Blocks());
      const tree = new BTree(store);
      const model = new Map<string, Buffer>();
      const keys: Buffer[] = [];
      const compare = (label: string): void => {
        const asked = [...keys.slice(-300), ...Array.from({ length: 300 }, () => keys[Math.floor(next() * keys.length)] as Buffer)];
        for (let i = 0; i < 100; i++) asked.push(randomKey(next));
        for (const key of asked) {
          const want = model.get(key.toString('hex')) ?? null;
          const got = tree.get(key);
          if (want === null ? got !== null : got === null || !got.equals(want)) throw new Error(`seed ${seed} ${label}: key ${key.toString('hex')}`);
        }
        // A fresh store over a copy of the committed bytes, read page by page, agrees with the in-place one.
        const byPage = new BTree(new DevicePageStore(copyOf(device), 'pool', new Blocks()), committedRoot);
        const inPlace = new BTree(new DevicePageStore(device, 'pool', new Blocks()), committedRoot);
        for (const key of asked) expect(inPlace.get(key)).toEqual(byPage.get(key));
      };
      let committedRoot = NO_PAGE;
      for (let round = 0; round < 6; round++) {
        for (let op = 0; op < 700; op++) {
          if (keys.length > 0 && next() < 0.25) {
            const key = keys[Math.floor(next() * keys.length)] as Buffer;
            tree.delete(key);
            model.delete(key.toString('hex'));
          } else {
            const key = next() < 0.3 && keys.length > 0 ? (keys[Math.floor(next() * keys.length)] as Buffer) : randomKey(next);
            const value = randomValue(next);
            tree.put(key, value);
            model.set(key.toString('hex'), value);
            keys.push(key);
          }
        }
        compare(`round ${round}, changes pending`);
        store.write();
        store.commit();
        committedRoot = tree.root;
        compare(`round ${round}, committed`);
      }
      // Searched in place: once a store has checked the pages, lookups copy none, though it caches two.
      const inPlace = new BTree(new DevicePageStore(device, 'pool', new Blocks(), 2), committedRoot);
      for (const key of keys) inPlace.get(key);
      const copies = vi.spyOn(device, 'copySafe');
      for (const key of keys) expect(inPlace.get(key)).toEqual(model.get(key.toString('hex')) ?? null);
      expect(copies).not.toHaveBeenCalled();
      copies.mockRestore();
      device.close();
    }
  });

  it('scans: every range (prefix, after, from) gives the keys a page-by-page walk gives, in batches, copying no page once checked', () => {
    const device = openDevice('scan');
    const next = rng(7);
    const store = new DevicePageStore(device, 'pool', new Blocks());
    const tree = new BTree(store);
    const keys: Buffer[] = [];
    // Keys sharing prefixes of every length, so that prefix ranges hold a few keys or thousands.
    for (let i = 0; i < 6000; i++) {
      const base = keys.length > 0 && next() < 0.6 ? (keys[Math.floor(next() * keys.length)] as Buffer) : randomKey(next);
      const key = Buffer.concat([base.subarray(0, Math.floor(next() * (base.length + 1))), randomKey(next).subarray(0, 1 + Math.floor(next() * 6))]);
      if (key.length > 255) continue;
      keys.push(key);
      tree.put(key, randomValue(next));
    }
    store.write();
    store.commit();
    const inPlace = new BTree(new DevicePageStore(device, 'pool', new Blocks(), 2), tree.root);
    const byPage = new BTree(new DevicePageStore(copyOf(device), 'pool', new Blocks()), tree.root);
    const pick = (): Buffer => {
      const key = keys[Math.floor(next() * keys.length)] as Buffer;
      return next() < 0.5 ? key : randomKey(next);
    };
    const ranges: ScanRange[] = [{}, { prefix: Buffer.from([0]) }, { prefix: Buffer.from([255, 255]) }, { after: Buffer.alloc(0) }];
    for (let i = 0; i < 300; i++) {
      const range: { prefix?: Buffer; after?: Buffer; from?: Buffer } = {};
      if (next() < 0.7) range.prefix = pick().subarray(0, Math.floor(next() * 4));
      const r = next();
      if (r < 0.4) range.after = pick();
      else if (r < 0.7) range.from = pick();
      ranges.push(range);
    }
    const hex = (bs: Iterable<Buffer>): string[] => [...bs].map((b) => b.toString('hex'));
    for (const range of ranges) expect(hex(inPlace.keys(range)), JSON.stringify(range)).toEqual(hex([...byPage.entries(range)].map(([key]) => key)));
    const copies = vi.spyOn(device, 'copySafe');
    for (const range of ranges.slice(0, 50)) [...inPlace.keys(range)];
    expect(copies).not.toHaveBeenCalled();
    copies.mockRestore();
    device.close();
  });

  it('names: the addon makes a string of exactly the keys decodeNameKey takes, the same string (every 1- and 2-byte key, UTF-8 edges, random runs)', () => {
    const device = openDevice('names');
    const next = rng(11);
    const store = new DevicePageStore(device, 'pool', new Blocks());
    const tree = new BTree(store);
    const keys = new Map<string, Buffer>();
    const add = (key: Buffer): void => void keys.set(key.toString('hex'), key);
    add(Buffer.alloc(0));
    for (let a = 0; a < 256; a++) {
      add(Buffer.from([a]));
      for (let b = 0; b < 256; b++) add(Buffer.from([a, b]));
    }
    // Every lead byte from 0xe0 with second and later bytes at the edges of each range the lead allows.
    const edges = [0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xff];
    for (let lead = 0xe0; lead < 256; lead++) {
      for (const b of edges) {
        for (const c of edges) {
          add(Buffer.from([lead, b, c]));
          for (const d of [0x41, 0x80, 0xbf, 0xc0]) add(Buffer.from([lead, b, c, d]));
        }
      }
    }
    for (let i = 0; i < 20000; i++) {
      // Runs of valid characters with now and then one byte changed or the end cut off.
      const text = Array.from({ length: 1 + Math.floor(next() * 12) }, () => String.fromCodePoint([0x41, 0xe9, 0x20ac, 0xfeff, 0xffff, 0x1f600, 0x10ffff][Math.floor(next() * 7)] as number)).join('');
      const key = Buffer.from(text);
      if (next() < 0.5) key[Math.floor(next() * key.length)] = Math.floor(next() * 256);
      add(next() < 0.2 ? key.subarray(0, Math.floor(next() * key.length)) : key);
    }
    add(Buffer.alloc(255, 0x61));
    add(Buffer.concat([Buffer.from('\u{10ffff}'.repeat(63)), Buffer.from('abc')]));
    for (const key of keys.values()) tree.put(key, Buffer.alloc(0));
    store.write();
    store.commit();
    const inPlace = new DevicePageStore(device, 'pool', new Blocks());
    let made = 0;
    for (const key of keys.values()) {
      let want: string | null = null;
      try {
        want = decodeNameKey(key, 'pool');
      } catch {
        // not a name: the addon must refuse it too
      }
      const got = inPlace.scanNames(tree.root, { from: key }, 1);
      if (want === null) {
        if (got !== undefined) throw new Error(`key ${key.toString('hex')} is no name, but the addon made ${JSON.stringify(got.names)}`);
      } else {
        if (got === undefined || got.names[0] !== want) throw new Error(`key ${key.toString('hex')}: ${JSON.stringify(got?.names)}, not ${JSON.stringify(want)}`);
        made++;
      }
    }
    expect(made).toBeGreaterThan(25000);
    device.close();
  });

  it('names: a key that is no name in the middle of a listing is ERR_PMEMDAX_CORRUPT after the batches before it, in place as page by page', () => {
    const device = openDevice('bad-name');
    const store = new DevicePageStore(device, 'pool', new Blocks());
    const tree = new BTree(store);
    const good = Array.from({ length: 400 }, (_, i) => `n${String(i).padStart(3, '0')}`);
    for (const n of good) tree.put(Buffer.from(n), Buffer.alloc(4));
    // Sorts after n199 and before n200: a surrogate's encoding, which a fatal decoder refuses.
    tree.put(Buffer.from([0x6e, 0x31, 0x39, 0x39, 0xed, 0xa0, 0x80]), Buffer.alloc(4));
    store.write();
    store.commit();
    const decode = (key: Buffer): string => decodeNameKey(key, 'pool');
    /** Batch after batch, each after the last name of the one before, as a listing goes. */
    const listed = (t: BTree, range: ScanRange, seen: string[]): string[] => {
      for (let from = range; ;) {
        const batch = t.names(from, decode);
        seen.push(...batch.names);
        const last = batch.names[batch.names.length - 1];
        if (batch.ended || last === undefined) return seen;
        from = { after: Buffer.from(last) };
      }
    };
    for (const pages of [new DevicePageStore(device, 'pool', new Blocks()), new DevicePageStore(copyOf(device), 'pool', new Blocks())]) {
      const seen: string[] = [];
      expect(() => listed(new BTree(pages, tree.root), {}, seen)).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_CORRUPT' }));
      // The first batch (160 names) whole; the damage in the second.
      expect(seen).toEqual(good.slice(0, 160));
      expect(listed(new BTree(pages, tree.root), { after: Buffer.from('n2') }, [])).toEqual(good.slice(200));
    }
    device.close();
  });

  it('damaged pages: a store that never read them reports the damage; one that checked them before never crashes or reads past a page', () => {
    const device = openDevice('damage');
    const next = rng(99);
    const store = new DevicePageStore(device, 'pool', new Blocks());
    const tree = new BTree(store);
    const keys: Buffer[] = [];
    for (let i = 0; i < 3000; i++) {
      const key = randomKey(next);
      keys.push(key);
      tree.put(key, randomValue(next));
    }
    store.write();
    store.commit();
    const checked = new BTree(new DevicePageStore(device, 'pool', new Blocks(), 2), tree.root);
    for (const key of keys) checked.get(key);
    // Every page: random bytes of the header, the slots and the cells overwritten, checksums left stale.
    const pages = new Set<number>();
    const walk = (no: number): void => {
      pages.add(no);
      const p = store.page(no);
      if (p.readUInt16LE(0) === 2) for (let i = 0; i < p.readUInt16LE(2); i++) walk(p.readUInt32LE(p.readUInt16LE(16 + 2 * i) + 2));
    };
    walk(tree.root);
    for (const no of pages) {
      const noise = Buffer.alloc(24);
      for (let i = 0; i < noise.length; i++) noise[i] = Math.floor(next() * 256);
      for (const at of [0, 2, 16 + Math.floor(next() * 200), Math.floor(next() * (PAGE - 24))]) device.copy(no * PAGE + at, noise.subarray(0, 2 + Math.floor(next() * 22)));
    }
    let answered = 0;
    let refused = 0;
    for (const [i, key] of [...keys, ...keys.map(() => randomKey(next))].entries()) {
      try {
        checked.get(key);
        answered++;
      } catch (e) {
        expect((e as { code?: string }).code).toMatch(/^(ERR_PMEMDAX_CORRUPT|ERR_OUT_OF_RANGE)$/);
        refused++;
      }
      expect(() => new BTree(new DevicePageStore(device, 'pool', new Blocks()), tree.root).get(key)).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_CORRUPT' }));
      try {
        if (i % 20 === 0) [...checked.keys({ from: key })];
      } catch (e) {
        expect((e as { code?: string }).code).toMatch(/^(ERR_PMEMDAX_CORRUPT|ERR_OUT_OF_RANGE)$/);
      }
    }
    expect(() => [...new BTree(new DevicePageStore(device, 'pool', new Blocks()), tree.root).keys()]).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_CORRUPT' }));
    expect(answered + refused).toBe(2 * keys.length);
    device.close();
  });

  /** Pages written as given, each with its CRC right: damage that no page check sees. */
  function crafted(name: string, pages: [number, Buffer][]): Device {
    const device = openDevice(name);
    for (const [no, p] of pages) {
      p.writeUInt32LE(pageCrc(p), 8);
      device.copy(no * PAGE, p);
    }
    return device;
  }

  function leafOf(keys: string[]): Buffer {
    const p = Buffer.alloc(PAGE);
    initPage(p, LEAF);
    keys.forEach((k, i) => insertCell(p, i, Buffer.from(k), Buffer.from('v')));
    return p;
  }

  function branchOf(cells: [string, number][]): Buffer {
    const p = Buffer.alloc(PAGE);
    initPage(p, BRANCH);
    cells.forEach(([k, child], i) => insertCell(p, i, Buffer.from(k), null, child));
    return p;
  }

  const names = (from: number, to: number): string[] => Array.from({ length: to - from }, (_, i) => `a${String(from + i).padStart(3, '0')}`);

  it('a tree that goes round (a branch whose child is itself) ends every lookup and scan with an error', () => {
    const device = crafted('cycle', [[3, branchOf([['', 5], ['m', 3]])], [5, leafOf(names(0, 10))]]);
    const tree = new BTree(new DevicePageStore(device, 'pool', new Blocks()), 3);
    expect(tree.get(Buffer.from('a003'))).toEqual(Buffer.from('v'));
    expect(() => tree.get(Buffer.from('z'))).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    for (const range of [{}, { prefix: Buffer.from('a') }, { after: Buffer.from('a005') }]) {
      expect(() => {
        let n = 0;
        for (const key of tree.keys(range)) if (++n > 10_000) throw new Error(`still going at ${key.toString()}`);
      }).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    }
    device.close();
  });

  it('a tree whose keys go back from one leaf to the next: scans and listings end with an error', () => {
    const device = crafted('order', [[3, branchOf([['', 5], ['m', 6]])], [5, leafOf(names(0, 150))], [6, leafOf(names(0, 150))]]);
    const tree = new BTree(new DevicePageStore(device, 'pool', new Blocks()), 3);
    for (const range of [{}, { after: Buffer.from('a100') }]) {
      expect(() => [...tree.keys(range)], JSON.stringify(range)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE', message: expect.stringContaining('out of order') }));
    }
    // A prefix ends where a key leaves it, the first key of the second leaf.
    expect([...tree.keys({ prefix: Buffer.from('a1') })].map(String)).toEqual(names(100, 150));
    // Keys in order whose branch sends a scan's second batch back a leaf: an error, not the keys again.
    const misfiled = crafted('misfiled', [[3, branchOf([['', 5], ['m', 6]])], [5, leafOf(names(0, 150))], [6, leafOf(names(150, 400))]]);
    expect(() => [...new BTree(new DevicePageStore(misfiled, 'pool', new Blocks()), 3).keys()]).toThrow(expect.objectContaining({ message: expect.stringContaining('out of order') }));
    misfiled.close();
    // Keys that rise across the same two leaves are listed whole, in place.
    const rising = crafted('rising', [[3, branchOf([['', 5], ['a150', 6]])], [5, leafOf(names(0, 150))], [6, leafOf(names(150, 400))]]);
    expect([...new BTree(new DevicePageStore(rising, 'pool', new Blocks()), 3).keys()].map(String)).toEqual(names(0, 400));
    rising.close();
    device.close();
  });

  it('a separator raised past keys of its right child (checksums right): a scan from inside the gap ends with an error, never the keys before its start', () => {
    // Keys a100..a149 belong left of the separator a150, but lie in the right leaf: a descent for a120 goes left.
    const device = crafted('raised', [[3, branchOf([['', 5], ['a150', 6]])], [5, leafOf(names(0, 100))], [6, leafOf(names(100, 300))]]);
    for (const copy of [false, true]) {
      const tree = new BTree(new DevicePageStore(copy ? copyOf(device) : device, 'pool', new Blocks()), 3);
      for (const range of [{ after: Buffer.from('a120') }, { prefix: Buffer.from('a12') }, { from: Buffer.from('a130') }]) {
        const label = `${JSON.stringify(range)}, ${copy ? 'page by page' : 'in place'}`;
        expect(() => [...tree.keys(range)], label).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE', message: expect.stringContaining('out of order') }));
        expect(() => tree.names(range, (k) => k.toString()), label).toThrow(expect.objectContaining({ message: expect.stringContaining('out of order') }));
      }
      // Outside the gap the tree reads as it is.
      expect([...tree.keys({ after: Buffer.from('a160') })].map(String)).toEqual(names(161, 300));
    }
    device.close();
  });

  it('an addon that makes no names (a build from before them) has its scans read the other way: every name still listed', () => {
    const device = openDevice('stale-addon');
    const store = new DevicePageStore(device, 'pool', new Blocks());
    const tree = new BTree(store);
    const all = names(0, 500);
    for (const n of all) tree.put(Buffer.from(n), Buffer.alloc(4));
    store.write();
    store.commit();
    const { hotPath } = native.NativeDevice;
    const scan = hotPath.treeScan;
    // The old addon: the keys counted and copied out, the names argument not read.
    const stale = vi.spyOn(hotPath, 'treeScan').mockImplementation((h, o, s, p, k, l, out, v) => scan(h, o, s, p, k, l, out, v));
    try {
      const old = new BTree(new DevicePageStore(device, 'pool', new Blocks()), tree.root);
      const listed: string[] = [];
      for (let from: ScanRange = {}; ;) {
        const batch = old.names(from, (key) => decodeNameKey(key, 'pool'));
        listed.push(...batch.names);
        const last = batch.names[batch.names.length - 1];
        if (batch.ended || last === undefined) break;
        from = { after: Buffer.from(last) };
      }
      expect(listed).toEqual(all);
      expect(stale).toHaveBeenCalled();
    } finally {
      stale.mockRestore();
    }
    device.close();
  });

  it('a block outside the device is ERR_PMEMDAX_CORRUPT naming its offset, as page-by-page reads say', () => {
    const device = crafted('outside', [[3, branchOf([['', 5], ['m', BLOCKS + 7]])], [5, leafOf(names(0, 10))]]);
    for (const root of [BLOCKS, BLOCKS + 5, -1]) {
      const tree = new BTree(new DevicePageStore(device, 'pool', new Blocks()), root);
      expect(() => tree.get(Buffer.from('a'))).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_CORRUPT', offset: root * PAGE }));
      expect(() => [...tree.keys()]).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_CORRUPT', offset: root * PAGE }));
    }
    const tree = new BTree(new DevicePageStore(device, 'pool', new Blocks()), 3);
    expect(() => tree.get(Buffer.from('z'))).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_CORRUPT', offset: (BLOCKS + 7) * PAGE }));
    device.close();
  });

  it('the page check where a page lies agrees with the checked read on 20,000 damaged pages, checksums recomputed', () => {
    const device = openDevice('page-check');
    const reader = treeReaderOf(device);
    if (reader === null) throw new Error('a native device has in-place reads');
    const next = rng(1234);
    const pages = [leafOf(names(0, 150)), branchOf(names(0, 200).map((k, i) => [i === 0 ? '' : k, 10 + i])), leafOf(['z']), leafOf([])];
    let whole = 0;
    for (let i = 0; i < 20_000; i++) {
      const p = Buffer.from(pages[i % pages.length] as Buffer);
      // Few changes, mostly in the header and the slots, where a small change keeps the page close to valid.
      for (let k = 0, changes = 1 + Math.floor(next() * 3); k < changes; k++) {
        const r = next();
        const at = r < 0.3 ? Math.floor(next() * 8) : r < 0.7 ? 16 + Math.floor(next() * 400) : Math.floor(next() * PAGE);
        if (at >= 8 && at < 12) continue;
        p[at] = next() < 0.5 ? Math.floor(next() * 256) : (p[at] as number) ^ (1 << Math.floor(next() * 8));
      }
      const crcRight = next() < 0.9;
      p.writeUInt32LE(crcRight ? pageCrc(p) : (pageCrc(p) ^ 1) >>> 0, 8);
      device.copy(PAGE, p);
      const kind = p.readUInt16LE(0);
      const jsWhole = crcRight && (kind === LEAF || kind === BRANCH) && pageProblem(p, false) === null;
      if (reader.check(PAGE) !== jsWhole) throw new Error(`page ${i}: native ${!jsWhole}, checked read ${jsWhole}: ${p.subarray(0, 64).toString('hex')}`);
      if (jsWhole) whole++;
    }
    // Both kinds of answer were met often.
    expect(whole).toBeGreaterThan(1000);
    expect(whole).toBeLessThan(19_000);
    device.close();
  });

  it('a page another process rewrites during the searches (counts, cell offsets, key lengths) never crashes the searcher', async () => {
    const path = scratch.file('rewritten');
    const device = Device.open(path, { create: true, size: BLOCKS * PAGE });
    const last = BLOCKS - 1;
    const leaf = leafOf(names(0, 150));
    leaf.writeUInt32LE(pageCrc(leaf), 8);
    device.copy(last * PAGE, leaf);
    // The page at the device's end: a read past it would meet the mapping's reserved, inaccessible space.
    const child = spawn(process.execPath, ['-e', `
      const { Device } = require(${JSON.stringify(`${PROJECT_ROOT}/dist/index.js`)});
      const d = Device.open(${JSON.stringify(path)}, {});
      const view = d.directAccess(${last}, 1).view;
      const saved = Uint8Array.from(view);
      console.log('go');
      const until = Date.now() + 1500;
      let x = 7;
      while (Date.now() < until) {
        for (let i = 0; i < 2000; i++) {
          x = (x * 1103515245 + 12345) >>> 0;
          const at = x % 4 === 0 ? 2 + (x >>> 8) % 2 : 16 + (x >>> 8) % 300;
          view[at] = 0xff;
          view[at] = saved[at];
          if (x % 7 === 0) view[4096 - 1 - ((x >>> 9) % 64)] ^= 0xff;
        }
      }
      d.close();
    `], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await Promise.race([new Promise((resolve) => child.stdout.once('data', resolve)), exited]);
    let running = true;
    void exited.then(() => {
      running = false;
    });
    let searches = 0;
    while (running) {
      for (let i = 0; i < 200; i++) {
        const store = new DevicePageStore(device, 'pool', new Blocks(), 2);
        const tree = new BTree(store, last);
        for (const key of [Buffer.from('a077'), Buffer.from('zz'), Buffer.from('')]) {
          try {
            tree.get(key);
            [...tree.keys({ from: key })];
          } catch (e) {
            expect((e as { code?: string }).code).toMatch(/^(ERR_PMEMDAX_CORRUPT|ERR_OUT_OF_RANGE)$/);
          }
          searches++;
        }
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(await exited).toBe(0);
    expect(searches).toBeGreaterThan(1000);
    device.close();
  });

  it('pages gone from under the mapping (the file truncated) are EIO naming the metadata page, never a SIGBUS', () => {
    const path = scratch.file('truncated');
    const device = Device.open(path, { create: true, size: BLOCKS * PAGE });
    const store = new DevicePageStore(device, 'pool', new Blocks());
    const tree = new BTree(store);
    for (let i = 0; i < 2000; i++) tree.put(Buffer.from(`name-${i}`), Buffer.from([i & 0xff]));
    store.write();
    store.commit();
    truncateSync(path, PAGE);
    const fresh = new BTree(new DevicePageStore(device, 'pool', new Blocks()), tree.root);
    expect(() => fresh.get(Buffer.from('name-7'))).toThrow(expect.objectContaining({ code: 'EIO', message: expect.stringContaining('metadata tree page') }));
    device.close();
    scratch.cleanup();
  });
});
