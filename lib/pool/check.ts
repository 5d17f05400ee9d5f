import type { DaxDevice } from '../device/types';
import { PmemdaxError, internalError } from '../errors';
import { setBits } from './alloc';
import { auditMetadataUsed, firstBit, type Add } from './audit';
import { replaySparse, type SparsePool } from './check-replay';
import { NameDigest } from './check-digest';
import { corrupt } from './errors';
import { ExtentState } from './extent-map';
import type { PoolInode } from './inode';
import { BLOCK, FILE_SIZE_MAX, NO_BLOCK, dataEnd, dataStart, decodeSuperblock, isSuperblock, overlapsBitmapCopies } from './layout';
import { BTree } from './meta/btree';
import { DevicePageStore } from './meta/page-store';
import { keyLength, keyOf, keyOffset, valueOf } from './meta/page';
import { INLINE_EXTENTS, decodeExtent, decodeInode, decodeU32, inoKey, inodeNameBytes, nameKey, type ExtentRecord } from './meta/records';
import { EXTENT_CELL, INODE_CELLS } from './meta/trees';
import { walkTree } from './meta/walk';
import { readMeta } from './meta-io';
import type { PoolState } from './state';
import type { CheckProblem, CheckReport, UnsafeShutdownState } from './types';
import { unsafeShutdownOf } from './unsafe-shutdown';

/** Reference problems reported before the check stops looking for more (a badly damaged pool has many). */
const MAX_REPORTED = 100;
/** Inode numbers are 32-bit and 0 is none: `nextIno` must stay in 1..2^32 - 1 for the checkpoint to record it. */
const INO_LIMIT = 0xffffffff;

/** A file of the pool as the media hold it after the journal: from the trees, or from the journal's replay. */
interface FileView {
  readonly ino: number;
  readonly name: string | null;
  readonly size: number;
  readonly extents: readonly ExtentRecord[];
  /** The journal decided it (changed, created, or read to apply a record), rather than the trees alone. */
  readonly replayed: boolean;
}


/**
 * checkPool -- verify the pool as the media holds it, then every invariant across it, in memory that does
 * not grow with the files: bitmaps over the pool's blocks, the shared blocks' counts, and what the journal
 * touched. The trees are walked, not loaded: once for their shape, then the inodes in number order with
 * their out-of-line extents read beside them, and the names; the journal is replayed over the inodes it
 * names alone (check-replay.ts). Checked: both superblock copies; the trees' shape and records; names and
 * inodes that agree (as a 64-bit digest of the (name, inode) pairs on each side: check-digest.ts); names
 * unique after the journal; sizes and counters in range; extents in the data area, not over metadata, each
 * block referenced as often as its count says and used in the bitmap; metadata used; no leaked blocks; and,
 * for the committed files of the open pool `live`, that its state in memory is what the media say.
 */
export function checkPool(
  device: DaxDevice,
  path: string,
  live: PoolState | null,
  progress?: (done: number, total: number) => void,
  unsafeShutdown?: UnsafeShutdownState,
  writerBeside = false,
): CheckReport {
  const problems: CheckProblem[] = [];
  const add: Add = (what, where, message) => {
    problems.push({ what, where, message });
  };
  let sp: SparsePool | null = null;
  let failed: string | null = null;
  try {
    sp = replaySparse(device, path, writerBeside);
  } catch (e) {
    failed = loadFailure(e);
  }
  // Without the open pool's, as the superblock the check read has it.
  const unsafe = unsafeShutdown ?? unsafeShutdownOf(device, sp?.sb ?? NO_SUPERBLOCK);
  const blocks = live?.sb.blocks ?? sp?.sb.blocks ?? Math.floor(device.size / BLOCK);
  for (const [where, at] of [['primary superblock', 0], ['backup superblock', (blocks - 1) * BLOCK]] as const) {
    const sb = decodeSuperblock(readMeta(device, path, at, BLOCK, where));
    if (typeof sb === 'string') add('superblock', `${where} at offset ${at}`, sb);
    else if (!isSuperblock(sb)) add('superblock', `${where} at offset ${at}`, `format version ${sb.version}`);
  }
  let files = 0;
  if (sp !== null) {
    try {
      files = new Checker(device, path, sp, add, live, progress).run();
    } catch (e) {
      // The caller's own error (from `progress`) is not damage found: it goes back to the caller as it was.
      if (e instanceof CallerError) throw e.error;
      failed = loadFailure(e);
    }
  }
  if (failed !== null || sp === null) {
    add('load', 'pool', failed ?? 'unreadable');
    return { ok: false, problems, unsafeShutdown: unsafe, files: 0, blocksUsed: 0 };
  }
  return { ok: problems.length === 0, problems, unsafeShutdown: unsafe, files, blocksUsed: usedBlocks(sp) };
}

/** An error thrown by the caller's `progress`, carried past the handling of what the media say. */
class CallerError {
  constructor(readonly error: unknown) {}
}

/** What the media say that stops the check (corruption, poison), as its message; anything else propagates. */
function loadFailure(e: unknown): string {
  if (e instanceof PmemdaxError && (e.code === 'ERR_PMEMDAX_CORRUPT' || e.code === 'EIO')) return e.message;
  if (e instanceof RangeError) return `a metadata page that does not decode (${e.message})`;
  throw e;
}

function usedBlocks(sp: SparsePool): number {
  let used = 0;
  const a = sp.state.alloc;
  for (let b = 0; b < sp.sb.blocks; b++) if (a.used(b)) used++;
  return used;
}

/** What the unsafe-shutdown state is read from when no superblock could be: nothing recorded. */
const NO_SUPERBLOCK = { shutdownCount: -1, dirty: false, identity: '' } as const;

/** Pages a walk's store keeps: a path from the root (16 levels at most, meta/walk.ts) twice over. */
const WALK_CACHE_PAGES = 32;

/** Reads only: the check never writes a page. */
const READ_ONLY = {
  take: (): number => {
    throw internalError('a check writes no page');
  },
  give: (): void => {},
  retire: (): void => {},
};

class Checker {
  readonly #device: DaxDevice;
  readonly #path: string;
  readonly #sp: SparsePool;
  readonly #add: Add;
  readonly #live: PoolState | null;
  readonly #progress: ((done: number, total: number) => void) | undefined;
  /** Blocks mapped (once at least), mapped unwritten, and with a reference count entry. */
  readonly #seen: Uint32Array;
  readonly #unwritten: Uint32Array;
  readonly #sharedBits: Uint32Array;
  /** References counted one by one: blocks with a reference count entry, or mapped a second time. */
  readonly #counts = new Map<number, number>();
  /** Names the journal gave, and the lowest-numbered inode holding each so far. */
  readonly #replayedNames = new Map<string, number>();
  /** Names held more than once after the journal: every inode holding each (bounded by the journal). */
  readonly #twice = new Map<string, number[]>();
  #liveMatched = 0;
  /** The checkpoint's inodes as the superblock counts them: tree cell bytes, and those without a name. */
  #treeBytes = 0;
  #treeNameless = 0;

  constructor(device: DaxDevice, path: string, sp: SparsePool, add: Add, live: PoolState | null, progress?: (done: number, total: number) => void) {
    this.#device = device;
    this.#path = path;
    this.#sp = sp;
    this.#add = add;
    this.#live = live;
    this.#progress = progress === undefined ? undefined : (done, total) => {
      try {
        progress(done, total);
      } catch (e) {
        throw new CallerError(e);
      }
    };
    const words = sp.state.alloc.bitmap.length;
    this.#seen = new Uint32Array(words);
    this.#unwritten = new Uint32Array(words);
    this.#sharedBits = new Uint32Array(words);
    for (const b of sp.state.alloc.shared.keys()) setBits(this.#sharedBits, b, 1);
  }

  /** Every check; returns the files (names held). */
  run(): number {
    const sp = this.#sp;
    const s = sp.state;
    const add = this.#add;
    if (!Number.isSafeInteger(sp.sb.epoch + 1)) add('counter', 'superblock', `checkpoint epoch ${sp.sb.epoch} cannot be incremented`);
    if (s.nextIno < 1 || s.nextIno > INO_LIMIT) add('counter', 'checkpoint', `next inode number ${s.nextIno} is outside 1..${INO_LIMIT}`);
    // Every file visited once: the inodes of the trees the journal did not decide (each it decided was read
    // from the trees first), then those the journal holds after its replay.
    const total = sp.sb.inodeCount - sp.inodes.fromTrees + sp.inodes.size;
    let done = 0;
    let files = 0;
    const inodeSide = new NameDigest();
    this.#files((f) => {
      this.#progress?.(++done, total);
      if (f.name !== null && (!f.replayed || this.#nameOfReplayed(f))) files++;
      this.#visit(f);
    }, (v, ino) => {
      inodeSide.addInode(v, ino);
    });
    this.#superblockCounts();
    this.#duplicates();
    this.#names(inodeSide);
    this.#blocks();
    this.#liveMissing();
    return files;
  }

  /** What an open after a clean close takes from the superblock instead of reading every inode. */
  #superblockCounts(): void {
    const sb = this.#sp.sb;
    if (sb.metaBytes >= 0 && sb.metaBytes < this.#treeBytes) {
      this.#add('counter', 'superblock', `${sb.metaBytes} bytes of tree cells recorded, the checkpoint's inodes take ${this.#treeBytes}: the reserve rule would let them outgrow the free blocks`);
    }
    if (sb.orphans !== this.#treeNameless) this.#add('counter', 'superblock', `${sb.orphans} nameless inodes recorded, the checkpoint has ${this.#treeNameless}`);
  }

  /**
   * A page store of its own for each walk: a walk reads views of its pages, which another walk's reads must
   * not evict. A walk in key order reuses only the pages of its path from the root.
   */
  #store(): DevicePageStore {
    return new DevicePageStore(this.#device, this.#path, READ_ONLY, WALK_CACHE_PAGES);
  }

  /**
   * Every file after the journal, in two parts: the inodes tree in number order (`record` gets each record
   * there, the journal's or not), its out-of-line extents read beside it from the extents tree, checked as
   * a load checks them, then the inodes the journal decided.
   */
  #files(each: (f: FileView) => void, record?: (v: Buffer, ino: number) => void): void {
    const sp = this.#sp;
    const path = this.#path;
    const sb = sp.sb;
    this.#treeBytes = 0;
    this.#treeNameless = 0;
    const extents = new BTree(this.#store(), sb.roots.extents).entries();
    let next = extents.next();
    const pendingIno = (): number => (next.done === true ? Infinity : next.value[0].readUInt32BE(0));
    walkTree(this.#store(), path, 'inodes', sb.roots.inodes, () => {}, (p, i) => {
      if (keyLength(p, i) !== 4) throw corrupt(path, 'inodes tree', 0, `a key of ${keyLength(p, i)} bytes`);
      const ino = p.readUInt32BE(keyOffset(p, i));
      const v = valueOf(p, i);
      const r = decodeInode(ino, v, path);
      if (ino === 0 || ino >= sb.nextIno) throw corrupt(path, 'inodes tree', 0, `inode ${ino} is out of range`);
      record?.(v, ino);
      this.#treeBytes += INODE_CELLS + 2 * inodeNameBytes(v).length + r.extentCount * EXTENT_CELL;
      if (r.name === null) this.#treeNameless++;
      if (pendingIno() < ino) throw corrupt(path, 'extents tree', 0, `an extent of inode ${pendingIno()}, which keeps no more out of line`);
      let list = r.extents;
      if (list === null) {
        if (r.extentCount <= INLINE_EXTENTS) throw corrupt(path, `inode ${ino}`, 0, `${r.extentCount} extents kept out of line`);
        const out: ExtentRecord[] = [];
        list = out;
        for (let k = 0; k < r.extentCount; k++, next = extents.next()) {
          if (pendingIno() !== ino) throw corrupt(path, `inode ${ino}`, 0, `${r.extentCount - k} of its extents are missing from the extents tree`);
          out.push(decodeExtent((next.value as [Buffer, Buffer])[0], (next.value as [Buffer, Buffer])[1], path));
        }
      }
      this.#treeExtents(ino, list);
      if (!sp.inodes.decides(ino)) each({ ino, name: r.name, size: r.size, extents: list, replayed: false });
    });
    if (next.done !== true) throw corrupt(path, 'extents tree', 0, `an extent of inode ${pendingIno()}, which keeps no more out of line`);

    for (const inode of sp.inodes.values()) {
      const list: ExtentRecord[] = [];
      inode.extents.forEach(0, Infinity, (page, count, block, state) => list.push({ page, count, block, state }));
      each({ ino: inode.ino, name: inode.name, size: inode.size, extents: list, replayed: true });
    }
  }

  /** The extents of an inode of the trees, as a load checks them. */
  #treeExtents(ino: number, list: readonly ExtentRecord[]): void {
    const sb = this.#sp.sb;
    let end = 0;
    for (const { page, count, block, state } of list) {
      const bad = (why: string): Error => corrupt(this.#path, `inode ${ino}`, 0, why);
      if (count < 1 || page + count > NO_BLOCK) throw bad(`extent at page ${page} of ${count} pages`);
      if (page < end) throw bad(`extent at page ${page} overlaps the one before`);
      if (block < dataStart(sb) || block + count > dataEnd(sb)) throw bad(`extent at page ${page} (blocks ${block}+${count}) is outside the data area`);
      if (overlapsBitmapCopies(sb, block, count)) throw bad(`extent at page ${page} (blocks ${block}+${count}) is in a bitmap copy`);
      if ((state & ~ExtentState.UNWRITTEN) !== 0) throw bad(`extent at page ${page} has state ${state}`);
      if (firstBit(this.#sp.meta, block, count, 1) >= 0) throw bad(`extent at page ${page} (blocks ${block}+${count}) is over metadata`);
      end = page + count;
    }
  }

  /**
   * Does the replayed inode `f` hold its name? Not when the trees give it to an inode the journal did not
   * touch, or the journal gave it to another first: a name held twice opens the inode with the lower number.
   */
  #nameOfReplayed(f: FileView): boolean {
    const name = f.name as string;
    let other = this.#replayedNames.get(name);
    if (other === undefined) {
      const v = this.#sp.state.trees.names.get(nameKey(name));
      const holder = v === null ? undefined : v.readUInt32LE(0);
      if (holder !== undefined && holder !== f.ino && !this.#sp.inodes.decides(holder)) other = holder;
    }
    if (other === undefined) {
      this.#replayedNames.set(name, f.ino);
      return true;
    }
    // Reported once every holder is known (#duplicates): the name opens the lowest-numbered of them all.
    const all = this.#twice.get(name) ?? [other];
    all.push(f.ino);
    this.#twice.set(name, all);
    this.#replayedNames.set(name, Math.min(other, f.ino));
    return false;
  }

  /** Each name held twice, as a load's audit reports it: each holder against the lowest-numbered one. */
  #duplicates(): void {
    const pairs = [...this.#twice].flatMap(([name, all]) => {
      all.sort((a, b) => a - b);
      const first = all[0] as number;
      return all.slice(1).map((ino) => [name, first, ino] as const);
    });
    for (const [name, first, ino] of pairs.sort((a, b) => a[2] - b[2])) {
      this.#add('duplicate name', `name '${name}'`, `inodes ${first} and ${ino} are both named '${name}' (the name opens inode ${first})`);
    }
  }

  /** What one file must satisfy: its size, its blocks used and counted, and the open pool's memory. */
  #visit(f: FileView): void {
    const a = this.#sp.state.alloc;
    if (!Number.isSafeInteger(f.size) || f.size < 0 || f.size > FILE_SIZE_MAX) {
      this.#add('size', describe(f), `size ${f.size} is out of range (at most ${FILE_SIZE_MAX})`);
    }
    const seen = this.#seen;
    for (const { page, count, block, state } of f.extents) {
      const free = firstBit(a.bitmap, block, count, 0);
      if (free >= 0) this.#add('free and used', `${describe(f)} page ${page + free - block}`, `block ${free} is mapped but free in the bitmap`);
      const again = firstBit(seen, block, count, 1) >= 0;
      if (again || (a.shared.size > 0 && firstBit(this.#sharedBits, block, count, 1) >= 0)) {
        for (let b = block; b < block + count; b++) {
          const before = isSet(seen, b);
          if (before || isSet(this.#sharedBits, b)) this.#counts.set(b, (this.#counts.get(b) ?? (before ? 1 : 0)) + 1);
        }
      }
      if (state & ExtentState.UNWRITTEN) setBits(this.#unwritten, block, count);
      setBits(seen, block, count);
    }
    const live = this.#live;
    const inode = live?.inodes.peek(f.ino);
    if (live === null || inode === undefined || !committed(live, inode)) return;
    this.#liveMatched++;
    if (inode.size !== f.size) this.#add('memory and media', `inode ${f.ino}`, `size ${inode.size} in memory, ${f.size} on the media`);
  }

  /** The names tree: each entry a valid name of an inode, the same pairs as the inodes' records hold. */
  #names(inodeSide: NameDigest): void {
    const path = this.#path;
    const nameSide = new NameDigest();
    walkTree(this.#store(), path, 'names', this.#sp.sb.roots.names, () => {}, (p, i) => {
      const ino = decodeU32(valueOf(p, i), 'names tree', path);
      nameSide.addName(keyOf(p, i), ino, path);
    });
    if (!nameSide.equals(inodeSide)) {
      throw corrupt(path, 'names tree', 0, `${nameSide.count} names for ${inodeSide.count} named inodes, or names and inodes that disagree`);
    }
  }

  /** Metadata used, references as counted, no leaked block. */
  #blocks(): void {
    const sp = this.#sp;
    const sb = sp.sb;
    const a = sp.state.alloc;
    const add = this.#add;
    const lo = dataStart(sb);
    const hi = dataEnd(sb);
    const meta = sp.meta;
    auditMetadataUsed(sb, a.bitmap, meta, add);
    const wrong: [number, string][] = [];
    for (const [b, n] of this.#counts) {
      const refs = a.shared.get(b) ?? 1;
      if (n !== refs) wrong.push([b, `mapped ${n} time${n === 1 ? '' : 's'} (by %) but its reference count is ${refs}`]);
      if (n > 1 && isSet(this.#unwritten, b)) wrong.push([b, `an unwritten block is mapped ${n} times, by %`]);
      if (wrong.length >= MAX_REPORTED) break;
    }
    const owners = this.#ownersOf(new Set(wrong.map(([b]) => b)));
    for (const [b, message] of wrong) add(message.startsWith('an unwritten') ? 'shared unwritten' : 'refcount', `block ${b}`, message.replace('%', owners.get(b)?.join(', ') ?? ''));
    let reported = wrong.length;
    for (const [b, refs] of a.shared) {
      if (reported >= MAX_REPORTED) break;
      if (this.#counts.has(b)) continue;
      add('refcount', `block ${b}`, `reference count ${refs} but mapped by no file`);
      reported++;
    }
    const leaks: number[] = [];
    let leaked = 0;
    let leak = -1;
    for (let b = 0; b <= sb.blocks; b++) {
      const unowned = b >= lo && b < hi && a.used(b) && !isSet(meta, b) && !isSet(this.#seen, b);
      if (unowned && leak < 0) leak = b;
      if (!unowned && leak >= 0) {
        leaks.push(leak, b - leak);
        leaked += b - leak;
        leak = -1;
      }
    }
    // The frees a writer held back for readers' snapshots are used and unmapped by design, as many as the
    // superblock says (fewer once the journal's records have reused some).
    if (leaked <= sb.deferredBlocks) return;
    const held = sb.deferredBlocks > 0 ? ` (${leaked} such blocks, ${sb.deferredBlocks} held back for readers)` : '';
    for (let i = 0; i < leaks.length; i += 2) add('leaked block', `blocks ${leaks[i]}+${leaks[i + 1]}`, `used in the bitmap but referenced by no file${held}`);
  }

  /** The files and pages that map the blocks `wanted` (a second walk, only for problems being reported). */
  #ownersOf(wanted: ReadonlySet<number>): Map<number, string[]> {
    const found = new Map<number, string[]>();
    if (wanted.size === 0) return found;
    this.#files((f) => {
      for (const { page, count, block } of f.extents) {
        for (const b of wanted) {
          if (b >= block && b < block + count) {
            const list = found.get(b) ?? [];
            list.push(`${describe(f)} page ${page + b - block}`);
            found.set(b, list);
          }
        }
      }
    });
    return found;
  }

  /** Committed inodes of the open pool that the media do not have (looked for only when the count says some are missing). */
  #liveMissing(): void {
    const live = this.#live;
    if (live === null) return;
    let clean = 0;
    for (const inode of live.inodes.values()) if (committed(live, inode)) clean++;
    if (clean === this.#liveMatched) return;
    const sp = this.#sp;
    for (const inode of live.inodes.values()) {
      if (!committed(live, inode) || live.namespaceOps.some((o) => o.ino === inode.ino)) continue;
      const onMedia = sp.inodes.decides(inode.ino) ? sp.inodes.get(inode.ino) !== undefined : sp.state.trees.inodes.get(inoKey(inode.ino)) !== null;
      if (!onMedia) this.#add('memory and media', `inode ${inode.ino}`, 'open in memory but absent on the media');
    }
  }
}

/** Is the open pool's `inode` as the media have it: no change pending, none in a commit being written? */
function committed(live: PoolState, inode: PoolInode): boolean {
  return !(inode.metaDirty || live.dirtyInodes.has(inode) || live.inFlight(inode));
}

function describe(f: FileView): string {
  return `inode ${f.ino} ('${f.name ?? '(orphan)'}')`;
}

function isSet(bits: Uint32Array, b: number): boolean {
  return ((bits[b >>> 5] as number) & (1 << (b & 31))) !== 0;
}
