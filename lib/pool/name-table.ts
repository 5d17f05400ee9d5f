import { BTree, type ScanRange } from './meta/btree';
import { MemoryPages } from './meta/memory-pages';
import { decodeNameKey, decodeU32, nameKey } from './meta/records';
import { outOfRangeError } from '../errors';
import { readingTrees } from './errors';
import type { PoolInode } from './inode';

const NOTHING = Buffer.alloc(0);
const NO_NAMES: Iterator<[Buffer, Buffer]> = [][Symbol.iterator]();

/** Which names a listing covers (`pool.list`): those with `prefix`, in name order, after `after`. */
export interface NameRange {
  readonly prefix?: string;
  readonly after?: string;
}

/**
 * NameTable -- a pool's names: which inode holds each, and their order (UTF-8 bytes, which is code-point
 * order) for listings. The names tree of the last checkpoint, on the media (`committed`), is the index; memory
 * holds the names of the inodes it holds (`#byName`: every name given since the checkpoint, and those of the
 * inodes read from the trees since) and the names removed since (`#gone`). A lookup memory cannot answer reads
 * the tree, then the inode. The order is the tree's merged with that of the names given since (`#fresh`, a
 * B+tree in memory, built by the first listing that needs it from the set of them, bounded by the journal: a
 * checkpoint empties it); so a listing reads the pages of the names it returns, whatever the pool's size.
 */
export class NameTable {
  readonly #byName = new Map<string, PoolInode>();
  /** Names removed since the last checkpoint (the names tree may still hold them). */
  readonly #gone = new Set<string>();
  readonly #committed: () => BTree;
  readonly #inodeOf: (ino: number) => PoolInode | undefined;
  readonly #use: (inode: PoolInode) => void;
  readonly #path: string;
  /** Names given since the names tree was last brought up to date, and their order once a listing needed it. */
  readonly #freshNames = new Set<string>();
  readonly #pages = new MemoryPages();
  #fresh: BTree | null = null;
  /** Bumped by every name given or removed: a listing re-checks the names of a batch only if it moved. */
  changes = 0;

  /**
   * `committed` is the names tree of the last checkpoint (read, never changed, by the table); `inodeOf` finds
   * an inode by number (reading it from the trees if memory lacks it); `use` marks one a lookup found.
   */
  constructor(committed: () => BTree, path: string, inodeOf: (ino: number) => PoolInode | undefined, use: (inode: PoolInode) => void) {
    this.#committed = committed;
    this.#path = path;
    this.#inodeOf = inodeOf;
    this.#use = use;
  }

  get(name: string): PoolInode | undefined {
    const got = this.#byName.get(name);
    if (got !== undefined) {
      this.#use(got);
      return got;
    }
    if (this.#gone.has(name)) return undefined;
    const ino = readingTrees(this.#path, () => {
      const v = this.#committed().get(nameKey(name));
      return v === null ? 0 : decodeU32(v, 'names tree', this.#path);
    });
    if (ino === 0) return undefined;
    const inode = this.#inodeOf(ino);
    // An entry the inode does not agree with is damage `check` reports; the name opens nothing meanwhile.
    return inode !== undefined && inode.name === name && this.#byName.get(name) === inode ? inode : undefined;
  }

  /**
   * The number of the inode holding `name` (0: none; -1: the names tree holds it with a value that is not an
   * inode number, damage `check` reports), from memory or else the names tree alone: no inode is read.
   */
  holder(name: string): number {
    const got = this.#byName.get(name);
    if (got !== undefined) return got.ino;
    if (this.#gone.has(name)) return 0;
    const v = readingTrees(this.#path, () => this.#committed().get(nameKey(name)));
    return v === null ? 0 : v.length === 4 ? v.readUInt32LE(0) : -1;
  }

  /** Is `name` held? Memory, or else the names tree alone: no inode is read. */
  has(name: string): boolean {
    return this.#byName.has(name) || (!this.#gone.has(name) && readingTrees(this.#path, () => this.#committed().has(nameKey(name))));
  }

  /**
   * A name the names tree holds already (an inode read from the trees). Memory decides over the tree: a name the
   * journal gave another inode since (which a record renaming this one away follows) stays that inode's.
   */
  load(name: string, inode: PoolInode): void {
    if (!this.#gone.has(name) && !this.#byName.has(name)) this.#byName.set(name, inode);
  }

  set(name: string, inode: PoolInode): void {
    this.changes++;
    this.#byName.set(name, inode);
    if (this.#freshNames.has(name)) return;
    this.#freshNames.add(name);
    this.#fresh?.put(nameKey(name), NOTHING);
  }

  delete(name: string): boolean {
    this.changes++;
    if (this.#freshNames.delete(name)) {
      this.#fresh?.delete(nameKey(name));
    } else {
      // The names tree may hold it. A name given since the checkpoint needs no mark: it was free when given,
      // so whatever entry the tree has for it was marked gone then.
      this.#gone.add(name);
    }
    return this.#byName.delete(name);
  }

  /** Forget `inode`'s name from memory only (the inode is evicted; the names tree holds the name). */
  evict(name: string, inode: PoolInode): void {
    if (this.#byName.get(name) === inode) this.#byName.delete(name);
  }

  /** A checkpoint brought the names tree up to date with every name, and it is the committed one now. */
  checkpointed(): void {
    if (this.#gone.size > 0) this.#gone.clear();
    if (this.#freshNames.size === 0) return;
    this.#freshNames.clear();
    this.#pages.clear();
    this.#fresh = null;
  }

  /** Up to `limit` names of `range`, in name order: the committed and the fresh names merged, those still present. */
  slice(range: NameRange, limit: number): string[] {
    return readingTrees(this.#path, () => this.#slice(range, limit));
  }

  #slice(range: NameRange, limit: number): string[] {
    if (limit <= 0) return [];
    const scan: ScanRange = {
      ...(range.prefix !== undefined && range.prefix !== '' && { prefix: nameKey(range.prefix) }),
      ...(range.after !== undefined && { after: nameKey(range.after) }),
    };
    const tree = this.#committed();
    const decode = (key: Buffer): string => decodeNameKey(key, this.#path);
    // No name given or removed since the checkpoint (a pool just opened, or read-mostly): the tree's names are the list.
    if (this.#freshNames.size === 0 && this.#gone.size === 0) return treeNames(tree, scan, decode, limit);
    return this.#merged(tree, scan, decode, limit);
  }

  /** `#slice` with names given or removed since the checkpoint: the tree's and the fresh names, merged. */
  #merged(tree: BTree, scan: ScanRange, decode: (key: Buffer) => string, limit: number): string[] {
    const out: string[] = [];
    let batch = tree.names(scan, decode);
    let i = 0;
    if (this.#freshNames.size > 0) this.#fresh ??= BTree.fromSorted(this.#pages, sortNames([...this.#freshNames]).map((n) => [nameKey(n), NOTHING] as const));
    const b = this.#fresh === null ? NO_NAMES : this.#fresh.entries(scan);
    // Code-point order of the strings is the trees' order of their UTF-8 bytes.
    let y = b === NO_NAMES ? undefined : nextFresh(b);
    while (out.length < limit) {
      if (i === batch.names.length && !batch.ended) {
        batch = tree.names({ ...scan, after: nameKey(lastOf(batch.names)) }, decode);
        i = 0;
      }
      const x = batch.names[i];
      let name: string;
      let inTree = false;
      if (x !== undefined && (y === undefined || byCodePoint(x, y) <= 0)) {
        name = x;
        inTree = true;
        i++;
        // The same name in both: one of it.
        if (y === name) y = nextFresh(b);
      } else if (y !== undefined) {
        name = y;
        y = nextFresh(b);
      } else {
        break;
      }
      if (this.#byName.has(name) || (inTree && !this.#gone.has(name))) out.push(name);
    }
    return out;
  }
}

/** Up to `limit` names of the tree over `scan`, read a batch at a time. */
function treeNames(tree: BTree, scan: ScanRange, decode: (key: Buffer) => string, limit: number): string[] {
  let batch = tree.names(scan, decode);
  const out = batch.names.slice(0, limit);
  while (out.length < limit && !batch.ended) {
    batch = tree.names({ ...scan, after: nameKey(lastOf(batch.names)) }, decode);
    for (const name of batch.names.slice(0, limit - out.length)) out.push(name);
  }
  return out;
}

/** The last name of a batch that is not the end of its range: such a batch is never empty. */
function lastOf(names: readonly string[]): string {
  const last = names[names.length - 1];
  // An empty batch that is not the last would end the listing short.
  if (last === undefined) throw outOfRangeError('a names tree scan with no names before the end of its range');
  return last;
}

/** The next of the names given since the checkpoint, from their tree (keys made of checked names: they decode as they were). */
function nextFresh(entries: Iterator<[Buffer, Buffer]>): string | undefined {
  const step = entries.next();
  return step.done === true ? undefined : step.value[0].toString('utf8');
}

/** `names` sorted in code-point order, in place. */
function sortNames(names: string[]): string[] {
  // UTF-16 unit order is code-point order unless a surrogate pair meets a unit of U+E000 or above; the
  // engine's own string sort is many times faster than a comparison per pair of encoded names.
  return names.some((n) => SURROGATE.test(n)) ? names.sort(byCodePoint) : names.sort();
}

const SURROGATE = /[\uD800-\uDFFF]/;

/** Code-point order of two well-formed strings. */
function byCodePoint(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // A surrogate (a code point above U+FFFF) outranks every other unit that differs from it.
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}
