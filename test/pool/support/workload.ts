import type { FallocateMode } from '../../../lib/pool/types';
import type { Prng } from '../../dax/support/prng';
import type { Op } from './executor';
import { BLOCK, type Model, type ModelInode } from './model';

export interface WorkloadOptions {
  /** No write, fallocate or clone reaches past this many bytes (keeps small pools from filling up). */
  readonly maxFile: number;
  readonly names: readonly string[];
  readonly maxHandles: number;
  /** Include clean close + reopen of the pool. */
  readonly remount: boolean;
}

/** Names the workloads use: short ones to collide, one of the longest allowed, and non-ASCII. */
export const WORKLOAD_NAMES: readonly string[] = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'dir/h', 'n'.repeat(255), 'ünï-名前'];

export const DEFAULT_WORKLOAD: WorkloadOptions = { maxFile: 192 * 1024, names: WORKLOAD_NAMES, maxHandles: 6, remount: true };

const WEIGHTS: readonly [Op['k'], number][] = [
  ['write', 26], ['append', 8], ['truncate', 6], ['fallocate', 8], ['rename', 5], ['unlink', 4], ['clone', 7],
  ['dedupe', 3], ['unshare', 3], ['fsync', 8], ['fdatasync', 3], ['sync', 2], ['close', 6], ['remount', 1], ['open', 8],
];
const TOTAL = WEIGHTS.reduce((n, [, w]) => n + w, 0);
const MODES: readonly FallocateMode[] = ['allocate', 'keep-size', 'punch-hole', 'zero-range'];

interface Pair {
  readonly h: number;
  readonly t: number;
  readonly src: ModelInode;
  readonly dst: ModelInode;
}

/**
 * Workload -- picks random valid steps from what the model says exists now. The steps are meant to
 * succeed: any error from the pool is a finding. The last clone is remembered so that dedupe has
 * equal ranges to work on.
 */
export class Workload {
  private readonly rng: Prng;
  private readonly opts: WorkloadOptions;
  private lastClone: Pick<Op & { k: 'clone' }, 'h' | 't' | 'src' | 'dst' | 'len'> | null = null;

  constructor(rng: Prng, opts: WorkloadOptions = DEFAULT_WORKLOAD) {
    this.rng = rng;
    this.opts = opts;
  }

  next(model: Model): Op {
    if (model.handles.size === 0) return this.open(model);
    for (;;) {
      const op = this.pick(model, this.kind());
      if (op !== null) return op;
    }
  }

  private kind(): Op['k'] {
    let r = this.rng.int(TOTAL);
    for (const [k, w] of WEIGHTS) {
      if (r < w) return k;
      r -= w;
    }
    return 'write';
  }

  private pick(model: Model, k: Op['k']): Op | null {
    const rng = this.rng;
    const max = this.opts.maxFile;
    const h = rng.pick([...model.handles.keys()]);
    const m = model.handle(h).inode;
    switch (k) {
      case 'open':
        return model.handles.size < this.opts.maxHandles ? this.open(model) : null;
      case 'close':
        return { k, h };
      case 'write': {
        const len = this.length();
        const aligned = rng.int(4) === 0;
        let pos = rng.int(Math.max(1, Math.min(max - len, m.curSize + 8192)));
        if (aligned) pos -= pos % BLOCK;
        return { k, h, pos, len, seed: rng.int(2 ** 32) };
      }
      case 'append': {
        const len = this.length();
        return m.curSize + len <= max ? { k, h, len, seed: rng.int(2 ** 32) } : null;
      }
      case 'truncate': {
        const r = rng.int(10);
        const size = r === 0 ? 0 : r < 5 ? rng.int(max + 1) : Math.max(0, Math.min(max, m.curSize + rng.int(16384) - 8192));
        return { k, h, size };
      }
      case 'fallocate': {
        const off = rng.int(max - 1);
        const len = 1 + rng.int(Math.min(64 * 1024, max - off));
        return { k, h, mode: rng.pick(MODES), off, len };
      }
      case 'unshare': {
        const off = rng.int(max - 1);
        return { k, h, off, len: 1 + rng.int(Math.min(64 * 1024, max - off)) };
      }
      case 'rename': {
        const existing = [...model.names.keys()];
        if (existing.length === 0) return null;
        const from = rng.pick(existing);
        const to = rng.pick(this.opts.names.filter((n) => n !== from));
        return { k, from, to };
      }
      case 'unlink': {
        const existing = [...model.names.keys()];
        return existing.length === 0 ? null : { k, name: rng.pick(existing) };
      }
      case 'clone':
        return this.clone(model);
      case 'dedupe':
        return this.dedupe(model);
      case 'fsync':
      case 'fdatasync':
        return { k, h };
      case 'sync':
        return { k };
      case 'remount':
        return this.opts.remount ? { k } : null;
    }
  }

  /** Mostly small writes, some of a few pages, a few of up to 64 KiB. */
  private length(): number {
    const r = this.rng.int(20);
    if (r < 12) return 1 + this.rng.int(512);
    if (r < 17) return 512 + this.rng.int(16 * 1024);
    return 16 * 1024 + this.rng.int(48 * 1024);
  }

  private open(model: Model): Op {
    const name = this.rng.pick(this.opts.names);
    const exists = model.names.has(name);
    return {
      k: 'open',
      h: model.peekHandle(),
      name,
      create: !exists || this.rng.int(2) === 0,
      truncate: this.rng.int(8) === 0,
      sync: this.rng.int(2) === 0,
    };
  }

  private pair(model: Model): Pair | null {
    const hs = [...model.handles.entries()];
    const a = this.rng.pick(hs);
    const others = hs.filter(([, x]) => x.inode !== a[1].inode);
    if (others.length === 0) return null;
    const b = this.rng.pick(others);
    return { h: a[0], t: b[0], src: a[1].inode, dst: b[1].inode };
  }

  /**
   * A block-aligned range of the source into a block-aligned place in the target; the range may end
   * unaligned only at the source's EOF, and then only when it also reaches the target's EOF.
   */
  private clone(model: Model): Op | null {
    const p = this.pair(model);
    if (p === null || p.src.curSize === 0) return null;
    const src = this.rng.int(Math.ceil(p.src.curSize / BLOCK)) * BLOCK;
    let len = Math.min(p.src.curSize - src, (1 + this.rng.int(16)) * BLOCK);
    const dst = this.rng.int((this.opts.maxFile - len) / BLOCK + 1) * BLOCK;
    if (len % BLOCK !== 0 && dst + len < p.dst.curSize) len -= len % BLOCK;
    if (len === 0) return null;
    const op = { k: 'clone' as const, h: p.h, t: p.t, src, dst, len };
    this.lastClone = op;
    return op;
  }

  /** The last clone's ranges when they still hold equal bytes (whole blocks inside both files). */
  private dedupe(model: Model): Op | null {
    const c = this.lastClone;
    if (c === null || !model.handles.has(c.h) || !model.handles.has(c.t)) return null;
    const src = model.handle(c.h).inode;
    const dst = model.handle(c.t).inode;
    if (src === dst) return null;
    let len = Math.min(c.len, src.curSize - c.src, dst.curSize - c.dst);
    len -= len % BLOCK;
    if (len <= 0) return null;
    if (Buffer.compare(src.read(c.src, len), dst.read(c.dst, len)) !== 0) return null;
    return { k: 'dedupe', h: c.h, t: c.t, src: c.src, dst: c.dst, len };
  }
}
