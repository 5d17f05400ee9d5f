import type { DaxDevice } from '../device/types';
import { IOMAP_NULL_ADDR, IomapType } from './constants';

/** One mapping answered by the filesystem: file bytes `[offset, offset+length)` at device byte `addr`. */
export interface Iomap {
  /** Device byte address of the first byte, or IOMAP_NULL_ADDR for HOLE, DELALLOC and INLINE. */
  addr: number;
  /** File offset where the mapping starts. */
  offset: number;
  /** Length in bytes; > 0 for every mapping a filesystem returns. */
  length: number;
  type: IomapType;
  /** IomapFlag bits. */
  flags: number;
  /** The device holding MAPPED/UNWRITTEN data; may be null for a HOLE. */
  daxDev: DaxDevice | null;
  /** Filesystem cookie, handed back unchanged to `end`. */
  private?: unknown;
  /** Filesystem freshness token; DAX never revalidates (see docs/semantics.md §2.1), it is carried only. */
  validityCookie?: number;
}

/** What `begin` answers: the mapping to operate on and, for copy-on-write, where old data lives. */
export interface IomapBeginResult {
  iomap: Iomap;
  /** Source of old data for a CoW destination; absent (or type HOLE) means "no separate source". */
  srcmap?: Iomap;
}

/** The least an inode must offer the iomap core. */
export interface IomapInode {
  /** i_size in bytes. */
  readonly size: number;
}

/**
 * The filesystem side of iomap. Both calls are synchronous: a filesystem over mapped persistent
 * memory answers from in-memory extent maps and commits with ordinary stores and flushes. Errors
 * are thrown as fs-style errors carrying a negative `errno`.
 */
export interface IomapOps<I extends IomapInode = IomapInode> {
  /** Map `pos` (and as much as practical of the next `length` bytes) for an operation with `flags`. */
  begin(inode: I, pos: number, length: number, flags: number): IomapBeginResult;
  /** Called once after every successful `begin`: `written` bytes of `[pos, pos+length)` were used. */
  end?(inode: I, pos: number, length: number, written: number, flags: number, iomap: Iomap): void;
}

/** makeIomap -- a fresh mapping; the default is an empty HOLE, which is what "no srcmap" means. */
export function makeIomap(): Iomap {
  return { addr: IOMAP_NULL_ADDR, offset: 0, length: 0, type: IomapType.HOLE, flags: 0, daxDev: null };
}

/** clearIomap -- reset a mapping in place to the empty HOLE. */
export function clearIomap(m: Iomap): void {
  m.addr = IOMAP_NULL_ADDR;
  m.offset = 0;
  m.length = 0;
  m.type = IomapType.HOLE;
  m.flags = 0;
  m.daxDev = null;
  m.private = undefined;
  m.validityCookie = undefined;
}

/** copyIomap -- copy every field of `src` into `dst`. */
export function copyIomap(dst: Iomap, src: Iomap): void {
  dst.addr = src.addr;
  dst.offset = src.offset;
  dst.length = src.length;
  dst.type = src.type;
  dst.flags = src.flags;
  dst.daxDev = src.daxDev;
  dst.private = src.private;
  dst.validityCookie = src.validityCookie;
}
