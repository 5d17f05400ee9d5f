import { Allocator } from './alloc';
import { PoolInode } from './inode';
import { dataEnd, dataStart, type Superblock } from './layout';

/** A namespace change waiting for the next commit, in the order it happened. */
export type NamespaceOp =
  | { readonly op: 'create'; readonly ino: number; readonly name: string; readonly ctimeMs: number }
  | { readonly op: 'name'; readonly ino: number; readonly name: string | null }
  | { readonly op: 'drop'; readonly ino: number };

/**
 * PoolState -- all of a pool's metadata in memory: inodes by number and by name, the allocator, and
 * the changes since the last commit (namespace operations in order; inodes whose mappings or
 * attributes changed; the allocator's own change lists).
 */
export class PoolState {
  sb: Superblock;
  readonly path: string;
  readonly inodes = new Map<number, PoolInode>();
  readonly names = new Map<string, PoolInode>();
  readonly alloc: Allocator;
  nextIno = 1;
  readonly namespaceOps: NamespaceOp[] = [];
  readonly dirtyInodes = new Set<PoolInode>();

  constructor(sb: Superblock, path: string) {
    this.sb = sb;
    this.path = path;
    this.alloc = new Allocator(sb.blocks, dataStart(sb), dataEnd(sb));
  }

  get pending(): boolean {
    const a = this.alloc;
    return this.namespaceOps.length > 0 || this.dirtyInodes.size > 0 || a.allocRuns.length > 0 || a.freeRuns.length > 0 || a.refChanged.size > 0;
  }

  addInode(ino: number, name: string | null, ctimeMs: number): PoolInode {
    const inode = new PoolInode(ino, name, this.path, ctimeMs);
    this.inodes.set(ino, inode);
    if (name !== null) this.names.set(name, inode);
    if (ino >= this.nextIno) this.nextIno = ino + 1;
    return inode;
  }

  touch(inode: PoolInode): void {
    this.dirtyInodes.add(inode);
  }

  /** After a commit: nothing is pending, every mapping is committed. */
  committed(): void {
    if (this.dirtyInodes.size > 0) this.#clearDirty();
    if (this.namespaceOps.length > 0) this.namespaceOps.length = 0;
    this.alloc.release();
  }

  #clearDirty(): void {
    for (const inode of this.dirtyInodes) {
      if (inode.dirtyHi > inode.dirtyLo) inode.extents.clearState(2, inode.dirtyLo, inode.dirtyHi);
      inode.dirtyLo = Infinity;
      inode.dirtyHi = 0;
      inode.attrDirty = false;
      inode.timeDirty = false;
    }
    this.dirtyInodes.clear();
  }
}
