import { treeReaderOf, type TreeReader } from '../../device/device';
import type { DaxDevice } from '../../device/types';
import { crc32c } from '../crc32c';
import { corrupt } from '../errors';
import { native } from '../../native';
import { readMeta } from '../meta-io';
import { KEYS_BATCH, PAGE_BY_PAGE, scanStart, type PageStore, type ScanRange } from './btree';
import { BlockSet } from './block-set';
import { BRANCH, KEY_MAX, LEAF, PAGE, VALUE_MAX, pageProblem } from './page';
import { PageCache } from './page-cache';

/** Where a page store gets the blocks of new pages, and gives back the blocks no tree reaches any more. */
export interface PageBlocks {
  /** A free block for a new page. Throws when there is none: a caller reserves room before it changes a tree. */
  take(): number;
  /** `block` holds a page no tree reaches that was never committed: no snapshot reaches it, it is free. */
  give(block: number): void;
  /** `block` holds a committed page the newest trees no longer reach: free once no reader's snapshot does. */
  retire(block: number): void;
}

/** Where a page keeps its CRC-32C (page.ts): computed over the page with these four bytes read as zero. */
const CRC_AT = 8;
/** Committed leaf pages kept after a read (4 MiB): the leaves in use. */
const CACHE_PAGES = 1024;
/**
 * Committed branch pages kept apart (4 MiB at most): the upper levels of every tree, which every lookup
 * crosses, so that random lookups, whose leaves rarely repeat, do not push them out (ten million files take
 * about 800 branch pages over the four trees).
 */
const BRANCH_PAGES = 1024;

/** What `lookup` returns for a key it found when no copy of the value was asked for. */
const FOUND = Buffer.alloc(0);
const NO_PREFIX = Buffer.alloc(0);
/** What an in-place read returns when the pages cannot say: the caller reads them page by page. */
const { CANNOT_SAY, SCAN_PAGES } = native.constants.tree;

/** The CRC-32C of page `p`, its CRC field taken as zero. */
export function pageCrc(p: Buffer): number {
  const saved = p.readUInt32LE(CRC_AT);
  p.writeUInt32LE(0, CRC_AT);
  const crc = crc32c(p);
  p.writeUInt32LE(saved, CRC_AT);
  return crc;
}

/**
 * DevicePageStore -- the PageStore of format 2 on a pool's device (docs/design.md, "Metadata at device
 * scale"). A committed page is read from the media poison-safely (a copy of its block, its CRC and kind
 * checked) the first time, and the last CACHE_PAGES of them are kept; lookups and scans then read committed
 * subtrees where they lie (`lookup`, `scanKeys`). A page changed since the last checkpoint is a copy in
 * DRAM (the overlay) at a block of its own, which no committed tree reaches, so a crash at any moment leaves
 * the committed trees whole. `write` stores the overlay on the media with its CRCs and makes it durable;
 * once the caller has durably switched the roots to the new trees, `commit` makes the overlay the committed
 * state and frees the blocks the new trees no longer reach.
 */
export class DevicePageStore implements PageStore {
  readonly #device: DaxDevice;
  readonly #path: string;
  readonly #blocks: PageBlocks;
  readonly #overlay = new Map<number, Buffer>();
  /** Committed pages the trees no longer reach: free once roots that do not reach them are durable. */
  #retired: number[] = [];
  /** Committed pages read and checked, the last `cachePages` used. */
  readonly #cache: PageCache;
  readonly #branches: PageCache;
  /**
   * Blocks whose page was checked (CRC, kind, layout) since this store last changed them: a page is written
   * only at a block no committed tree reaches, so once checked it stays as checked until its block is freed,
   * and a read of it again is a poison-safe copy and no more (the checks were two thirds of a lookup).
   */
  readonly #checked = new BlockSet();
  /** The native in-place reads of committed subtrees (null on a device that is not native), and their outputs. */
  readonly #inPlace: TreeReader | null;
  readonly #value = Buffer.allocUnsafe(VALUE_MAX);
  readonly #visited = new Uint32Array(1 + SCAN_PAGES);
  /**
   * Where `scanNames` has the addon copy the keys it makes strings of (a batch's worth): never read here, so
   * one serves every scan; made at the first, as most stores (a check's walks, a pool never listed) make none.
   */
  #keysOut: Buffer | null = null;

  /** `cachePages`: fewer for a store that only walks a tree in order (a root-to-leaf path is all it reuses). */
  constructor(device: DaxDevice, path: string, blocks: PageBlocks, cachePages = CACHE_PAGES) {
    this.#device = device;
    this.#path = path;
    this.#blocks = blocks;
    this.#cache = new PageCache(cachePages);
    this.#branches = new PageCache(Math.min(cachePages, BRANCH_PAGES));
    this.#inPlace = treeReaderOf(device);
  }

  /** Committed pages the changed trees no longer reach, freed by `commit`. */
  get retired(): readonly number[] {
    return this.#retired;
  }

  /** Pages changed since the last checkpoint (each holds 4 KiB of DRAM until it is written). */
  get overlayPages(): number {
    return this.#overlay.size;
  }

  /**
   * A committed page's bytes are those of its block until the page falls out of the cache: a caller may keep
   * them while fewer than CACHE_PAGES - 1 other pages are read (a read past a full cache reuses the buffer of
   * the least recently used page, so that reads allocate nothing: an allocation per read made the garbage
   * collector go over a large pool's heap again and again).
   */
  page(no: number): Buffer {
    const changed = this.#overlay.get(no);
    if (changed !== undefined) return changed;
    const cached = this.#cache.get(no) ?? this.#branches.get(no);
    if (cached !== undefined) return cached;
    const p = this.#read(no);
    this.#keep(no, p);
    return p;
  }

  /**
   * A committed page reaches only committed pages (a change copies the whole path from the root), so the
   * subtree at a block outside the overlay is searched where it lies on the media, in one native call: no
   * page copied, no JavaScript per level. Pages the search crossed that this store never checked are checked
   * now (`#checkVisited`: a damaged one throws here as `page` would); pages that do not read as well-formed,
   * or poison, leave it to the caller's page-by-page walk, which reports them.
   */
  lookup(no: number, key: Buffer, copy = true): Buffer | null | undefined | typeof PAGE_BY_PAGE {
    if (this.#overlay.has(no)) return undefined;
    const reader = this.#readerFor(no);
    if (reader === null) return PAGE_BY_PAGE;
    const found = reader.search(no * PAGE, key, this.#value, this.#visited);
    if (found === CANNOT_SAY) return PAGE_BY_PAGE;
    this.#checkVisited(reader);
    if (found < 0) return null;
    return copy ? Buffer.from(this.#value.subarray(0, found)) : FOUND;
  }

  /** As `lookup`, for a run of keys: the subtree scanned in place, in one native call a batch. */
  scanKeys(no: number, range: ScanRange, limit: number): { keys: Buffer[]; ended: boolean } | undefined {
    const out = Buffer.allocUnsafe(Math.max(0, limit) * (2 + KEY_MAX));
    const found = this.#scan(no, range, limit, out, undefined);
    if (found === CANNOT_SAY) return undefined;
    const keys: Buffer[] = [];
    for (let at = 0; keys.length < found >> 1; ) {
      const len = (out[at] as number) | ((out[at + 1] as number) << 8);
      keys.push(out.subarray(at + 2, at + 2 + len));
      at += 2 + len;
    }
    return { keys, ended: (found & 1) === 1 };
  }

  /** As `scanKeys`, for the names tree: the names as strings, made by the addon; undefined too for a key that is no name. */
  scanNames(no: number, range: ScanRange, limit: number): { names: string[]; ended: boolean } | undefined {
    const names: string[] = [];
    this.#keysOut ??= Buffer.allocUnsafe(KEYS_BATCH * (2 + KEY_MAX));
    const found = this.#scan(no, range, limit, this.#keysOut, names);
    // An addon built before it made names (a stale build) counts the keys and makes none: read them the other way.
    if (found === CANNOT_SAY || names.length !== found >> 1) return undefined;
    return { names, ended: (found & 1) === 1 };
  }

  /** The in-place scan behind `scanKeys` and `scanNames`: the native answer, CANNOT_SAY where it cannot read in place. */
  #scan(no: number, range: ScanRange, limit: number, out: Buffer, names: string[] | undefined): number {
    const reader = this.#overlay.has(no) ? null : this.#readerFor(no);
    if (reader === null) return CANNOT_SAY;
    const start = scanStart(range);
    // A key equal to `after` is passed over; when the prefix comes later, no key equals it.
    const skipStart = range.after !== undefined && start === range.after;
    const found = reader.scan(no * PAGE, start, range.prefix ?? NO_PREFIX, skipStart, limit, out, this.#visited, names);
    if (found !== CANNOT_SAY) this.#checkVisited(reader);
    return found;
  }

  /**
   * The in-place reads for the committed page at `no`: none on a device without them, nor a closed
   * one (pages still cached answer as before), nor at a block outside the device (`page` reports it, with its
   * offset, as damage).
   */
  #readerFor(no: number): TreeReader | null {
    const ok = !this.#device.closed && Number.isInteger(no) && no >= 0 && (no + 1) * PAGE <= this.#device.size;
    return ok ? this.#inPlace : null;
  }

  /**
   * Pages an in-place read crossed that this store never checked: checked now, where they lie; one that
   * does not check out is read the checked way, which reports what is wrong with it as `page` would.
   */
  #checkVisited(reader: TreeReader): void {
    const visited = this.#visited;
    for (let i = 1; i <= (visited[0] as number); i++) {
      const block = visited[i] as number;
      if (this.#checked.has(block)) continue;
      if (reader.check(block * PAGE)) this.#checked.add(block);
      else this.#keep(block, this.#read(block));
    }
  }

  writable(no: number): number {
    if (this.#overlay.has(no)) return no;
    const committed = this.page(no);
    // A page about to change has no cells that overlap: a change moves cells, and would spread the damage.
    const problem = pageProblem(committed);
    if (problem !== null) throw corrupt(this.#path, 'metadata tree page', no * PAGE, problem);
    const copy = this.allocate();
    committed.copy(this.#overlay.get(copy) as Buffer);
    this.release(no);
    return copy;
  }

  allocate(): number {
    const no = this.#blocks.take();
    // The block may have held a page freed at an earlier checkpoint: what was cached of it is gone.
    this.#forget(no);
    this.#overlay.set(no, Buffer.alloc(PAGE));
    return no;
  }

  release(no: number): void {
    // A page made since the last checkpoint was never committed: no snapshot reaches it.
    if (this.#overlay.delete(no)) {
      this.#blocks.give(no);
      return;
    }
    this.#forget(no);
    this.#retired.push(no);
  }

  /**
   * Store every overlay page at its block with its CRC, and make them durable. The committed trees reach
   * none of these blocks, so this may be cut short at any point; the overlay stays as it was until `commit`.
   */
  write(): void {
    const blocks = [...this.#overlay.keys()].sort((a, b) => a - b);
    for (const no of blocks) {
      const p = this.#overlay.get(no) as Buffer;
      p.writeUInt32LE(pageCrc(p), CRC_AT);
    }
    // One copy per run of consecutive blocks.
    for (let i = 0; i < blocks.length; ) {
      let j = i + 1;
      while (j < blocks.length && blocks[j] === (blocks[j - 1] as number) + 1) j++;
      const run = blocks.slice(i, j).map((no) => this.#overlay.get(no) as Buffer);
      this.#device.copy((blocks[i] as number) * PAGE, run.length === 1 ? (run[0] as Buffer) : Buffer.concat(run));
      i = j;
    }
  }

  /**
   * The roots of the trees `write` stored are durable: the overlay is committed (its pages stay cached), and
   * the blocks the committed trees reached and these do not are free. Returns how many were freed.
   */
  commit(): number {
    for (const [no, p] of this.#overlay) {
      this.#keep(no, p);
      this.#checked.add(no);
    }
    this.#overlay.clear();
    const retired = this.#retired;
    this.#retired = [];
    for (const no of retired) this.#blocks.retire(no);
    return retired.length;
  }

  /** Forget the overlay (the changes since the last checkpoint are dropped, as a crash would drop them). */
  discard(): void {
    for (const no of this.#overlay.keys()) this.#blocks.give(no);
    this.#overlay.clear();
    this.#retired = [];
  }

  /** Cache a committed page, among the branches or the leaves by its kind. */
  #keep(no: number, p: Buffer): void {
    if (p.readUInt16LE(0) === BRANCH) this.#branches.put(no, p);
    else this.#cache.put(no, p);
  }

  #forget(no: number): void {
    this.#checked.delete(no);
    this.#cache.delete(no);
    this.#branches.delete(no);
  }

  #read(no: number): Buffer {
    const at = no * PAGE;
    if (!Number.isInteger(no) || no < 0 || at + PAGE > this.#device.size) {
      throw corrupt(this.#path, 'metadata tree page', at, `block ${no} is outside the device`);
    }
    const p = this.#cache.spare(PAGE);
    readMeta(this.#device, this.#path, at, PAGE, 'metadata tree page', p);
    if (this.#checked.has(no)) return p;
    if (p.readUInt32LE(CRC_AT) !== pageCrc(p)) throw corrupt(this.#path, 'metadata tree page', at, 'checksum mismatch');
    const kind = p.readUInt16LE(0);
    if (kind !== LEAF && kind !== BRANCH) throw corrupt(this.#path, 'metadata tree page', at, `unknown page kind ${kind}`);
    // Every page read has its slots and cells inside it before anything reads them: an open after a clean
    // close reads pages only as calls need them, with no walk that checked them first (writable: the rest).
    const problem = pageProblem(p, false);
    if (problem !== null) throw corrupt(this.#path, 'metadata tree page', at, problem);
    this.#checked.add(no);
    return p;
  }
}
