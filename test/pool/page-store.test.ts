import { describe, expect, it } from 'vitest';
import { BTree, NO_PAGE } from '../../lib/pool/meta/btree';
import { PAGE } from '../../lib/pool/meta/page';
import { DevicePageStore, pageCrc, type PageBlocks } from '../../lib/pool/meta/page-store';
import { MemoryDevice } from '../../lib/testing/memory-device';
import { SimulatedCrash, StrictMemoryDevice } from '../../lib/testing/strict-device';
import { rng } from '../support/rng';

const BLOCKS = 2048;

/** Blocks 1.. of the device, handed out lowest first; a block given back twice, or never taken, fails the test. */
class TestBlocks implements PageBlocks {
  readonly free = new Set<number>();
  constructor(blocks = BLOCKS) {
    for (let b = 1; b < blocks; b++) this.free.add(b);
  }
  take(): number {
    const b = Math.min(...this.free);
    if (!Number.isFinite(b)) throw new Error('ENOSPC');
    this.free.delete(b);
    return b;
  }
  give(block: number): void {
    if (this.free.has(block) || block < 1 || block >= BLOCKS) throw new Error(`block ${block} given back while free`);
    this.free.add(block);
  }
  retire(block: number): void {
    this.give(block);
  }
}

/** The blocks the tree under `root` reaches, read from `store`. */
function reached(store: DevicePageStore, root: number): Set<number> {
  const out = new Set<number>();
  const walk = (no: number): void => {
    out.add(no);
    const p = store.page(no);
    if (p.readUInt16LE(0) === 2) for (let i = 0; i < p.readUInt16LE(2); i++) walk(p.readUInt32LE(p.readUInt16LE(16 + 2 * i) + 2));
  };
  if (root !== NO_PAGE) walk(root);
  return out;
}


const k = (n: number): Buffer => Buffer.from(`name-${String(n).padStart(6, '0')}`);
const v = (n: number, gen: number): Buffer => Buffer.from(`value ${n} of generation ${gen}`.repeat(1 + (n % 3)));

/** What a fresh store over `device` reads under `root`, as [key, value] strings. */
function readAll(device: MemoryDevice, root: number): [string, string][] {
  const tree = new BTree(new DevicePageStore(device, 'pool', new TestBlocks()), root);
  return [...tree.entries()].map(([a, b]) => [a.toString(), b.toString()]);
}

function modelEntries(model: Map<number, Buffer>): [string, string][] {
  return [...model.entries()].sort((a, b) => a[0] - b[0]).map(([n, val]) => [k(n).toString(), val.toString()]);
}

/** Random puts and deletes against a model, `ops` of them. */
function churn(tree: BTree, model: Map<number, Buffer>, next: () => number, ops: number, gen: number): void {
  for (let i = 0; i < ops; i++) {
    const n = Math.floor(next() * 3000);
    if (next() < 0.3) {
      expect(tree.delete(k(n))).toBe(model.delete(n));
    } else {
      tree.put(k(n), v(n, gen));
      model.set(n, v(n, gen));
    }
  }
}

/** A device holding a checkpointed tree of 50 entries, and its root. */
function committedTree(): { device: MemoryDevice; root: number } {
  const device = new MemoryDevice(BLOCKS * PAGE);
  const store = new DevicePageStore(device, 'pool', new TestBlocks());
  const tree = new BTree(store);
  for (let n = 0; n < 50; n++) tree.put(k(n), v(n, 1));
  store.write();
  store.commit();
  return { device, root: tree.root };
}

describe('DevicePageStore (format 2 metadata pages on a device, lib/pool/meta)', () => {
  it('checkpoints: the durable roots read back exactly, from a fresh store over what a power cut leaves; blocks are all accounted for', () => {
    for (const seed of [1, 2, 3]) {
      const next = rng(seed);
      const device = new StrictMemoryDevice(BLOCKS * PAGE);
      const blocks = new TestBlocks();
      const store = new DevicePageStore(device, 'pool', blocks);
      const tree = new BTree(store);
      const model = new Map<number, Buffer>();
      for (let gen = 1; gen <= 12; gen++) {
        churn(tree, model, next, 400, gen);
        store.write();
        // The roots would switch in the superblock here; a crash image now must hold the new trees whole.
        const root = tree.root;
        store.commit();
        expect(store.overlayPages).toBe(0);
        expect(readAll(deviceFrom(device.crashImage(next)), root)).toEqual(modelEntries(model));
        // Every block is free or reached by the tree, never both.
        const live = reached(store, root);
        for (const b of live) expect(blocks.free.has(b)).toBe(false);
        expect(live.size + blocks.free.size).toBe(BLOCKS - 1);
      }
    }
  });

  it('a crash at any drain while the overlay is written, with any of its lines reaching the media or not, leaves the previous checkpoint whole', () => {
    // One base checkpoint, then a change of many pages written with a crash at each drain in turn; each crash
    // image takes a random subset of the lines not yet fenced.
    let crashes = 0;
    for (let crashAt = 1; ; crashAt++) {
      const next = rng(7);
      const device = new StrictMemoryDevice(BLOCKS * PAGE);
      const store = new DevicePageStore(device, 'pool', new TestBlocks());
      const tree = new BTree(store);
      const model = new Map<number, Buffer>();
      churn(tree, model, next, 1500, 1);
      store.write();
      store.commit();
      const root = tree.root;
      const before = modelEntries(model);
      churn(tree, model, next, 600, 2);
      device.crashAt(crashAt);
      try {
        store.write();
        break;
      } catch (e) {
        if (!(e instanceof SimulatedCrash)) throw e;
      }
      crashes++;
      for (let image = 0; image < 8; image++) expect(readAll(deviceFrom(device.crashImage(next)), root)).toEqual(before);
    }
    expect(crashes).toBeGreaterThan(0);
  });

  it('discard drops the overlay and gives its blocks back; the committed tree reads as before', () => {
    const device = new MemoryDevice(BLOCKS * PAGE);
    const blocks = new TestBlocks();
    const store = new DevicePageStore(device, 'pool', blocks);
    const tree = new BTree(store);
    for (let n = 0; n < 500; n++) tree.put(k(n), v(n, 1));
    store.write();
    store.commit();
    const root = tree.root;
    const free = blocks.free.size;
    for (let n = 0; n < 500; n += 2) tree.delete(k(n));
    for (let n = 500; n < 900; n++) tree.put(k(n), v(n, 2));
    store.discard();
    expect(blocks.free.size).toBe(free);
    const again = new BTree(store, root);
    expect([...again.entries()].length).toBe(500);
  });

  it('a committed page that fails its checksum, or has no known kind with its checksum right, or lies off the device, is ERR_PMEMDAX_CORRUPT naming its offset', () => {
    const { device, root } = committedTree();
    const page = Buffer.alloc(PAGE);
    device.copySafe(root * PAGE, page);

    const flipped = Buffer.from(page);
    flipped[PAGE - 1] = (flipped[PAGE - 1] as number) ^ 1;
    device.copy(root * PAGE, flipped);
    expect(() => readAll(device, root)).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_CORRUPT', offset: root * PAGE, message: expect.stringContaining('checksum') }));

    const kindless = Buffer.from(page);
    kindless.writeUInt16LE(7, 0);
    kindless.writeUInt32LE(pageCrc(kindless), 8);
    device.copy(root * PAGE, kindless);
    expect(() => readAll(device, root)).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_CORRUPT', message: expect.stringContaining('kind 7') }));

    for (const bad of [BLOCKS, BLOCKS + 5, -1, 1.5]) {
      expect(() => readAll(device, bad)).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_CORRUPT', message: expect.stringContaining('outside the device') }));
    }
  });

  it('a page is checked once per store: read again after it left the cache it is copied, poison-safely, not checked again; a fresh store checks it', () => {
    const device = new MemoryDevice(BLOCKS * PAGE);
    const writer = new DevicePageStore(device, 'pool', new TestBlocks());
    const built = new BTree(writer);
    for (let n = 0; n < 600; n++) built.put(k(n), v(n, 1));
    writer.write();
    writer.commit();
    // A store keeping two leaves: a walk of the tree's dozens of leaves pushes the first one out.
    const store = new DevicePageStore(device, 'pool', new TestBlocks(), 2);
    const tree = new BTree(store, built.root);
    const entries = [...tree.entries()].length;
    const leaf = store.page(built.root).readUInt32LE(store.page(built.root).readUInt16LE(16) + 2);
    [...tree.entries()];
    const page = Buffer.alloc(PAGE);
    device.copySafe(leaf * PAGE, page);
    page.writeUInt32LE(page.readUInt32LE(8) ^ 1, 8);
    device.copy(leaf * PAGE, page);
    expect(entries).toBe(600);
    expect([...tree.entries()].length).toBe(entries);
    expect(() => readAll(device, built.root)).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_CORRUPT', offset: leaf * PAGE, message: expect.stringContaining('checksum') }));
    // Poison is met by the copy, checked or not.
    device.injectBadblock(leaf * PAGE, 512);
    expect(() => [...tree.entries()]).toThrow(expect.objectContaining({ code: 'EIO' }));
  });

  it('a leaf cell of fewer than 6 bytes (a 1-byte key, no value) at the end of its page reads back from a fresh store', () => {
    const device = new MemoryDevice(BLOCKS * PAGE);
    const store = new DevicePageStore(device, 'pool', new TestBlocks());
    const tree = new BTree(store);
    tree.put(Buffer.from('z'), Buffer.alloc(0));
    store.write();
    store.commit();
    expect(readAll(device, tree.root)).toEqual([['z', '']]);
  });

  it('a poisoned committed page is EIO naming the metadata page, never a SIGBUS', () => {
    const { device, root } = committedTree();
    device.injectBadblock(root * PAGE, 512);
    expect(() => readAll(device, root)).toThrow(expect.objectContaining({ code: 'EIO', message: expect.stringContaining('metadata tree page') }));
  });
});

function deviceFrom(image: Uint8Array): MemoryDevice {
  const d = new MemoryDevice(image.length);
  d.copy(0, image);
  return d;
}
