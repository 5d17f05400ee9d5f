import type { DaxDevice } from '../device/types';
import { Codec } from './codec';
import { crc32c } from './crc32c';
import { BLOCK, type Superblock } from './layout';
import { readMeta } from './meta-io';
import { BadRecord, applyOps, encodePending } from './records';
import type { PoolState } from './state';
import { corrupt } from './errors';

const MAGIC = 0x4345524a; // "JREC"
const HEADER = 32;
const ALIGN = 64;

/** What a replay found. */
export interface ReplayResult {
  records: number;
  torn: boolean;
}

/**
 * Journal -- the metadata log: records appended in place, each one commit (a header with epoch,
 * sequence number, length and CRC-32C, then the operations), padded to a cache line. A record is
 * written and persisted in one copy; the checksum makes a torn one invalid, and replay stops at the
 * first record that is not the next one of this epoch.
 */
export class Journal {
  tail = 0;
  seq = 0;
  epoch: number;
  readonly offset: number;
  readonly size: number;
  private readonly device: DaxDevice;
  private readonly w = new Codec(new Uint8Array(BLOCK));

  constructor(device: DaxDevice, sb: Superblock) {
    this.device = device;
    this.offset = sb.journalStart * BLOCK;
    this.size = sb.journalBlocks * BLOCK;
    this.epoch = sb.epoch;
  }

  /** A fresh epoch: records of the old one are stale from now on. */
  reset(epoch: number): void {
    this.epoch = epoch;
    this.tail = 0;
    this.seq = 0;
  }

  /**
   * Encode and persist every pending change of `s` as one record. Returns false (writing nothing)
   * when the record does not fit in the space left: the caller checkpoints instead.
   */
  append(s: PoolState): boolean {
    const n = this.encode(s);
    if (n < 0) return false;
    const at = this.tail - n;
    try {
      this.device.copy(this.offset + at, this.w.bytes.subarray(0, n));
    } catch (e) {
      // Nothing may follow a record that is not on the media: the next one takes its place.
      this.tail = at;
      this.seq--;
      throw e;
    }
    return true;
  }

  /**
   * Every pending change of `s` as the next record, its place taken (`tail` and `seq` move past it, so it
   * starts at `tail - n`): returns its length `n`, its bytes `record(n)` until the next encode; -1, taking
   * nothing, when it does not fit in the space left.
   */
  encode(s: PoolState): number {
    const w = this.w;
    w.pos = 0;
    w.ensure(HEADER);
    w.pos = HEADER;
    const count = encodePending(s, w);
    const end = w.pos;
    const padded = Math.ceil(end / ALIGN) * ALIGN;
    if (this.tail + padded > this.size) return -1;
    w.ensure(padded - end);
    w.bytes.fill(0, end, padded);
    w.pos = 0;
    w.putU32(MAGIC);
    w.putU32(0);
    w.putU64(this.epoch);
    w.putU64(this.seq);
    w.putU32(end - HEADER);
    w.putU32(count);
    w.view.setUint32(4, crc32c(w.bytes, 8, end), true);
    this.tail += padded;
    this.seq++;
    return padded;
  }

  /** A copy of the last encoded record, `n` bytes long. */
  record(n: number): Uint8Array {
    return this.w.bytes.slice(0, n);
  }

  /** Apply this epoch's records to `s`, in order, and leave `tail`/`seq` after the last (`live`: as for `more`). */
  replay(s: PoolState, live = false): ReplayResult {
    this.tail = 0;
    this.seq = 0;
    return this.more(s, live);
  }

  /**
   * Apply the records of this epoch written after `tail` (a reader's refresh). `live`: a writer may be
   * writing the next record now, so a record that does not check out ends the reading, as a torn one does,
   * whatever follows it.
   */
  more(s: PoolState, live = false): ReplayResult {
    const area = new AreaReader(this.device, s.path, this.offset, this.size, this.tail);
    let records = 0;
    let torn = false;
    while (this.tail + HEADER <= this.size) {
      const rec = this.recordAt(area, this.tail, this.seq);
      if (rec.kind === 'absent') break;
      if (rec.kind === 'bad') {
        // Records are persisted one at a time, so only the last can be torn: a valid successor
        // means this one was damaged after it was written.
        if (!live && rec.end <= this.size && this.recordAt(area, Math.ceil(rec.end / ALIGN) * ALIGN, this.seq + 1).kind === 'ok') {
          throw corrupt(s.path, `journal record ${this.seq}`, this.offset + this.tail, 'checksum mismatch (later records are intact)');
        }
        torn = true;
        break;
      }
      try {
        applyOps(s, new Codec(area.upTo(rec.end).subarray(0, rec.end - area.base), this.tail + HEADER - area.base), rec.count);
      } catch (e) {
        if (!(e instanceof BadRecord || e instanceof RangeError)) throw e;
        throw corrupt(s.path, `journal record ${this.seq}`, this.offset + this.tail, e.message);
      }
      this.tail = Math.ceil(rec.end / ALIGN) * ALIGN;
      this.seq++;
      records++;
    }
    return { records, torn };
  }

  /**
   * The record at `at`, expected to be number `seq` of this epoch: `absent` when no record of this
   * epoch starts there, `bad` when one does but its number, length or checksum is wrong, else `ok`.
   * `end` is where its operations end, as its header says.
   */
  private recordAt(area: AreaReader, at: number, seq: number): { kind: 'absent' | 'bad' | 'ok'; end: number; count: number } {
    if (at + HEADER > this.size) return { kind: 'absent', end: at, count: 0 };
    const r = new Codec(area.upTo(at + HEADER), at - area.base);
    const magic = r.u32();
    const crc = r.u32();
    const epoch = r.u64();
    const recSeq = r.u64();
    const end = at + HEADER + r.u32();
    const count = r.u32();
    if (magic !== MAGIC || epoch !== this.epoch) return { kind: 'absent', end, count };
    const whole = recSeq === seq && end <= this.size && crc === crc32c(area.upTo(end), at + 8 - area.base, end - area.base);
    return { kind: whole ? 'ok' : 'bad', end, count };
  }
}

/**
 * The journal area from `base` on, read on demand in growing pieces: opening a pool with a short journal
 * reads little of it. Byte i of what `upTo` returns is byte `base + i` of the area.
 */
class AreaReader {
  private bytes = new Uint8Array(0);
  private loaded = 0;
  private readonly device: DaxDevice;
  private readonly path: string;
  private readonly offset: number;
  private readonly size: number;
  readonly base: number;

  constructor(device: DaxDevice, path: string, offset: number, size: number, base = 0) {
    this.device = device;
    this.path = path;
    this.offset = offset + base;
    this.size = size - base;
    this.base = base;
  }

  /** Bytes `[base, end)` of the area (clipped to its size) are in the returned buffer. */
  upTo(end: number): Uint8Array {
    if (end - this.base <= this.loaded || this.loaded === this.size) return this.bytes;
    // A reader's refresh (base > 0) reads what was added since, not a first piece sized for an open.
    const want = Math.min(this.size, Math.max(end - this.base, 2 * this.loaded, this.base > 0 ? 512 : 256 * 1024));
    const grown = new Uint8Array(want);
    grown.set(this.bytes.subarray(0, this.loaded));
    grown.set(readMeta(this.device, this.path, this.offset + this.loaded, want - this.loaded, 'journal'), this.loaded);
    this.bytes = grown;
    this.loaded = want;
    return grown;
  }
}
