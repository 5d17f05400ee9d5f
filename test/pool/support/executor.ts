// Self-contained (type imports only): the child-process crash test transpiles this file and runs it
// against dist/, so it may not import anything at run time.
import type { Pool, PoolFile } from '../../../lib';
import type { FallocateMode } from '../../../lib/pool/types';

/** One step of a workload, in a form a child process can be sent as JSON. Handles are numbered in open order. */
export type Op =
  | { readonly k: 'open'; readonly h: number; readonly name: string; readonly create: boolean; readonly truncate: boolean; readonly sync: boolean }
  | { readonly k: 'close'; readonly h: number }
  | { readonly k: 'write'; readonly h: number; readonly pos: number; readonly len: number; readonly seed: number }
  | { readonly k: 'append'; readonly h: number; readonly len: number; readonly seed: number }
  | { readonly k: 'truncate'; readonly h: number; readonly size: number }
  | { readonly k: 'fallocate'; readonly h: number; readonly mode: FallocateMode; readonly off: number; readonly len: number }
  | { readonly k: 'rename'; readonly from: string; readonly to: string }
  | { readonly k: 'unlink'; readonly name: string }
  | { readonly k: 'clone' | 'dedupe'; readonly h: number; readonly t: number; readonly src: number; readonly dst: number; readonly len: number }
  | { readonly k: 'unshare'; readonly h: number; readonly off: number; readonly len: number }
  | { readonly k: 'fsync' | 'fdatasync'; readonly h: number }
  | { readonly k: 'sync' }
  | { readonly k: 'remount' };

/**
 * opData -- the bytes a write with `seed` stores: a mulberry32 stream with no zero byte, so data can
 * never be mistaken for a hole.
 */
export function opData(seed: number, len: number): Uint8Array {
  const out = new Uint8Array(len);
  let s = seed >>> 0;
  for (let i = 0; i < len; i += 4) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    let v = (t ^ (t >>> 14)) >>> 0;
    for (let j = i; j < Math.min(i + 4, len); j++) {
      out[j] = (v & 0xff) | 1;
      v >>>= 8;
    }
  }
  return out;
}

/** What `run` returns for a dedupe the pool refused because the ranges differ (it changed nothing). */
export const DEDUPE_DIFFERS = -2;

/**
 * Executor -- runs workload steps on a pool. `run` returns what the step acknowledged that a model
 * cannot know in advance: the inode number for `open`, DEDUPE_DIFFERS for a refused dedupe, -1 otherwise.
 */
export class Executor {
  pool: Pool;
  private readonly files = new Map<number, PoolFile>();
  private readonly reopen: () => Pool;

  constructor(pool: Pool, reopen: () => Pool) {
    this.pool = pool;
    this.reopen = reopen;
  }

  async run(op: Op): Promise<number> {
    switch (op.k) {
      case 'open': {
        const f = this.pool.open(op.name, { create: op.create, truncate: op.truncate, sync: op.sync });
        this.files.set(op.h, f);
        return f.ino;
      }
      case 'close':
        this.file(op.h).close();
        this.files.delete(op.h);
        return -1;
      case 'write':
        this.file(op.h).writeSync(opData(op.seed, op.len), op.pos);
        return -1;
      case 'append':
        this.file(op.h).appendSync(opData(op.seed, op.len));
        return -1;
      case 'truncate':
        await this.file(op.h).truncate(op.size);
        return -1;
      case 'fallocate':
        await this.file(op.h).fallocate(op.mode, op.off, op.len);
        return -1;
      case 'rename':
        this.pool.rename(op.from, op.to);
        return -1;
      case 'unlink':
        this.pool.unlink(op.name);
        return -1;
      case 'clone':
        await this.file(op.h).clone(this.file(op.t), op.src, op.dst, op.len);
        return -1;
      case 'dedupe':
        // Equal bytes are not enough: a hole against zeros (or unwritten blocks' raw media) differs.
        try {
          await this.file(op.h).dedupe(this.file(op.t), op.src, op.dst, op.len);
        } catch (e) {
          if ((e as { code?: unknown }).code === 'EBADE') return DEDUPE_DIFFERS;
          throw e;
        }
        return -1;
      case 'unshare':
        await this.file(op.h).unshare(op.off, op.len);
        return -1;
      case 'fsync':
        await this.file(op.h).fsync();
        return -1;
      case 'fdatasync':
        await this.file(op.h).fdatasync();
        return -1;
      case 'sync':
        this.pool.sync();
        return -1;
      case 'remount':
        for (const f of this.files.values()) f.close();
        this.files.clear();
        this.pool.closeSync();
        this.pool = this.reopen();
        return -1;
    }
  }

  private file(h: number): PoolFile {
    const f = this.files.get(h);
    if (f === undefined) throw new Error(`workload bug: handle ${h} is not open`);
    return f;
  }
}
