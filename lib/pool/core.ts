import { daxError } from '../dax/errors';
import { isErrnoError } from '../errors';
import { Errno } from '../iomap/errno';
import { checkpointBytes, encodeCheckpoint, writeRuns } from './checkpoint';
import { crc32c } from './crc32c';
import type { PoolDevice } from './device';
import { Journal } from './journal';
import { BLOCK, CKPT_RUNS_MAX, decodeSuperblock, encodeSuperblock, type Superblock } from './layout';
import { readMeta } from './meta-io';
import { PoolOps } from './ops';
import type { PoolState } from './state';

/**
 * PoolCore -- the write side of a loaded pool: commits (a journal record, or a checkpoint when the
 * journal is full), checkpoints, and superblock updates, with the persist ordering the format
 * needs. Every write here is a `device.copy`, durable when it returns.
 */
export class PoolCore {
  readonly device: PoolDevice;
  readonly state: PoolState;
  readonly journal: Journal;
  readonly ops: PoolOps;
  readonly readonly: boolean;
  /** Set when the pool closes: file calls still in flight then must change nothing more (PoolFile). */
  closed = false;

  constructor(device: PoolDevice, state: PoolState, readonly: boolean, journal: Journal) {
    this.device = device;
    this.state = state;
    this.readonly = readonly;
    this.journal = journal;
    this.ops = new PoolOps(device, state);
    state.measure();
  }

  get sb(): Superblock {
    return this.state.sb;
  }

  /** Make every pending change durable, atomically. */
  commit(): void {
    const s = this.state;
    if (!s.pending) return;
    if (!this.journal.append(s)) {
      this.checkpoint();
      return;
    }
    s.committed();
  }

  /**
   * Fold the journal into a checkpoint (at open after a crash, at close). On a pool where no
   * checkpoint fits (filled before the reserve rule, or free space in more pieces than a checkpoint
   * may have) the journal is kept instead: pending changes go to it, and a later checkpoint, once
   * deletes have made room, folds it. Returns whether a checkpoint was written.
   */
  settle(): boolean {
    if (this.journal.tail === 0 && !this.state.pending) return false;
    try {
      this.checkpoint();
      return true;
    } catch (e) {
      if (!isErrnoError(e, 'ENOSPC')) throw e;
    }
    this.commit();
    return false;
  }

  /**
   * Write the whole state (pending changes included) as a new checkpoint in free blocks, then point
   * the superblocks at it: primary first, then the copy. Until the primary is durable the old
   * checkpoint and journal are what a crash recovers; after it, the new one. ENOSPC, with nothing
   * changed, when the free blocks cannot hold it (the reserve rule keeps them able to).
   */
  checkpoint(): void {
    const s = this.state;
    const old = this.sb;
    const blocks = Math.ceil(checkpointBytes(s) / BLOCK);
    const runs = s.alloc.takeRuns(blocks, CKPT_RUNS_MAX);
    if (runs === null) throw daxError(-Errno.ENOSPC, 'fsync', { path: s.path });
    const epoch = old.epoch + 1;
    let failure: unknown = null;
    try {
      const image = encodeCheckpoint(s, epoch, s.alloc.snapshot(old.ckptRuns));
      writeRuns(this.device, runs, image);
      this.writeSuperblocks({ ...old, epoch, ckptRuns: runs, ckptBytes: image.length, ckptCrc: crc32c(image) });
    } catch (e) {
      // Unless a superblock switched, the media still hold the old state: so must memory.
      if (this.sb.epoch !== epoch) {
        s.alloc.untakeRuns(runs);
        throw e;
      }
      // One copy switched (the other failed): the new checkpoint is what the media hold.
      failure = e;
    }
    this.journal.reset(epoch);
    for (let i = 0; i < old.ckptRuns.length; i += 2) s.alloc.dropNow(old.ckptRuns[i] as number, old.ckptRuns[i + 1] as number);
    s.committed();
    if (failure !== null) throw failure;
  }

  /**
   * Both copies, one after the other, each durable before the next is written: normally the primary
   * first. If the backup is not valid on the media (a crash tore it), it goes first, so that at every
   * moment one of the two copies is whole.
   */
  writeSuperblocks(sb: Superblock): void {
    const next = { ...sb, seq: (sb.seq + 1) >>> 0 };
    const bytes = encodeSuperblock(next);
    const backupAt = (next.blocks - 1) * BLOCK;
    const order = this.#backupValid(backupAt) ? [0, backupAt] : [backupAt, 0];
    for (const at of order) {
      this.#writeBlock(at, bytes);
      // The first whole copy is the switch: from here a crash recovers `next`.
      this.state.sb = next;
    }
  }

  #backupValid(at: number): boolean {
    try {
      return typeof decodeSuperblock(readMeta(this.device, this.state.path, at, BLOCK, 'backup superblock')) === 'object';
    } catch {
      return false;
    }
  }

  /** A whole-block write; over poison it is the recovery write that also clears the poison. */
  #writeBlock(offset: number, bytes: Uint8Array): void {
    const d = this.device;
    const poisoned = d.badblocks().some((r) => r.offset < offset + BLOCK && offset < r.offset + r.length);
    if (poisoned && d.clearBadblocks !== undefined) d.clearBadblocks(offset, BLOCK, bytes);
    else d.copy(offset, bytes);
  }
}
