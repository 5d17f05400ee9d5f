import type { DaxDevice } from '../../../lib/device/types';
import { finishCheckpoint, writeCheckpoint } from '../../../lib/pool/checkpoint';
import { ExtentState } from '../../../lib/pool/extent-map';
import { loadPool } from '../../../lib/pool/load';
import type { PoolInode } from '../../../lib/pool/inode';
import { BLOCK, FILE_SIZE_MAX, NO_BLOCK, dataEnd, dataStart, encodeSuperblock, type Superblock } from '../../../lib/pool/layout';
import { forEachPage } from '../../../lib/pool/meta/trees';
import type { PoolState } from '../../../lib/pool/state';
import type { Prng } from '../../dax/support/prng';

/**
 * Metadata with valid checksums and bad content, made with the pool's own encoders: a checkpoint
 * of a state changed first, with both superblocks pointing at it; or one more journal record of
 * changes the pool itself would never journal.
 */

/** What opening a crafted pool must do: refuse it (any open), or open it read-only and report `what`. */
export type CraftExpect = { readonly refused: true } | { readonly refused: false; readonly what: string };

/** One class of crafted damage; `rng` picks the file, page and block it hits. */
export interface CraftClass {
  readonly name: string;
  readonly expect: CraftExpect;
  readonly apply: (device: DaxDevice, rng: Prng) => void;
}

const PATH = 'craft';

/** Loaded state with the bookkeeping a crafted change needs. */
interface Target {
  readonly s: PoolState;
  readonly sb: Superblock;
  /** Named inodes with at least one mapped block, by inode number. */
  readonly mapped: PoolInode[];
  readonly named: PoolInode[];
}

function target(s: PoolState, sb: Superblock): Target {
  const named = [...s.inodes.values()].filter((i) => i.name !== null).sort((a, b) => a.ino - b.ino);
  return { s, sb, named, mapped: named.filter((i) => i.extents.length > 0) };
}

/** A block of `inode`, chosen by `rng`, with its page. */
function blockOf(inode: PoolInode, rng: Prng): { page: number; block: number } {
  const all: [number, number][] = [];
  inode.extents.forEach(0, Infinity, (page, count, block) => {
    for (let k = 0; k < count && all.length < 512; k++) all.push([page + k, block + k]);
  });
  const [page, block] = rng.pick(all);
  return { page, block };
}

/** A data block no file maps and the bitmap calls free. */
function freeBlock(t: Target, rng: Prng): number {
  const lo = dataStart(t.sb);
  const hi = dataEnd(t.sb);
  for (let k = 0, b = lo + rng.int(hi - lo); k < hi - lo; k++, b = b + 1 < hi ? b + 1 : lo) if (!t.s.alloc.used(b)) return b;
  throw new Error('craft: no free block');
}

function pick<T>(rng: Prng, items: readonly T[], what: string): T {
  if (items.length === 0) throw new Error(`craft: no ${what} in the base pool`);
  return rng.pick(items);
}

/**
 * craftCheckpoint -- load the pool on `device`, let `change` alter the state (through its methods, or
 * with `touch` after, so that the checkpoint sees the inode changed), and write that state as the next
 * checkpoint with valid checksums. `change` gets the pages of the names tree: a checkpoint that changes
 * no name keeps every one of them, so they are metadata of the crafted checkpoint too.
 */
export function craftCheckpoint(device: DaxDevice, change: (t: Target, namePages: readonly number[]) => void, epoch?: number): void {
  const loaded = loadPool(device, PATH, { whole: true });
  const s = loaded.state;
  // The journal folded first: the trees then hold every file, and the change is all the crafted checkpoint changes.
  const folded = checkpointAs(device, s, loaded.found.epoch + 1);
  const pages: number[] = [];
  forEachPage(s.trees.store, folded.roots.names, (no) => pages.push(no));
  change(target(s, folded), pages);
  checkpointAs(device, s, epoch ?? folded.epoch + 1);
}

/** A checkpoint of `s` as epoch `epoch`, both superblocks pointing at it. */
function checkpointAs(device: DaxDevice, s: PoolState, epoch: number): Superblock {
  const written = writeCheckpoint(device, s, s.sb, epoch);
  finishCheckpoint(s);
  const sb = { ...written, seq: s.sb.seq + 1, dirty: false };
  const bytes = encodeSuperblock(sb);
  device.copy((sb.blocks - 1) * BLOCK, bytes);
  device.copy(0, bytes);
  s.sb = sb;
  return sb;
}

/** craftRename -- one more journal record, giving file `from` the name `onto` without taking it from its owner. */
export function craftRename(device: DaxDevice, from: string, onto: string): void {
  craftRecord(device, (t) => {
    const inode = t.named.find((i) => i.name === from);
    if (inode === undefined) throw new Error(`craft: no file ${from}`);
    t.s.namespaceOps.push({ op: 'name', ino: inode.ino, name: onto });
  });
}

/** craftRecord -- load the pool on `device`, let `change` queue changes in its state, and append them as one valid journal record. */
export function craftRecord(device: DaxDevice, change: (t: Target) => void): void {
  const loaded = loadPool(device, PATH, { whole: true });
  change(target(loaded.state, loaded.found));
  if (!loaded.journal.append(loaded.state)) throw new Error('craft: the record does not fit in the journal');
}

/** Map page `page` of `inode` to `block` in the state, as a change the next record carries. */
function remap(t: Target, inode: PoolInode, page: number, block: number, state = 0): void {
  inode.extents.set(page, 1, block, state);
  inode.markDirty(page, 1);
  t.s.touch(inode);
}

/** An extent of a file (the checkpoint route) pointing at `where(t, treePage)`. */
function extentInto(name: string, where: (t: Target, namePages: readonly number[], rng: Prng) => number): CraftClass {
  return {
    name: `checkpoint: an extent into ${name}`,
    expect: { refused: true },
    apply: (device, rng) =>
      craftCheckpoint(device, (t, namePages) => {
        const inode = pick(rng, t.named, 'file');
        inode.extents.set(rng.int(64), 1, where(t, namePages, rng), 0);
        t.s.touch(inode);
      }),
  };
}

/** The same through a journal record. */
function mapInto(name: string, where: (t: Target, rng: Prng) => number): CraftClass {
  return {
    name: `journal: a mapping into ${name}`,
    expect: { refused: true },
    apply: (device, rng) =>
      craftRecord(device, (t) => {
        remap(t, pick(rng, t.named, 'file'), rng.int(64), where(t, rng));
      }),
  };
}

/** Every class of crafted damage, with what opening it must do. */
export const CRAFT_CLASSES: readonly CraftClass[] = [
  extentInto('the primary superblock', () => 0),
  extentInto('the backup superblock', (t) => t.sb.blocks - 1),
  extentInto('the journal', (t, _runs, rng) => t.sb.journalStart + rng.int(t.sb.journalBlocks)),
  extentInto('a page of the names tree', (_t, namePages, rng) => pick(rng, namePages, 'names tree page')),
  extentInto('a bitmap copy', (t, _namePages, rng) => (t.sb.bitmapAt[rng.int(2)] as number) + rng.int(t.sb.bitmapBlocks)),
  extentInto('blocks beyond the pool', (t, _runs, rng) => t.sb.blocks + rng.int(1000)),
  extentInto('the highest block numbers', (_t, _runs, rng) => NO_BLOCK - 1 - rng.int(16)),
  mapInto('the primary superblock', () => 0),
  mapInto('the journal', (t, rng) => t.sb.journalStart + rng.int(t.sb.journalBlocks)),
  mapInto('a bitmap copy', (t, rng) => (t.sb.bitmapAt[rng.int(2)] as number) + rng.int(t.sb.bitmapBlocks)),
  mapInto('the backup superblock', (t) => t.sb.blocks - 1),
  {
    name: 'checkpoint: two files map one block without a reference count',
    expect: { refused: false, what: 'refcount' },
    apply: (device, rng) =>
      craftCheckpoint(device, (t) => {
        const from = pick(rng, t.mapped, 'mapped file');
        const to = pick(rng, t.named.filter((i) => i !== from), 'second file');
        to.extents.set(64 + rng.int(64), 1, blockOf(from, rng).block, 0);
        t.s.touch(to);
      }),
  },
  {
    name: 'journal: two files map one block without a reference count',
    expect: { refused: false, what: 'refcount' },
    apply: (device, rng) =>
      craftRecord(device, (t) => {
        const from = pick(rng, t.mapped, 'mapped file');
        const to = pick(rng, t.named.filter((i) => i !== from), 'second file');
        remap(t, to, 64 + rng.int(64), blockOf(from, rng).block);
      }),
  },
  {
    name: 'checkpoint: a reference count that disagrees with the mappings',
    expect: { refused: false, what: 'refcount' },
    apply: (device, rng) =>
      craftCheckpoint(device, (t) => {
        const { block } = blockOf(pick(rng, t.mapped, 'mapped file'), rng);
        t.s.alloc.shared.set(block, t.s.alloc.refs(block) + 1 + rng.int(4));
        t.s.alloc.treeRefs.add(block);
      }),
  },
  {
    name: 'checkpoint: a shared block mapped unwritten',
    expect: { refused: false, what: 'shared unwritten' },
    apply: (device, rng) =>
      craftCheckpoint(device, (t) => {
        const from = pick(rng, t.mapped, 'mapped file');
        const to = pick(rng, t.named.filter((i) => i !== from), 'second file');
        const { block } = blockOf(from, rng);
        t.s.alloc.shared.set(block, t.s.alloc.refs(block) + 1);
        t.s.alloc.treeRefs.add(block);
        to.extents.set(64 + rng.int(64), 1, block, ExtentState.UNWRITTEN);
        t.s.touch(to);
      }),
  },
  {
    name: 'checkpoint: a mapped block free in the bitmap',
    expect: { refused: false, what: 'free and used' },
    apply: (device, rng) =>
      craftCheckpoint(device, (t) => {
        const { block } = blockOf(pick(rng, t.mapped, 'mapped file'), rng);
        t.s.alloc.dropNow(block, 1);
      }),
  },
  {
    name: 'journal: a mapping of a block free in the bitmap',
    expect: { refused: false, what: 'free and used' },
    apply: (device, rng) =>
      craftRecord(device, (t) => {
        remap(t, pick(rng, t.named, 'file'), rng.int(64), freeBlock(t, rng));
      }),
  },
  {
    name: 'checkpoint: a tree page free in the bitmap',
    expect: { refused: false, what: 'metadata free' },
    apply: (device, rng) =>
      craftCheckpoint(device, (t, namePages) => {
        t.s.alloc.dropNow(pick(rng, namePages, 'names tree page'), 1);
      }),
  },
  {
    name: 'checkpoint: a bitmap copy free in the bitmap',
    expect: { refused: false, what: 'metadata free' },
    apply: (device, rng) =>
      craftCheckpoint(device, (t) => {
        t.s.alloc.dropNow((t.sb.bitmapAt[rng.int(2)] as number) + rng.int(t.sb.bitmapBlocks), 1);
      }),
  },
  {
    name: 'checkpoint: two files with one name',
    expect: { refused: true },
    apply: (device, rng) =>
      craftCheckpoint(device, (t) => {
        const twin = t.s.addInode(t.s.nextIno, pick(rng, t.named, 'file').name, 0);
        twin.size = rng.int(100_000);
      }),
  },
  {
    name: 'journal: a create with a name that is taken',
    expect: { refused: false, what: 'duplicate name' },
    apply: (device, rng) =>
      craftRecord(device, (t) => {
        t.s.namespaceOps.push({ op: 'create', ino: t.s.nextIno, name: pick(rng, t.named, 'file').name ?? '', ctimeMs: 0 });
      }),
  },
  {
    name: 'journal: a rename onto a name that is taken',
    expect: { refused: false, what: 'duplicate name' },
    apply: (device, rng) =>
      craftRecord(device, (t) => {
        const from = pick(rng, t.named, 'file');
        const onto = pick(rng, t.named.filter((i) => i !== from), 'second file');
        t.s.namespaceOps.push({ op: 'name', ino: from.ino, name: onto.name });
      }),
  },
  {
    name: 'journal: a record for an inode that does not exist',
    expect: { refused: true },
    apply: (device, rng) =>
      craftRecord(device, (t) => {
        const ino = t.s.nextIno + 1 + rng.int(1000);
        t.s.namespaceOps.push(rng.int(2) === 0 ? { op: 'name', ino, name: 'ghost' } : { op: 'drop', ino });
      }),
  },
  {
    name: 'checkpoint: a size beyond the largest file',
    expect: { refused: false, what: 'size' },
    apply: (device, rng) =>
      craftCheckpoint(device, (t) => {
        const inode = pick(rng, t.named, 'file');
        inode.size = rng.pick([FILE_SIZE_MAX + 1, FILE_SIZE_MAX + BLOCK, 2 ** 53, 2 ** 60, 2 ** 64 - 2 ** 12]);
        t.s.touch(inode);
      }),
  },
  {
    name: 'journal: a size beyond the largest file',
    expect: { refused: false, what: 'size' },
    apply: (device, rng) =>
      craftRecord(device, (t) => {
        const inode = pick(rng, t.named, 'file');
        inode.size = rng.pick([FILE_SIZE_MAX + 1, 2 ** 53 + 2, 2 ** 63]);
        inode.attrDirty = true;
        t.s.touch(inode);
      }),
  },
  {
    name: 'checkpoint: the next inode number wrapped past 32 bits',
    expect: { refused: true },
    apply: (device) =>
      craftCheckpoint(device, (t) => {
        t.s.nextIno = 2 ** 32;
      }),
  },
  {
    name: 'journal: a create of the inode number that ends the range',
    expect: { refused: false, what: 'counter' },
    apply: (device) =>
      craftRecord(device, (t) => {
        t.s.namespaceOps.push({ op: 'create', ino: 0xffffffff, name: 'last inode', ctimeMs: 0 });
      }),
  },
  {
    name: 'checkpoint: an epoch that cannot grow',
    expect: { refused: false, what: 'counter' },
    apply: (device, rng) => craftCheckpoint(device, () => undefined, rng.pick([2 ** 53, 2 ** 60, 2 ** 64 - 2 ** 12])),
  },
];
