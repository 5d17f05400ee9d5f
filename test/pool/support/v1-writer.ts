import { crc32c } from '../../../lib/pool/crc32c';

// Pools of format version 1 for the upgrade tests, written from the layout that version documented (the
// docs/format.md of pmemdax before format 2), independently of lib/pool/v1: superblocks with the
// checkpoint's runs at offset 512, the checkpoint image (header, inodes, shared blocks, bitmap), CRC-32C
// everywhere, and journal records of the checkpoint's epoch.

const BLOCK = 4096;
const SB_MAGIC = 'PMEMDAXP';
const CKPT_MAGIC = 0x54504b43;
const JREC_MAGIC = 0x4345524a;
const RUNS_AT = 512;
const UNWRITTEN = 1;

export interface V1Extent {
  readonly page: number;
  readonly count: number;
  readonly block: number;
  readonly unwritten?: boolean;
}

interface V1Inode {
  readonly ino: number;
  name: string | null;
  size: number;
  mtimeMs: number;
  readonly ctimeMs: number;
  extents: V1Extent[];
}

/** A journal operation (the same codes in both format versions). */
export type V1Op =
  | { readonly op: 'create'; readonly ino: number; readonly ctimeMs: number; readonly name: string }
  | { readonly op: 'name'; readonly ino: number; readonly name: string | null }
  | { readonly op: 'drop'; readonly ino: number }
  | { readonly op: 'attr'; readonly ino: number; readonly size: number; readonly mtimeMs: number }
  | { readonly op: 'map'; readonly ino: number; readonly page: number; readonly count: number; readonly block: number; readonly unwritten?: boolean }
  | { readonly op: 'alloc' | 'free'; readonly block: number; readonly count: number }
  | { readonly op: 'ref'; readonly block: number; readonly refs: number };

class Writer {
  readonly view: DataView;
  pos = 0;

  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  u8(v: number): void {
    this.view.setUint8(this.pos, v);
    this.pos += 1;
  }

  u16(v: number): void {
    this.view.setUint16(this.pos, v, true);
    this.pos += 2;
  }

  u32(v: number): void {
    this.view.setUint32(this.pos, v >>> 0, true);
    this.pos += 4;
  }

  u64(v: number): void {
    this.u32(v % 2 ** 32);
    this.u32(Math.floor(v / 2 ** 32));
  }

  raw(v: Uint8Array): void {
    this.bytes.set(v, this.pos);
    this.pos += v.length;
  }

  name(name: string | null): void {
    const bytes = new TextEncoder().encode(name ?? '');
    this.u16(bytes.length);
    this.raw(bytes);
  }
}

/**
 * V1PoolWriter -- a version-1 pool in memory: files are added to what its checkpoint will hold, then
 * `checkpoint()` writes the image (in two runs: a block at the start of the data area and the rest after
 * the files) and both superblocks; records appended after it (`journal`, `journalFile`) are replayed on
 * top by a load. Blocks are handed out in order, never reused.
 */
export class V1PoolWriter {
  readonly blocks: number;
  readonly journalBlocks: number;
  readonly image: Uint8Array;
  readonly epoch = 5;
  readonly seq = 7;
  dirty = false;
  readonly #inodes = new Map<number, V1Inode>();
  readonly #shared = new Map<number, number>();
  readonly #bitmap: Uint32Array;
  #nextIno = 1;
  #cursor: number;
  /** The block kept for the checkpoint's first run. */
  readonly #ckptFirst: number;
  #journalTail = 0;
  #journalSeq = 0;
  #written = false;

  constructor(size: number, journalBlocks = 16) {
    this.blocks = Math.floor(size / BLOCK);
    this.journalBlocks = journalBlocks;
    this.image = new Uint8Array(this.blocks * BLOCK);
    this.#bitmap = new Uint32Array(Math.ceil(this.blocks / 32));
    this.setUsed(0, 1 + journalBlocks, true);
    this.setUsed(this.blocks - 1, 1, true);
    this.#cursor = 1 + journalBlocks;
    this.#ckptFirst = this.take(1);
  }

  get dataEnd(): number {
    return this.blocks - 1;
  }

  /** Blocks not yet handed out. */
  get freeBlocks(): number {
    return this.dataEnd - this.#cursor;
  }

  setUsed(b: number, n: number, on: boolean): void {
    for (let i = b; i < b + n; i++) {
      const w = i >>> 5;
      this.#bitmap[w] = on ? (this.#bitmap[w] as number) | (1 << (i & 31)) : (this.#bitmap[w] as number) & ~(1 << (i & 31));
    }
  }

  /** `n` blocks, contiguous, marked used. */
  take(n: number): number {
    if (this.#cursor + n > this.dataEnd) throw new Error(`v1 writer: no room for ${n} blocks`);
    const b = this.#cursor;
    this.#cursor += n;
    this.setUsed(b, n, true);
    return b;
  }

  /**
   * The extents of `bytes` written into new blocks, in `pieces` extents whose blocks run backwards (so
   * that no two merge), their bytes written.
   */
  #place(bytes: Uint8Array, pieces: number, unwritten: boolean): V1Extent[] {
    const pages = Math.ceil(bytes.length / BLOCK);
    if (pages === 0) return [];
    const first = this.take(pages);
    const per = Math.ceil(pages / pieces);
    const extents: V1Extent[] = [];
    for (let page = 0; page < pages; page += per) {
      const count = Math.min(per, pages - page);
      extents.push({ page, count, block: first + pages - page - count, unwritten });
    }
    for (const e of extents) this.image.set(bytes.subarray(e.page * BLOCK, (e.page + e.count) * BLOCK), e.block * BLOCK);
    return extents;
  }

  /** A file of the checkpoint: `bytes` in `pieces` extents (unwritten: fallocated, reading as zeros). */
  addFile(name: string | null, bytes: Uint8Array, opts: { pieces?: number; unwritten?: boolean } = {}): number {
    const ino = this.#nextIno++;
    const extents = this.#place(bytes, opts.pieces ?? 1, opts.unwritten === true);
    this.#inodes.set(ino, { ino, name, size: bytes.length, mtimeMs: 1_700_000_000_000 + ino, ctimeMs: 1_600_000_000_000 + ino, extents });
    return ino;
  }

  /** A file of the checkpoint mapping every block of `source` (a clone): the blocks are shared. */
  addClone(name: string, source: number): number {
    const src = this.#inodes.get(source);
    if (src === undefined) throw new Error(`v1 writer: no inode ${source}`);
    const ino = this.#nextIno++;
    for (const e of src.extents) for (let b = e.block; b < e.block + e.count; b++) this.#shared.set(b, (this.#shared.get(b) ?? 1) + 1);
    this.#inodes.set(ino, { ino, name, size: src.size, mtimeMs: src.mtimeMs, ctimeMs: src.ctimeMs, extents: src.extents.map((e) => ({ ...e })) });
    return ino;
  }

  /** Write the checkpoint image and both superblocks. */
  checkpoint(): void {
    if (this.#written) throw new Error('v1 writer: the checkpoint is written once');
    this.#written = true;
    const bitmapBytes = this.#bitmap.byteLength;
    let length = 64 + bitmapBytes + this.#shared.size * 8;
    for (const i of this.#inodes.values()) length += 36 + new TextEncoder().encode(i.name ?? '').length + 16 * i.extents.length;
    const blocks = Math.ceil(length / BLOCK);
    const runs = blocks === 1 ? [this.#ckptFirst, 1] : [this.#ckptFirst, 1, this.take(blocks - 1), blocks - 1];
    const w = new Writer(new Uint8Array(length));
    w.u32(CKPT_MAGIC);
    w.u32(1);
    w.u64(this.epoch);
    w.u32(this.#inodes.size);
    w.u32(this.#shared.size);
    w.u32(this.#nextIno);
    w.u32(bitmapBytes);
    w.u64(length);
    w.pos = 64;
    for (const i of this.#inodes.values()) {
      const name = new TextEncoder().encode(i.name ?? '');
      w.u32(i.ino);
      w.u16(name.length);
      w.u16(0);
      w.u64(i.size);
      w.u64(i.mtimeMs);
      w.u64(i.ctimeMs);
      w.u32(i.extents.length);
      w.raw(name);
      for (const e of i.extents) {
        w.u32(e.page);
        w.u32(e.count);
        w.u32(e.block);
        w.u32(e.unwritten === true ? UNWRITTEN : 0);
      }
    }
    for (const [b, refs] of this.#shared) {
      w.u32(b);
      w.u32(refs);
    }
    w.raw(new Uint8Array(this.#bitmap.buffer));
    let at = 0;
    for (let r = 0; r < runs.length; r += 2) {
      const n = Math.min(length - at, (runs[r + 1] as number) * BLOCK);
      this.image.set(w.bytes.subarray(at, at + n), (runs[r] as number) * BLOCK);
      at += n;
    }
    const sb = this.#superblock(runs, length, crc32c(w.bytes));
    this.image.set(sb, 0);
    this.image.set(sb, (this.blocks - 1) * BLOCK);
  }

  #superblock(runs: readonly number[], ckptBytes: number, ckptCrc: number): Uint8Array {
    const w = new Writer(new Uint8Array(BLOCK));
    w.raw(new TextEncoder().encode(SB_MAGIC));
    w.u32(1);
    w.u32(BLOCK);
    w.raw(new Uint8Array(16).map((_, i) => i * 17 + 3));
    w.u32(this.blocks);
    w.u32(1);
    w.u32(this.journalBlocks);
    w.u32(this.seq);
    w.u64(this.epoch);
    w.u32(runs.length / 2);
    w.u32(runs.filter((_, i) => i % 2 === 1).reduce((a, n) => a + n, 0));
    w.u64(ckptBytes);
    w.u32(ckptCrc);
    w.u32(this.dirty ? 1 : 0);
    w.u64(0);
    w.name('v1-test');
    w.pos = RUNS_AT;
    for (const v of runs) w.u32(v);
    w.view.setUint32(BLOCK - 4, crc32c(w.bytes, 0, BLOCK - 4), true);
    return w.bytes;
  }

  /** Append a journal record of the checkpoint's epoch holding `ops`. */
  journal(ops: readonly V1Op[]): void {
    if (!this.#written) throw new Error('v1 writer: records follow the checkpoint');
    const w = new Writer(new Uint8Array(BLOCK));
    w.pos = 32;
    for (const o of ops) encodeOp(w, o);
    const end = w.pos;
    const padded = Math.ceil(end / 64) * 64;
    w.pos = 0;
    w.u32(JREC_MAGIC);
    w.u32(0);
    w.u64(this.epoch);
    w.u64(this.#journalSeq++);
    w.u32(end - 32);
    w.u32(ops.length);
    w.view.setUint32(4, crc32c(w.bytes, 8, end), true);
    if (this.#journalTail + padded > this.journalBlocks * BLOCK) throw new Error('v1 writer: the journal is full');
    this.image.set(w.bytes.subarray(0, padded), BLOCK + this.#journalTail);
    this.#journalTail += padded;
  }

  /** A file created by a journal record (create, map, attr, alloc), its bytes written into new blocks. */
  journalFile(name: string, bytes: Uint8Array): number {
    const ino = this.#nextIno++;
    const extents = this.#place(bytes, 1, false);
    this.journal([
      { op: 'create', ino, ctimeMs: 1_650_000_000_000, name },
      ...extents.map((e) => ({ op: 'map' as const, ino, page: e.page, count: e.count, block: e.block })),
      { op: 'attr', ino, size: bytes.length, mtimeMs: 1_650_000_000_001 },
      ...extents.map((e) => ({ op: 'alloc' as const, block: e.block, count: e.count })),
    ]);
    return ino;
  }

  /** A file of the checkpoint removed by a journal record (drop, free): its blocks must be its own. */
  journalRemove(ino: number): void {
    const inode = this.#inodes.get(ino);
    if (inode === undefined) throw new Error(`v1 writer: no inode ${ino}`);
    this.journal([{ op: 'drop', ino }, ...inode.extents.map((e) => ({ op: 'free' as const, block: e.block, count: e.count }))]);
  }
}

function encodeOp(w: Writer, o: V1Op): void {
  switch (o.op) {
    case 'create':
      w.u8(1);
      w.u32(o.ino);
      w.u64(o.ctimeMs);
      w.name(o.name);
      break;
    case 'name':
      w.u8(2);
      w.u32(o.ino);
      w.name(o.name);
      break;
    case 'drop':
      w.u8(3);
      w.u32(o.ino);
      break;
    case 'attr':
      w.u8(4);
      w.u32(o.ino);
      w.u64(o.size);
      w.u64(o.mtimeMs);
      break;
    case 'map':
      w.u8(5);
      w.u32(o.ino);
      w.u32(o.page);
      w.u32(o.count);
      w.u32(o.block);
      w.u8(o.unwritten === true ? UNWRITTEN : 0);
      break;
    case 'alloc':
    case 'free':
      w.u8(o.op === 'alloc' ? 6 : 7);
      w.u32(o.block);
      w.u32(o.count);
      break;
    case 'ref':
      w.u8(8);
      w.u32(o.block);
      w.u32(o.refs);
      break;
  }
}
