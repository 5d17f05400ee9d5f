import type { PoolInode } from './inode';

/** Inodes the cache keeps before it starts to evict (about 350 bytes each with their maps: ~11 MiB). */
export const INODE_CACHE_LIMIT = 32768;
/** Entries a sweep looks at per inode read from the trees: enough to keep up, few enough to stay O(1). */
const SWEEP_STEPS = 8;
/**
 * Inodes among the last this many used are never dropped: a call holds the inodes it looked up while it
 * looks up others (a rename: its source, then its target), and no call uses more than a few before it is
 * done with them. So an inode a call holds is never dropped under it, and never read a second time.
 */
export const RECENT_USES = 64;

/**
 * InodeCache -- a pool's inodes by number, as far as memory holds them: one not there is read from the
 * trees the first time it is asked for (`fault`), unless it was removed since the last checkpoint (`gone`:
 * the trees still hold it, the pool does not). Above `limit` entries, every read from the trees (and every
 * inode made) sweeps a few entries in insertion order (a clock hand over the map) and drops those `evictable` allows: inodes the
 * trees are up to date for that no handle, mapping or commit holds, and that were not among the last
 * RECENT_USES used (`use`, at every lookup). One that is needed again is read again, so a pool's memory
 * follows what it uses, not how many files it holds.
 */
export class InodeCache extends Map<number, PoolInode> {
  /** The `limit` a pool's cache gets once loaded (a test makes it tiny, to evict at every read). */
  static defaultLimit = INODE_CACHE_LIMIT;
  /** Inodes removed since the last checkpoint: the trees still hold them, the pool does not. */
  readonly gone = new Set<number>();
  /** Inodes read from the trees so far. */
  fromTrees = 0;
  /** Entries kept before reads from the trees start to evict (Infinity while a load fills the cache). */
  limit = Infinity;
  #fault: (ino: number) => PoolInode | undefined = () => undefined;
  #evictable: (inode: PoolInode) => boolean = () => false;
  #evict: (inode: PoolInode) => void = () => {};
  #hand: IterableIterator<PoolInode> | null = null;
  /** May the trees hold inode `ino`? (Not one numbered at or above the checkpoint's next number.) */
  #inTrees: (ino: number) => boolean = () => true;
  /** Lookups so far: each stamps the inode it finds (`PoolInode.used`). */
  #uses = 0;

  /**
   * `fault` reads an inode from the trees into the state; `evict` forgets one `evictable` allows; `inTrees`
   * says which numbers the trees may hold (a removed inode they cannot hold needs no mark in `gone`).
   */
  setFault(fault: (ino: number) => PoolInode | undefined, evictable: (inode: PoolInode) => boolean, evict: (inode: PoolInode) => void, inTrees: (ino: number) => boolean): void {
    this.#fault = fault;
    this.#evictable = evictable;
    this.#evict = evict;
    this.#inTrees = inTrees;
  }

  override get(ino: number): PoolInode | undefined {
    const got = super.get(ino);
    if (got !== undefined) {
      got.used = ++this.#uses;
      return got;
    }
    // One made since the checkpoint that is not in memory was removed: the trees never had it.
    if (!this.#inTrees(ino) || this.gone.has(ino)) return undefined;
    const read = this.#fault(ino);
    if (read !== undefined) {
      read.used = ++this.#uses;
      this.fromTrees++;
      if (this.size > this.limit) this.#sweep(SWEEP_STEPS);
    }
    return read;
  }

  /** An inode was made (a create): over the limit, a few entries are swept, as after a read from the trees. */
  added(): void {
    this.sweep(SWEEP_STEPS);
  }

  /** Over the limit, look at up to `steps` entries and drop those that may go (after a checkpoint). */
  sweep(steps: number): void {
    if (this.size > this.limit) this.#sweep(steps);
  }

  /** `inode` was found by a lookup elsewhere (by name): it is among the recently used. */
  use(inode: PoolInode): void {
    inode.used = ++this.#uses;
  }

  /** The inode if memory holds it; never reads the trees. */
  peek(ino: number): PoolInode | undefined {
    return super.get(ino);
  }

  override has(ino: number): boolean {
    return this.get(ino) !== undefined;
  }

  override delete(ino: number): boolean {
    if (this.#inTrees(ino)) this.gone.add(ino);
    return super.delete(ino);
  }

  /** Forget `inode` from memory only: the trees hold it as it is. */
  drop(inode: PoolInode): void {
    super.delete(inode.ino);
  }

  /** Does memory decide inode `ino` (held, or removed since the last checkpoint), rather than the trees? */
  decides(ino: number): boolean {
    return super.has(ino) || this.gone.has(ino);
  }

  /** A checkpoint brought the trees up to date: what they lack now, the pool lacks. */
  checkpointed(): void {
    if (this.gone.size > 0) this.gone.clear();
  }

  /** Evict what may go until `limit` holds, however many entries that takes (after a load that filled the cache). */
  trim(): void {
    this.#sweep(this.size, true);
  }

  /** `anyUse`: drop recently used inodes too (after a load, when no call holds any). */
  #sweep(steps: number, anyUse = false): void {
    for (let i = 0; i < steps && this.size > this.limit; i++) {
      let next = (this.#hand ??= super.values()).next();
      if (next.done === true) {
        this.#hand = super.values();
        next = this.#hand.next();
        if (next.done === true) return;
      }
      const inode = next.value;
      if ((anyUse || this.#uses - inode.used >= RECENT_USES) && this.#evictable(inode)) this.#evict(inode);
    }
  }
}
