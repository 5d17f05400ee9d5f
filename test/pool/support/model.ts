import type { FallocateMode } from '../../../lib/pool/types';
import { DEDUPE_DIFFERS, type Op, opData } from './executor';

export const BLOCK = 4096;

/** What the model knows of a file block's mapping; only WRITTEN blocks are overwritten in place. */
export const HOLE = 0;
export const UNWRITTEN = 1;
export const WRITTEN = 2;
export const SHARED = 3;
/** Allocated or not, zeroed in place or remapped: the pool's choice. */
export const UNKNOWN = 4;

/** Bytes a crash may or may not have made durable: one write, zeroing or clone. */
export interface Segment {
  readonly off: number;
  readonly data: Uint8Array;
}

/**
 * ModelInode -- one file as the application sees it (`cur`, `curSize`) and what a crash may leave of
 * it: `dur` holds the bytes known durable, `pending` the changes since that may or may not have
 * reached the media (each byte independently: a torn write is any mix of old and new), and `sizes`
 * every size the file may come back with.
 */
export class ModelInode {
  readonly mid: number;
  /** The pool's inode number, once an open acknowledged it. */
  ino = -1;
  cur: Uint8Array = new Uint8Array(0);
  curSize = 0;
  dur: Uint8Array = new Uint8Array(0);
  sizes = new Set<number>([0]);
  pending: Segment[] = [];
  curState: number[] = [];
  durState: number[] = [];
  /** Blocks whose mapping changed since the last durable point: writes there are not durable on return. */
  touched: boolean[] = [];
  handles = 0;
  linked = true;
  /** Its link is durable: a crash must leave it under a name. */
  required = false;

  /** False for a model that only plans steps: it keeps the current contents, not what is durable. */
  readonly durability: boolean;

  constructor(mid: number, durability = true) {
    this.mid = mid;
    this.durability = durability;
  }

  ensure(n: number): void {
    if (n <= this.cur.length) return;
    const cap = Math.max(n, this.cur.length * 2, 64 * 1024);
    const grow = (a: Uint8Array): Uint8Array => {
      const b = new Uint8Array(cap);
      b.set(a);
      return b;
    };
    this.cur = grow(this.cur);
    if (this.durability) this.dur = grow(this.dur);
  }

  state(b: number): number {
    return this.curState[b] ?? HOLE;
  }

  setState(b: number, st: number): void {
    if (this.state(b) === st) return;
    this.curState[b] = st;
    this.touched[b] = true;
  }

  /** A durable point: everything the application sees is on the media. */
  settle(): void {
    if (!this.durability) return;
    this.dur = this.cur.slice();
    this.sizes = new Set([this.curSize]);
    this.pending = [];
    this.durState = this.curState.slice();
    this.touched = [];
  }

  addPending(off: number, data: Uint8Array): void {
    if (this.durability) this.pending.push({ off, data });
  }

  /** Remove bytes [lo, hi) from every pending change (they are known now). */
  cut(lo: number, hi: number): void {
    const out: Segment[] = [];
    for (const s of this.pending) {
      const end = s.off + s.data.length;
      if (end <= lo || s.off >= hi) {
        out.push(s);
        continue;
      }
      if (s.off < lo) out.push({ off: s.off, data: s.data.subarray(0, lo - s.off) });
      if (end > hi) out.push({ off: hi, data: s.data.subarray(hi - s.off) });
    }
    this.pending = out;
  }

  /** Blocks of [lo, hi): first and one past the last. */
  static blocks(lo: number, hi: number): [number, number] {
    return [Math.floor(lo / BLOCK), Math.ceil(hi / BLOCK)];
  }

  write(pos: number, data: Uint8Array): void {
    const end = pos + data.length;
    this.ensure(end);
    this.cur.set(data, pos);
    if (end > this.curSize) this.resize(end);
    this.addPending(pos, data);
    const [b0, b1] = ModelInode.blocks(pos, end);
    for (let b = b0; b < b1; b++) this.setState(b, WRITTEN);
  }

  /** After a write returned on a non-sync file: the bytes in blocks overwritten in place are durable. */
  settleInPlace(pos: number, data: Uint8Array): void {
    if (!this.durability) return;
    const [b0, b1] = ModelInode.blocks(pos, pos + data.length);
    for (let b = b0; b < b1; b++) {
      if (this.durState[b] !== WRITTEN || this.touched[b] === true) continue;
      const lo = Math.max(pos, b * BLOCK);
      const hi = Math.min(pos + data.length, (b + 1) * BLOCK);
      this.dur.set(data.subarray(lo - pos, hi - pos), lo);
      this.cut(lo, hi);
    }
  }

  zero(lo: number, hi: number): void {
    if (hi <= lo) return;
    this.ensure(hi);
    this.cur.fill(0, lo, hi);
    if (this.durability) this.addPending(lo, new Uint8Array(hi - lo));
  }

  resize(size: number): void {
    this.curSize = size;
    this.sizes.add(size);
  }

  truncateBegin(size: number): void {
    const old = this.curSize;
    // Past the new size only: a crash image with the old size must show the old bytes there, never zeros.
    if (size < old) this.cur.fill(0, size, old);
    this.ensure(size);
    this.resize(size);
    const keep = Math.ceil(size / BLOCK);
    for (let b = keep; b < this.curState.length; b++) this.setState(b, HOLE);
    if (size % BLOCK !== 0 && size < old && this.state(keep - 1) !== HOLE) this.touched[keep - 1] = true;
  }

  /** A truncate returned: the size (and the blocks it freed) are durable. */
  truncateEnd(size: number): void {
    if (!this.durability) return;
    this.sizes = new Set([size]);
    if (this.dur.length > size) this.dur.fill(0, size);
    const kept: Segment[] = [];
    for (const s of this.pending) {
      if (s.off >= size) continue;
      kept.push(s.off + s.data.length > size ? { off: s.off, data: s.data.subarray(0, size - s.off) } : s);
    }
    this.pending = kept;
    for (let b = Math.ceil(size / BLOCK); b < this.durState.length; b++) this.durState[b] = HOLE;
  }

  fallocate(mode: FallocateMode, off: number, len: number): void {
    const end = off + len;
    const [b0, b1] = ModelInode.blocks(off, end);
    if (mode === 'allocate' || mode === 'keep-size') {
      if (mode === 'allocate' && end > this.curSize) {
        this.ensure(end);
        this.resize(end);
      }
      for (let b = b0; b < b1; b++) if (this.state(b) === HOLE) this.setState(b, UNWRITTEN);
      return;
    }
    if (mode === 'zero-range') {
      if (end > this.curSize) {
        this.ensure(end);
        this.resize(end);
      }
      this.zero(off, end);
      for (let b = b0; b < b1; b++) this.setState(b, UNKNOWN);
      return;
    }
    // A punch stays inside EOF: it never changes the size or the blocks past it.
    const stop = Math.min(end, this.curSize);
    this.zero(off, stop);
    for (let b = b0; b < Math.ceil(stop / BLOCK); b++) {
      const whole = b * BLOCK >= off && (b + 1) * BLOCK <= stop;
      if (whole) this.setState(b, HOLE);
      else if (this.state(b) !== HOLE) this.setState(b, UNKNOWN);
    }
  }

  /** A fallocate returned (durable on return): what it zeroed is zero, and a size it grew to holds. */
  fallocateEnd(mode: FallocateMode, off: number, len: number, sizeBefore: number): void {
    if (!this.durability) return;
    if (mode === 'punch-hole') this.settleZero(off, Math.min(off + len, sizeBefore));
    if (mode === 'zero-range') this.settleZero(off, off + len);
    if (mode !== 'keep-size' && mode !== 'punch-hole' && off + len > sizeBefore) this.sizes = new Set([this.curSize]);
  }

  /** A clone returned (durable on return): the target range holds the source's bytes. */
  cloneEnd(dst: number, data: Uint8Array, sizeBefore: number): void {
    if (!this.durability) return;
    this.dur.set(data, dst);
    this.cut(dst, dst + data.length);
    if (dst + data.length > sizeBefore) this.sizes = new Set([this.curSize]);
  }

  private settleZero(lo: number, hi: number): void {
    if (hi <= lo) return;
    this.ensure(hi);
    this.dur.fill(0, lo, hi);
    this.cut(lo, hi);
  }

  /** The bytes of [pos, pos+len) as the application sees them now. */
  read(pos: number, len: number): Uint8Array {
    this.ensure(pos + len);
    return this.cur.slice(pos, pos + len);
  }
}

interface Handle {
  readonly inode: ModelInode;
  readonly sync: boolean;
}

/**
 * Model -- the name space and files a workload has built, and for each name the files a crash may
 * leave under it (`candidates`; `null` is "no file"). Each step is applied in two halves: `begin`
 * before the pool runs it (its effects become possible) and `end` after it returned (what the
 * contract makes durable on return becomes certain), so a crash image taken in between is checked
 * against "the step in flight may or may not have happened".
 */
export class Model {
  readonly names = new Map<string, ModelInode>();
  readonly candidates = new Map<string, Set<ModelInode | null>>();
  readonly handles = new Map<number, Handle>();
  /** Files unlinked (durably) while open: their blocks are freed when the pool next opens. */
  readonly orphans = new Set<ModelInode>();
  /** Every file that a crash may leave, linked or not. */
  readonly inodes = new Set<ModelInode>();
  private nextMid = 1;
  private nextHandle = 0;
  /** False for a model that only plans steps (see ModelInode.durability). */
  readonly durability: boolean;

  constructor(opts: { durability?: boolean } = {}) {
    this.durability = opts.durability ?? true;
  }

  /** Set while a step is between `begin` and `end`. */
  inFlight: Op | null = null;
  /** What `end` needs from before the step: the size of the file it changes, the bytes a clone copies. */
  private sizeBefore = 0;
  private cloned: Uint8Array = new Uint8Array(0);
  private created = false;

  /** The handle number the next `open` step gets. */
  peekHandle(): number {
    return this.nextHandle;
  }

  handle(h: number): Handle {
    const x = this.handles.get(h);
    if (x === undefined) throw new Error(`model: handle ${h} is not open`);
    return x;
  }

  cands(name: string): Set<ModelInode | null> {
    let c = this.candidates.get(name);
    if (c === undefined) {
      c = new Set([null]);
      this.candidates.set(name, c);
    }
    return c;
  }

  begin(op: Op): void {
    this.inFlight = op;
    switch (op.k) {
      case 'open': {
        let m = this.names.get(op.name);
        this.created = m === undefined;
        if (m === undefined) {
          if (!op.create) throw new Error(`model: open of missing ${op.name} without create`);
          m = new ModelInode(this.nextMid++, this.durability);
          this.inodes.add(m);
          this.names.set(op.name, m);
          this.cands(op.name).add(m);
        } else if (op.truncate) {
          m.truncateBegin(0);
        }
        m.handles++;
        this.handles.set(op.h, { inode: m, sync: op.sync });
        this.nextHandle = Math.max(this.nextHandle, op.h + 1);
        return;
      }
      case 'close':
        return;
      case 'write':
        this.handle(op.h).inode.write(op.pos, opData(op.seed, op.len));
        return;
      case 'append': {
        const m = this.handle(op.h).inode;
        m.write(m.curSize, opData(op.seed, op.len));
        return;
      }
      case 'truncate':
        this.handle(op.h).inode.truncateBegin(op.size);
        return;
      case 'fallocate': {
        const m = this.handle(op.h).inode;
        this.sizeBefore = m.curSize;
        m.fallocate(op.mode, op.off, op.len);
        return;
      }
      case 'rename': {
        const x = this.names.get(op.from);
        if (x === undefined) throw new Error(`model: rename of missing ${op.from}`);
        const y = this.names.get(op.to);
        if (y !== undefined) this.unlinkBegin(y);
        this.cands(op.from).add(null);
        this.cands(op.to).add(x);
        this.names.delete(op.from);
        this.names.set(op.to, x);
        return;
      }
      case 'unlink': {
        const x = this.names.get(op.name);
        if (x === undefined) throw new Error(`model: unlink of missing ${op.name}`);
        this.unlinkBegin(x);
        this.cands(op.name).add(null);
        this.names.delete(op.name);
        return;
      }
      case 'clone': {
        const src = this.handle(op.h).inode;
        const dst = this.handle(op.t).inode;
        const data = src.read(op.src, op.len);
        this.cloned = data;
        this.sizeBefore = dst.curSize;
        const end = op.dst + op.len;
        dst.ensure(end);
        dst.cur.set(data, op.dst);
        if (end > dst.curSize) dst.resize(end);
        dst.addPending(op.dst, data);
        const [s0, s1] = ModelInode.blocks(op.src, op.src + op.len);
        // Unwritten source blocks are not shared: the target gets holes there.
        for (let b = s0; b < s1; b++) {
          const st = src.state(b);
          if (st === WRITTEN) src.setState(b, SHARED);
          dst.setState(op.dst / BLOCK + b - s0, st === HOLE || st === UNWRITTEN ? HOLE : st === UNKNOWN ? UNKNOWN : SHARED);
        }
        return;
      }
      case 'dedupe': {
        const src = this.handle(op.h).inode;
        const dst = this.handle(op.t).inode;
        const [s0, s1] = ModelInode.blocks(op.src, op.src + op.len);
        for (let b = s0; b < s1; b++) {
          if (src.state(b) !== HOLE) src.setState(b, UNKNOWN);
          dst.setState(op.dst / BLOCK + b - s0, UNKNOWN);
        }
        return;
      }
      case 'unshare': {
        const m = this.handle(op.h).inode;
        const [b0, b1] = ModelInode.blocks(op.off, op.off + op.len);
        for (let b = b0; b < b1; b++) if (m.state(b) === SHARED) m.setState(b, WRITTEN);
        return;
      }
      case 'fsync':
      case 'fdatasync':
      case 'sync':
      case 'remount':
        return;
    }
  }

  /** The step returned; `ino` is what an `open` acknowledged. */
  end(op: Op, ino: number): void {
    this.inFlight = null;
    switch (op.k) {
      case 'open': {
        const h = this.handle(op.h);
        if (h.inode.ino >= 0 && h.inode.ino !== ino) throw new Error(`model: ${op.name} opened as inode ${ino}, known as ${h.inode.ino}`);
        h.inode.ino = ino;
        if (this.created) {
          // A create is a namespace change: durable on return.
          this.candidates.set(op.name, new Set([h.inode]));
          h.inode.required = true;
        }
        if (op.truncate) h.inode.truncateEnd(0);
        return;
      }
      case 'close': {
        const m = this.handle(op.h).inode;
        this.handles.delete(op.h);
        m.handles--;
        if (m.handles === 0 && !m.linked) {
          this.orphans.delete(m);
          this.inodes.delete(m);
        }
        return;
      }
      case 'write':
      case 'append': {
        const h = this.handle(op.h);
        if (h.sync) this.durable(h.inode);
        else {
          const seg = h.inode.pending[h.inode.pending.length - 1];
          if (seg !== undefined) h.inode.settleInPlace(seg.off, seg.data);
        }
        return;
      }
      case 'truncate': {
        const h = this.handle(op.h);
        h.inode.truncateEnd(op.size);
        if (h.sync) this.durable(h.inode);
        return;
      }
      case 'fallocate': {
        const h = this.handle(op.h);
        h.inode.fallocateEnd(op.mode, op.off, op.len, this.sizeBefore);
        if (h.sync) this.durable(h.inode);
        return;
      }
      case 'unshare': {
        const h = this.handle(op.h);
        if (h.sync) this.durable(h.inode);
        return;
      }
      case 'clone':
      case 'dedupe': {
        // A dedupe refused (EBADE) changed nothing and committed nothing, whatever the handle: a pending size
        // of the file (another handle's append) stays as durable as it was (seed 1931302929).
        if (ino === DEDUPE_DIFFERS) return;
        const t = this.handle(op.t);
        if (op.k === 'clone') t.inode.cloneEnd(op.dst, this.cloned, this.sizeBefore);
        if (t.sync) this.durable(t.inode);
        return;
      }
      case 'rename': {
        const x = this.names.get(op.to);
        if (x === undefined) throw new Error('model: rename lost its file');
        this.candidates.set(op.from, new Set([null]));
        this.candidates.set(op.to, new Set([x]));
        x.required = true;
        this.unlinkEnd();
        return;
      }
      case 'unlink':
        this.candidates.set(op.name, new Set([null]));
        this.unlinkEnd();
        return;
      case 'fsync':
      case 'fdatasync':
        this.durable(this.handle(op.h).inode);
        return;
      case 'sync':
        this.syncAll();
        return;
      case 'remount':
        this.syncAll();
        for (const m of this.orphans) this.inodes.delete(m);
        this.orphans.clear();
        for (const h of this.handles.values()) h.inode.handles = 0;
        this.handles.clear();
        return;
    }
  }

  /** The file's data, size and name are durable. */
  private durable(m: ModelInode): void {
    m.settle();
    for (const [name, x] of this.names) {
      if (x === m) {
        this.candidates.set(name, new Set([m]));
        m.required = true;
      }
    }
  }

  private syncAll(): void {
    for (const m of this.inodes) m.settle();
    for (const name of this.candidates.keys()) this.candidates.set(name, new Set([this.names.get(name) ?? null]));
    for (const m of this.names.values()) m.required = true;
  }

  private unlinkBegin(x: ModelInode): void {
    x.linked = false;
    x.required = false;
    if (x.handles === 0) this.inodes.delete(x);
  }

  /** An unlink returned: files still open are orphans until closed. */
  private unlinkEnd(): void {
    for (const m of this.inodes) if (!m.linked && m.handles > 0) this.orphans.add(m);
  }
}
