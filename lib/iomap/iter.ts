import { internalError } from '../errors';
import { IomapFlag, IomapType } from './constants';
import { Errno, errnoOf } from './errno';
import type { Iomap, IomapInode, IomapOps } from './types';
import { makeIomap } from './types';

/** The empty mapping: "no mapping yet" as `iomap`, "no separate source" as `srcmap`. */
const NO_MAPPING: Readonly<Iomap> = Object.freeze(makeIomap());

/**
 * IomapIter -- the modern (status-based, explicit-advance) iteration of docs/semantics.md §2.3:
 *
 *     const it = new IomapIter(inode, pos, len, flags);
 *     while ((r = it.next(ops)) > 0) it.status = body(it);   // body calls it.advance(n)
 *
 * `next` pairs every successful `begin` with exactly one `end`, stops on a negative status, on
 * `len == 0`, or on a mapping that made no progress (unless it is STALE, which is remapped).
 */
export class IomapIter<I extends IomapInode = IomapInode> {
  readonly inode: I;
  readonly flags: number;
  pos: number;
  len: number;
  /** Where the current mapping's iteration started; `end` is told this position. */
  iterStartPos: number;
  /** Set by the body after each call: 0 or a negative errno. */
  status = 0;
  /** The mapping to operate on; the empty HOLE before the first `begin`. */
  iomap: Readonly<Iomap> = NO_MAPPING;
  /** The CoW source, or the empty HOLE when there is none. */
  srcmap: Readonly<Iomap> = NO_MAPPING;
  /** For the caller's use across bodies. */
  private: unknown = undefined;
  /** The thrown error behind a negative result, when one carried more than an errno. */
  error: Error | null = null;
  private stale = false;
  private finished = false;
  private result = 0;

  constructor(inode: I, pos: number, len: number, flags: number) {
    this.inode = inode;
    this.pos = pos;
    this.len = len;
    this.iterStartPos = pos;
    this.flags = flags;
  }

  /** iomap_length -- bytes of the current mapping from `pos`, clipped to `len` and to the source. */
  length(): number {
    return this.lengthTrim(this.pos, this.len);
  }

  /** iomap_iter_srcmap -- the mapping to read old data from. */
  readSource(): Readonly<Iomap> {
    return this.srcmap.type !== IomapType.HOLE ? this.srcmap : this.iomap;
  }

  /** iomap_iter_advance -- consume `n` bytes; more than `length()` is `-EIO` and changes nothing. */
  advance(n: number): number {
    if (n < 0 || n > this.length()) return -Errno.EIO;
    this.pos += n;
    this.len -= n;
    return 0;
  }

  /** iomap_iter_advance_full -- consume the rest of the current mapping. */
  advanceFull(): number {
    return this.advance(this.length());
  }

  /** Mark the current mapping stale (the core's IOMAP_F_STALE): it is ended and mapped again. */
  markStale(): void {
    this.stale = true;
  }

  /** iomap_iter -- finish the previous mapping, then begin the next: 1 = go on, 0 = done, < 0 = error. */
  next(ops: IomapOps<I>): number {
    if (this.finished) return this.result;
    if (this.iomap.length !== 0) {
      const r = this.finishMapping(ops);
      if (r <= 0) return this.stop(r);
    } else if (this.len === 0) {
      return this.stop(0);
    }
    let answer;
    try {
      answer = ops.begin(this.inode, this.pos, this.len, this.flags);
    } catch (e) {
      return this.stop(this.fail(e));
    }
    const m = answer.iomap;
    this.iomap = m;
    this.srcmap = answer.srcmap ?? NO_MAPPING;
    this.iterStartPos = this.pos;
    if (!(m.offset <= this.pos && m.length > 0 && m.offset + m.length > this.pos) || (m.flags & IomapFlag.STALE) !== 0) {
      // A mapping that does not contain pos is filesystem corruption; end it with nothing written.
      this.status = -Errno.EIO;
      this.error = internalError(`iomap begin returned [${m.offset}, +${m.length}) for position ${this.pos}`);
      const r = this.finishMapping(ops);
      return this.stop(r < 0 ? r : -Errno.EIO);
    }
    return 1;
  }

  /**
   * close -- end the current mapping (if any) without beginning another, and finish. For callers
   * that drive two iterations in lock step and stop one of them early.
   */
  close(ops: IomapOps<I>): void {
    if (this.finished) return;
    if (this.iomap.length !== 0) {
      const advanced = this.pos - this.iterStartPos;
      if (ops.end) {
        try {
          ops.end(this.inode, this.iterStartPos, this.lengthTrim(this.iterStartPos, this.len + advanced), advanced, this.flags, this.iomap as Iomap);
        } catch (e) {
          this.fail(e);
        }
      }
      this.iomap = NO_MAPPING;
      this.srcmap = NO_MAPPING;
    }
    this.stop(0);
  }

  /** iomap_length_trim -- the mapping seen from `pos`, clipped to `len` and to the source's end. */
  private lengthTrim(pos: number, len: number): number {
    let end = this.iomap.offset + this.iomap.length;
    if (this.srcmap.type !== IomapType.HOLE) end = Math.min(end, this.srcmap.offset + this.srcmap.length);
    return Math.min(len, end - pos);
  }

  /** Step 1 of §2.3: `end` the current mapping and decide whether to continue (1) or stop. */
  private finishMapping(ops: IomapOps<I>): number {
    const advanced = this.pos - this.iterStartPos;
    if (ops.end) {
      const length = this.lengthTrim(this.iterStartPos, this.len + advanced);
      try {
        ops.end(this.inode, this.iterStartPos, length, advanced, this.flags, this.iomap as Iomap);
      } catch (e) {
        const r = this.fail(e);
        if (advanced === 0 && this.status === 0) return r;
      }
    }
    // A positive status is the retired "bytes processed" convention: treat it as corruption.
    if (this.status > 0) this.status = -Errno.EIO;
    if (this.status < 0) return this.status;
    if (this.len === 0) return 0;
    if (advanced === 0 && !this.stale) return 0;
    this.stale = false;
    this.iomap = NO_MAPPING;
    this.srcmap = NO_MAPPING;
    this.status = 0;
    return 1;
  }

  private fail(e: unknown): number {
    const errno = errnoOf(e);
    if (errno === 0) throw e;
    this.error = e as Error;
    return errno;
  }

  private stop(r: number): number {
    this.finished = true;
    this.result = r;
    return r;
  }
}
