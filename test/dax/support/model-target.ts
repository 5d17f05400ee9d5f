import type { DaxSeekOptions } from '../../../lib/dax/seek';
import type { DaxInode } from '../../../lib/dax/types';
import type { FiemapExtent } from '../../../lib/iomap/fiemap';
import type { IomapOps } from '../../../lib/iomap/types';
import type { AsyncRwLock } from '../../../lib/dax/invalidate-lock';

/** What a simulated fault needs of an inode: the DAX side plus the lock faults hold shared. */
export interface FaultInode extends DaxInode {
  readonly invalidateLock: AsyncRwLock;
}

/** One file as a second open of the filesystem sees it. */
export interface ReadView {
  readonly size: number;
  read(pos: number, target: Uint8Array): number;
}

/** The target's files as read back through a fresh open of its device. */
export interface ReopenedView {
  readonly files: readonly ReadView[];
  close(): void;
}

/**
 * ModelTarget -- a filesystem the model-based test drives: `F` is its file handle, `I` the inode its
 * iomap operations take. Each method is the syscall the model names; the model compares sizes and
 * bytes with byte arrays and the mapping entries with `blockAt`/`unwrittenAt`.
 */
export interface ModelTarget<F, I extends FaultInode> {
  readonly files: readonly F[];
  /** The iomap operations simulated faults call. */
  readonly ops: IomapOps<I>;
  inode(f: F): I;
  read(f: F, pos: number, target: Uint8Array): number;
  write(f: F, pos: number, data: Uint8Array): Promise<number>;
  /** Zero `[pos, pos+len)` without changing the size (bytes past EOF stay past it). */
  zeroRange(f: F, pos: number, len: number): Promise<void>;
  truncate(f: F, size: number): Promise<void>;
  punch(f: F, pos: number, len: number): Promise<void>;
  fallocate(f: F, pos: number, len: number, keepSize: boolean): Promise<void>;
  seekData(f: F, offset: number, opts: DaxSeekOptions): number;
  seekHole(f: F, offset: number, opts: DaxSeekOptions): number;
  fiemap(f: F, start: number, len: number): FiemapExtent[];
  reflink(src: F, srcOff: number, dst: F, dstOff: number, len: number): Promise<void>;
  dedupe(src: F, srcOff: number, dst: F, dstOff: number, len: number): Promise<void>;
  unshare(f: F, pos: number, len: number): Promise<void>;
  fsync(f: F): Promise<void>;
  /** Consistency problems of the whole filesystem (none: empty). */
  check(): string[];
  /** Device page of a file page, or null for a hole. */
  blockAt(f: F, page: number): number | null;
  unwrittenAt(f: F, page: number): boolean;
  /** Make everything durable and open the device again, read-only (targets that persist only). */
  reopen?(): Promise<ReopenedView>;
}
