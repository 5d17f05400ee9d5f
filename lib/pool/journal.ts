import type { DaxDevice } from '../device/types';
import { native } from '../native';
import { Codec } from './codec';
import { crc32c } from './crc32c';
import { BLOCK, type Superblock } from './layout';
import { readMeta } from './meta-io';
import { BadRecord, applyOps, bornAndGone, encodePending, inodesOf, type Passing } from './records';
import type { PoolState } from './state';
import { corrupt } from './errors';
import { JournalTouches } from './journal-touches';
import { RecordList } from './record-list';

const MAGIC = 0x4345524a; // "JREC"
const HEADER = 32;
const ALIGN = 64;
/** Records a call to `journalScan` reports at most. */
const SCAN_BATCH = 256;

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
    this.#forget();
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

  /**
   * Apply this epoch's records to `s`, in order, and leave `tail`/`seq` after the last (`live`: as for `more`);
   * `keep`: find them and keep them for a reader, as `follow` does.
   */
  replay(s: PoolState, live = false, keep = false): ReplayResult {
    this.tail = 0;
    this.seq = 0;
    return keep ? this.follow(s, live) : this.more(s, live);
  }

  /**
   * Apply the records of this epoch written after `tail`. `live`: a writer may be
   * writing the next record now, so a record that does not check out ends the reading, as a torn one does,
   * whatever follows it. `passing`: the records are a step of a reader's state from one commit to a later
   * one, so a file both made and removed by them, which no state the reader can see holds, is not made at
   * all (its operations are skipped: a writer making and removing files would have every reader build and
   * drop each of them). Records a reader found before (`follow`) and has not applied are applied first.
   */
  more(s: PoolState, live = false, passing = false): ReplayResult {
    const { records, torn, failure } = this.#gather(s.path, live, passing);
    this.#settle(s, passing);
    // A record that could not be read is reported once those before it are applied, as a replay record by record would.
    if (failure !== null) throw failure;
    return { records, torn };
  }

  /**
   * A reader's refresh: the records written after those it has (its head), found and checked as `more` finds
   * them, and kept (with their bytes) but not applied: `settle` applies them, when a call needs what they
   * change (`touches`). A record that cannot be read is thrown once those before it are kept.
   */
  follow(s: PoolState, live: boolean): ReplayResult {
    const { records, torn, failure } = this.#gather(s.path, live, true);
    if (failure !== null) throw failure;
    return { records, torn };
  }

  /** Apply the records `follow` kept (a reader's step from the commit its state is at to its head). */
  settle(s: PoolState): void {
    if (this.#backlog.length > 0) this.#settle(s, true);
  }

  /** Records found and not applied (`follow`). */
  get behind(): number {
    return this.#backlog.length / 2;
  }

  /** The number of the next record after those found: the commit a reader stands at once it applies them. */
  get headSeq(): number {
    return this.seq + this.#backlog.length / 2;
  }

  /**
   * What the records found and not applied change, indexed when first asked (a reader that refreshes and asks
   * nothing in between indexes nothing).
   */
  get touches(): JournalTouches {
    const found = this.#backlog;
    if (this.#indexed < found.length) {
      const area = this.#area as AreaReader;
      this.#touches.add(area.bytes, area.base, this.#start(this.#indexed), found, this.#indexed);
      this.#indexed = found.length;
    }
    return this.#touches;
  }

  readonly #touches = new JournalTouches();
  /** Cells of the backlog `#touches` has taken in. */
  #indexed = 0;

  /** The backlog is applied or dropped: nothing is left to index. */
  #forget(): void {
    this.#backlog.length = 0;
    this.#indexed = 0;
    this.#touches.clear();
  }

  /**
   * A reader's new snapshot takes over from this one (whose records found and not applied are dropped: files
   * left open on this state read inodes they do not change): the buffer holding them goes to `next`, whose
   * refreshes would grow one as large, its pages already in memory.
   */
  handOver(next: Journal): void {
    const bytes = this.#area?.bytes ?? this.#spare;
    this.#area = null;
    this.#spare = null;
    this.#forget();
    if (this.#backlog.capacity > next.#backlog.capacity) {
      this.#backlog.copyFrom(next.#backlog);
      [this.#backlog, next.#backlog] = [next.#backlog, this.#backlog];
      // This journal keeps nothing: the list it was given back holds the next one's records.
      this.#backlog.length = 0;
    }
    if (bytes === null || bytes.length > next.size) return;
    // The next snapshot's load read its records already: into its own buffer, moved to this one if smaller.
    if (next.#area === null) next.#spare = bytes;
    else next.#area.adopt(bytes);
  }

  /** A buffer an earlier snapshot's journal handed over, for the first reading. */
  #spare: Uint8Array<ArrayBuffer> | null = null;

  /** Where the record after those found starts. */
  #head(): number {
    return this.#start(this.#backlog.length);
  }

  /** Where the backlog's record whose pair starts at cell `k` starts: `tail`, or the cache line after the one before. */
  #start(k: number): number {
    return k === 0 ? this.tail : Math.ceil((this.#backlog.cells[k - 2] as number) / ALIGN) * ALIGN;
  }

  /**
   * The whole records after the head, into the backlog (`#find`), read into the journal's buffer after the
   * backlog's bytes (kept: a writer's checkpoint may write the journal over once the epoch moves on).
   */
  #gather(path: string, live: boolean, passing: boolean): { records: number; torn: boolean; failure: Error | null } {
    const area = this.#area ?? new AreaReader(this.device, path, this.offset, this.size, this.#spare ?? undefined);
    this.#spare = null;
    area.follows = passing;
    // Read again from the head: what an earlier reading saw past it may have been a record being written.
    if (this.#backlog.length === 0) area.restart(this.tail, passing);
    else area.keepTo(this.#head());
    this.#area = area;
    const before = this.#backlog.length;
    const { torn, failure } = this.#find(path, area, live, before);
    return { records: (this.#backlog.length - before) / 2, torn, failure };
  }

  /** Apply the backlog, `passing` as for `more`; the journal's buffer is kept for a reader's next refresh. */
  #settle(s: PoolState, passing: boolean): void {
    const found = this.#backlog;
    const ends = found.cells;
    const area = this.#area as AreaReader;
    // The record being applied (its index in `ends`), -1 before the first.
    let k = -1;
    try {
      const skip = passing ? this.#passing(s, area) : null;
      for (k = 0; k < found.length; k += 2) this.#apply(s, area, ends[k] as number, ends[k + 1] as number, skip);
    } catch (e) {
      // The state is part way from one commit to the next (and short of files whose removal it did not reach):
      // a reader's next refresh takes a new snapshot instead of following the journal, and files open on the
      // inodes of the record applied in part refuse to answer from them.
      if (passing) {
        this.outOfStep = true;
        if (k >= 0 && k < found.length) this.#tear(s, area, ends[k] as number, ends[k + 1] as number, e as Error);
      }
      throw e;
    } finally {
      this.#forget();
      // Kept for a reader's next refresh (at most the journal's size, as its backlog); a load's reading goes.
      this.#area = passing ? area : null;
    }
    s.refreshKeep();
  }

  /**
   * The inodes the records found both make and remove, for `applyOps` to skip in a reader's step (settle),
   * or null when there are none.
   */
  #passing(s: PoolState, area: AreaReader): Passing | null {
    const found = this.#backlog;
    const ends = found.cells;
    const born = new Map<number, boolean>();
    const gone = new Set<number>();
    let at = this.tail;
    for (let k = 0; k < found.length; k += 2) {
      const r = area.codec(ends[k] as number);
      r.pos = at + HEADER - area.base;
      bornAndGone(r, ends[k + 1] as number, s.nextIno, born, gone);
      at = Math.ceil((ends[k] as number) / ALIGN) * ALIGN;
    }
    if (gone.size === 0) return null;
    const skip: Passing = new Map();
    for (const ino of gone) skip.set(ino, 0);
    return skip;
  }

  /**
   * The whole records after the head, onto the backlog (for each, where its operations end and their count),
   * without applying them; `torn` when the last ended the reading, `failure` what ended it otherwise: a bad
   * record that valid ones follow (when no writer can be writing), or an error reading the journal after
   * some records were found (with none, it is thrown). The backlog held `before` entries before.
   */
  #find(path: string, area: AreaReader, live: boolean, before: number): { torn: boolean; failure: Error | null } {
    const found = this.#backlog;
    const scan = (this.#scan ??= new Float64Array(2 * SCAN_BATCH));
    let at = this.#head();
    let seq = this.headSeq;
    // An epoch past 2^53 (damage a checkpoint's checks let through) is left to the records' reading in JavaScript.
    const fast = Number.isSafeInteger(this.epoch) ? native.journalScan : undefined;
    try {
      while (at + HEADER <= this.size) {
        // The records wholly read so far, checked natively in one call; the one after them below, one at a time.
        const n = fast?.(area.bytes, at - area.base, area.loaded, this.epoch, seq, scan) ?? 0;
        for (let k = 0; k < n; k++) {
          const end = area.base + (scan[2 * k] as number);
          found.push(end, scan[2 * k + 1] as number);
          at = Math.ceil(end / ALIGN) * ALIGN;
          seq++;
        }
        if (n === SCAN_BATCH) continue;
        const kind = this.recordAt(area, at, seq);
        if (kind === Found.ABSENT) break;
        const end = this.#end;
        if (kind === Found.BAD) {
          // Records are persisted one at a time, so only the last can be torn: a valid successor means this one
          // was damaged after it was written. With a writer live, this one may have been read while it was being
          // written and its successor after: it is read again, whole, before it is called damaged.
          const damaged =
            end <= this.size &&
            this.recordAt(area, Math.ceil(end / ALIGN) * ALIGN, seq + 1) === Found.OK &&
            (!live || this.recordAt(this.#again(path, at), at, seq) === Found.BAD);
          if (damaged) return { torn: true, failure: corrupt(path, `journal record ${seq}`, this.offset + at, 'checksum mismatch (later records are intact)') };
          return { torn: true, failure: null };
        }
        found.push(end, this.#count);
        at = Math.ceil(end / ALIGN) * ALIGN;
        seq++;
      }
    } catch (e) {
      if (found.length === before) throw e;
      return { torn: false, failure: e as Error };
    }
    return { torn: false, failure: null };
  }

  /** The journal read afresh from `at` on (a record looked at again, apart from the buffer of the reading under way). */
  #again(path: string, at: number): AreaReader {
    const area = new AreaReader(this.device, path, this.offset, this.size);
    area.restart(at, true);
    return area;
  }

  /** The record at `tail` was applied in part: the inodes its operations name are torn in `s`. */
  #tear(s: PoolState, area: AreaReader, end: number, count: number, cause: Error): void {
    const torn = s.torn ?? { inodes: new Set<number>(), cause };
    s.torn = torn;
    const r = area.codec(end);
    r.pos = this.tail + HEADER - area.base;
    inodesOf(r, count, torn.inodes);
  }

  /** Apply the record at `tail`, whose `count` operations end at `end`, and step past it. */
  #apply(s: PoolState, area: AreaReader, end: number, count: number, skip: Passing | null): void {
    const r = area.codec(end);
    r.pos = this.tail + HEADER - area.base;
    try {
      applyOps(s, r, count, skip);
    } catch (e) {
      if (!(e instanceof BadRecord || e instanceof RangeError)) throw e;
      throw corrupt(s.path, `journal record ${this.seq}`, this.offset + this.tail, e.message);
    }
    this.tail = Math.ceil(end / ALIGN) * ALIGN;
    this.seq++;
  }

  /** Where the operations of the record `recordAt` looked at last end, and how many it holds. */
  #end = 0;
  #count = 0;
  /** The journal as read for `more`, kept with its buffer from one refresh to the next. */
  #area: AreaReader | null = null;
  /** Where `journalScan` reports the records it found. */
  #scan: Float64Array | null = null;
  /**
   * The records found and not applied yet, from `tail` on (a reader's backlog between `follow` and `settle`,
   * else only within `more`): where the operations of each end, and their count.
   */
  #backlog = new RecordList();
  /**
   * Applying a reader's records failed part way (settle): its state is between two commits,
   * so it must take a new snapshot rather than follow the journal from here.
   */
  outOfStep = false;

  /**
   * The record at `at`, expected to be number `seq` of this epoch: ABSENT when no record of this epoch
   * starts there, BAD when one does but its number, length or checksum is wrong, else OK. Where its
   * operations end, as its header says, and their count are left in `#end` and `#count`.
   */
  private recordAt(area: AreaReader, at: number, seq: number): Found {
    this.#end = at;
    this.#count = 0;
    if (at + HEADER > this.size) return Found.ABSENT;
    const r = area.codec(at + HEADER);
    r.pos = at - area.base;
    const magic = r.u32();
    const crc = r.u32();
    const epoch = r.u64();
    const recSeq = r.u64();
    const end = at + HEADER + r.u32();
    this.#end = end;
    this.#count = r.u32();
    if (magic !== MAGIC || epoch !== this.epoch) return Found.ABSENT;
    const whole = recSeq === seq && end <= this.size && crc === crc32c(area.upTo(end), at + 8 - area.base, end - area.base);
    return whole ? Found.OK : Found.BAD;
  }
}

/** What `recordAt` found. */
const enum Found {
  ABSENT,
  BAD,
  OK,
}

/**
 * The journal area from `base` on, read on demand in growing pieces into a buffer kept across readings
 * (`restart`): opening a pool with a short journal reads little of it, and a reader's refreshes allocate
 * nothing once the buffer holds what one brings. Byte i of what `upTo` returns is byte `base + i` of the area.
 */
class AreaReader {
  /** The buffer: its first `loaded` bytes are the area's from `base` on. */
  bytes = new Uint8Array(0);
  loaded = 0;
  private readonly device: DaxDevice;
  private readonly path: string;
  private readonly offset: number;
  private readonly size: number;
  private r = new Codec(this.bytes);
  base = 0;

  constructor(device: DaxDevice, path: string, offset: number, size: number, bytes?: Uint8Array<ArrayBuffer>) {
    this.device = device;
    this.path = path;
    this.offset = offset;
    this.size = size;
    if (bytes !== undefined) {
      this.bytes = bytes;
      this.r = new Codec(bytes);
    }
  }

  /**
   * Read from `base` on afresh, forgetting what was read. `lenient`: a read ahead of what is asked that fails
   * is made again as far as asked (a reader's, past whose records the journal may be poisoned; a writer's
   * open reports poison anywhere it reads, before it appends records there).
   */
  restart(base: number, lenient: boolean): void {
    this.base = base;
    this.loaded = 0;
    this.#kept = 0;
    this.#lenient = lenient;
  }

  /** Read into `bytes` from now on, those read so far copied there, when it is the larger buffer. */
  adopt(bytes: Uint8Array<ArrayBuffer>): void {
    if (bytes.length <= this.bytes.length) return;
    bytes.set(this.bytes.subarray(0, this.loaded));
    this.bytes = bytes;
    this.r = new Codec(bytes);
  }

  /** Keep the bytes before `at` (records found and checked), forget what was read past it. */
  keepTo(at: number): void {
    this.loaded = Math.min(this.loaded, at - this.base);
    this.#kept = this.loaded;
  }

  #lenient = false;
  /** The journal's reading for a reader, which keeps what its refreshes find (not a record read again apart). */
  follows = false;
  /** Bytes kept from an earlier reading (`keepTo`): a reading ahead grows with what it adds to them, not with them. */
  #kept = 0;

  /** Bytes `[base, end)` of the area (clipped to its size) are in the returned buffer. */
  upTo(end: number): Uint8Array {
    const left = this.size - this.base;
    if (end - this.base <= this.loaded || this.loaded === left) return this.bytes;
    // A reader's refresh (base > 0, or bytes kept) reads what was added since, not a first piece sized for an open.
    const refreshing = this.base > 0 || this.#kept > 0;
    const first = refreshing ? 512 : 256 * 1024;
    const want = Math.min(left, Math.max(end - this.base, this.loaded + Math.max(this.loaded - this.#kept, first)));
    if (want > this.bytes.length) {
      // A reader's refreshes may come to hold the whole journal (its backlog): made that large at once, its pages
      // touched only as they fill, rather than grown (each growth a copy, and new pages faulted in again). A
      // load's reading grows: a new snapshot's takes the buffer of the one before over (Journal.handOver).
      const whole = this.follows && refreshing;
      const grown = new Uint8Array(whole ? this.size : Math.min(left, Math.max(want, 2 * this.bytes.length)));
      grown.set(this.bytes.subarray(0, this.loaded));
      this.bytes = grown;
      this.r = new Codec(grown);
    }
    const at = this.offset + this.base;
    try {
      readMeta(this.device, this.path, at + this.loaded, want - this.loaded, 'journal', this.bytes.subarray(this.loaded, want));
      this.loaded = want;
    } catch (e) {
      // What was read ahead of `end` may be what failed (poison past the last record): read only what was asked.
      const need = Math.min(left, end - this.base);
      if (!this.#lenient || need >= want) throw e;
      readMeta(this.device, this.path, at + this.loaded, need - this.loaded, 'journal', this.bytes.subarray(this.loaded, need));
      this.loaded = need;
    }
    return this.bytes;
  }

  /** A reader of the buffer with bytes `[base, end)` in it, bounded at `end` (`Codec.need`). */
  codec(end: number): Codec {
    this.upTo(end);
    const r = this.r;
    r.end = Math.min(end - this.base, this.loaded);
    return r;
  }
}
