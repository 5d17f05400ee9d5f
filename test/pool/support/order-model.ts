/**
 * The model of ordering-model.test.ts: each file's content after its calls in the documented order
 * (async calls of a file in call order, sync calls at once), the log of those calls with what was
 * acknowledged, and from that log what a crash may leave of a file.
 */

/**
 * One change to a file, in the order the model applies it: an append is a write at its offset, a
 * fallocate zeros a range (punch-hole, zero-range) or grows the file (allocate, zero-range).
 */
export interface Effect {
  readonly seq: number;
  readonly file: number;
  readonly kind: 'write' | 'truncate' | 'zero';
  /** The write's or zeroed range's offset, or the truncate's size. */
  readonly pos: number;
  /** The bytes of a write, or the length of a zeroed range. */
  readonly data: Uint8Array | null;
  readonly length: number;
  /** The file is at least `pos + length` long after it (a write, a fallocate that grows the file). */
  readonly grows: boolean;
  readonly async: boolean;
  /** Made through a handle opened `{ sync: true }`: durable once acknowledged. */
  readonly syncHandle: boolean;
  readonly calledAt: number;
  /** The clock when it was acknowledged (resolved, or returned) before any crash; -1 until then. */
  ackedAt: number;
}

/** A call that makes earlier acknowledged calls durable: fsync/fsyncSync of a file, or pool.sync (file null). */
export interface SyncPoint {
  readonly seq: number;
  readonly file: number | null;
  readonly async: boolean;
  readonly calledAt: number;
  ackedAt: number;
}

/** Files in the model never grow past this (the test keeps its calls inside it). */
export const MAX_FILE = 40 * 1024;

export class OrderModel {
  readonly content: Uint8Array[];
  readonly sizes: number[];
  readonly effects: Effect[] = [];
  readonly syncs: SyncPoint[] = [];
  /** Counts calls and acknowledgements: what happened before what. */
  clock = 0;
  #seq = 0;
  /** What the last write replaced, for `retract`. */
  #undo: { old: Uint8Array; size: number } | null = null;

  constructor(files: number) {
    this.content = Array.from({ length: files }, () => new Uint8Array(MAX_FILE));
    this.sizes = new Array<number>(files).fill(0);
  }

  tick(): number {
    return ++this.clock;
  }

  /** Apply a write now (in model order); returns its effect. */
  write(file: number, pos: number, data: Uint8Array, async: boolean, syncHandle: boolean): Effect {
    const c = this.content[file] as Uint8Array;
    this.#undo = { old: c.slice(pos, pos + data.length), size: this.sizes[file] as number };
    c.set(data, pos);
    this.sizes[file] = Math.max(this.sizes[file] ?? 0, pos + data.length);
    return this.#log({ file, kind: 'write', pos, data, length: data.length, grows: true, async, syncHandle });
  }

  /**
   * Take back the last write: a sync call is logged before it runs (a drain inside it may show its
   * bytes in a crash image), and one refused with EAGAIN changed nothing.
   */
  retract(e: Effect): void {
    if (this.effects.at(-1) !== e || this.#undo === null) throw new Error('only the last write can be retracted');
    this.effects.pop();
    this.content[e.file]?.set(this.#undo.old, e.pos);
    this.sizes[e.file] = this.#undo.size;
    this.#undo = null;
  }

  truncate(file: number, size: number): Effect {
    const c = this.content[file] as Uint8Array;
    c.fill(0, Math.min(size, MAX_FILE));
    this.sizes[file] = size;
    return this.#log({ file, kind: 'truncate', pos: size, data: null, length: 0, grows: false, async: true, syncHandle: false });
  }

  /** Zero `[pos, pos+length)`, and with `grows` make the file at least that long (fallocate). */
  zero(file: number, pos: number, length: number, grows: boolean): Effect {
    (this.content[file] as Uint8Array).fill(0, pos, pos + length);
    if (grows) this.sizes[file] = Math.max(this.sizes[file] as number, pos + length);
    return this.#log({ file, kind: 'zero', pos, data: null, length, grows, async: true, syncHandle: false });
  }

  syncPoint(file: number | null, async: boolean): SyncPoint {
    const sp: SyncPoint = { seq: this.#seq++, file, async, calledAt: this.tick(), ackedAt: -1 };
    this.syncs.push(sp);
    return sp;
  }

  #log(e: Omit<Effect, 'seq' | 'calledAt' | 'ackedAt'>): Effect {
    const effect: Effect = { ...e, seq: this.#seq++, calledAt: this.tick(), ackedAt: -1 };
    this.effects.push(effect);
    return effect;
  }

  /**
   * Acknowledged durable now: a truncate (durable on return), a call through a `{ sync: true }`
   * handle, or a call acknowledged before an acknowledged fsync of its file or pool.sync was made
   * (or, for an async call, queued before that file's async fsync, which waits for it).
   */
  durable(e: Effect): boolean {
    if (e.ackedAt < 0) return false;
    if (e.kind !== 'write' || e.syncHandle) return true;
    return this.syncs.some(
      (sp) => sp.ackedAt >= 0 && (sp.file === null || sp.file === e.file) && (e.ackedAt < sp.calledAt || (sp.async && e.async && e.file === sp.file && e.seq < sp.seq)),
    );
  }

  /**
   * Why a file that came back from a crash `size` bytes long holding `bytes` cannot be what the
   * calls logged so far may leave, or null when it can be. Per byte, its value after the last
   * durable change, or any value an unacknowledged change after that put there; the size at least
   * what durable changes left (unless a later truncate may have cut it), at most the largest size
   * the file had since the last durable truncate.
   */
  crashProblem(file: number, size: number, bytes: Uint8Array): string | null {
    const log = this.effects.filter((e) => e.file === file);
    const durable = log.map((e) => this.durable(e));
    let lastTrunc = -1;
    log.forEach((e, i) => {
      if (e.kind === 'truncate' && durable[i]) lastTrunc = i;
    });
    let upper = lastTrunc < 0 ? 0 : log[lastTrunc]?.pos ?? 0;
    let s = upper;
    for (let i = lastTrunc + 1; i < log.length; i++) {
      const e = log[i] as Effect;
      if (e.kind === 'truncate') s = e.pos;
      else if (e.grows) s = Math.max(s, e.pos + e.length);
      upper = Math.max(upper, s);
    }
    let lower = 0;
    log.forEach((e, i) => {
      if (!durable[i] || (e.kind !== 'truncate' && !e.grows)) return;
      const end = e.kind === 'truncate' ? e.pos : e.pos + e.length;
      if (!log.slice(i + 1).some((later) => later.kind === 'truncate' && later.pos < end)) lower = Math.max(lower, end);
    });
    if (size < lower || size > upper) return `size ${size}, expected within [${lower}, ${upper}]`;
    const fixed = new Uint8Array(MAX_FILE);
    const alt = new Map<number, Set<number>>();
    const add = (b: number, v: number): void => {
      if (v === fixed[b]) return;
      let set = alt.get(b);
      if (set === undefined) alt.set(b, (set = new Set()));
      set.add(v);
    };
    log.forEach((e, i) => {
      if (e.kind === 'write') {
        const data = e.data as Uint8Array;
        if (durable[i]) {
          fixed.set(data, e.pos);
          for (let b = e.pos; b < e.pos + data.length; b++) alt.delete(b);
        } else {
          for (let b = 0; b < data.length; b++) add(e.pos + b, data[b] as number);
        }
      } else {
        // A truncate zeros everything from its size on (what a later extension exposes).
        const end = e.kind === 'truncate' ? MAX_FILE : e.pos + e.length;
        if (durable[i]) {
          fixed.fill(0, e.pos, end);
          for (const b of [...alt.keys()]) if (b >= e.pos && b < end) alt.delete(b);
        } else {
          for (let b = e.pos; b < end; b++) add(b, 0);
        }
      }
    });
    for (let b = 0; b < size; b++) {
      const v = bytes[b] as number;
      if (v !== fixed[b] && !(alt.get(b)?.has(v) ?? false)) {
        return `byte ${b} is ${v}: durable value ${fixed[b] ?? 0}, others possible ${JSON.stringify([...(alt.get(b) ?? [])])}`;
      }
    }
    return null;
  }
}
