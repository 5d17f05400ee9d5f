import { firstBit } from './audit';
import type { Codec } from './codec';
import { ExtentState } from './extent-map';
import { NAME_MAX, NO_BLOCK, dataEnd, dataStart, overlapsBitmapCopies } from './layout';
import { isNameBytes, nameFromBytes } from './names';
import type { PoolState } from './state';

/** Journal operation codes (format.md, "Journal records"). */
const Op = { CREATE: 1, NAME: 2, DROP: 3, ATTR: 4, MAP: 5, ALLOC: 6, FREE: 7, REF: 8 } as const;

const encoder = new TextEncoder();

function putName(w: Codec, name: string | null): void {
  if (name === null) {
    w.ensure(2);
    w.putU16(0);
    return;
  }
  w.ensure(2 + 3 * name.length);
  const n = encoder.encodeInto(name, w.bytes.subarray(w.pos + 2)).written;
  w.putU16(n);
  w.pos += n;
}

/** Every pending change of `s`, as operations; returns how many. */
export function encodePending(s: PoolState, w: Codec): number {
  let count = 0;
  for (const op of s.namespaceOps) {
    w.ensure(1 + 4 + 8);
    if (op.op === 'create') {
      w.putU8(Op.CREATE);
      w.putU32(op.ino);
      w.putU64(op.ctimeMs);
      putName(w, op.name);
    } else if (op.op === 'name') {
      w.putU8(Op.NAME);
      w.putU32(op.ino);
      putName(w, op.name);
    } else {
      w.putU8(Op.DROP);
      w.putU32(op.ino);
    }
    count++;
  }
  for (const inode of s.dirtyInodes) {
    if (!s.inodes.has(inode.ino)) continue;
    if (inode.dirtyHi > inode.dirtyLo) {
      // The dirty range as it is now: each extent in it mapped, each gap between them a hole.
      const putMap = (page: number, n: number, block: number, state: number): void => {
        w.ensure(18);
        w.putU8(Op.MAP);
        w.putU32(inode.ino);
        w.putU32(page);
        w.putU32(n);
        w.putU32(block);
        w.putU8(state & ExtentState.UNWRITTEN);
        count++;
      };
      let at = inode.dirtyLo;
      inode.extents.forEach(inode.dirtyLo, inode.dirtyHi, (page, n, block, state) => {
        if (page > at) putMap(at, page - at, NO_BLOCK, 0);
        putMap(page, n, block, state);
        at = page + n;
      });
      if (at < inode.dirtyHi) putMap(at, inode.dirtyHi - at, NO_BLOCK, 0);
    }
    if (inode.attrDirty || inode.timeDirty) {
      w.ensure(21);
      w.putU8(Op.ATTR);
      w.putU32(inode.ino);
      w.putU64(inode.size);
      w.putU64(inode.mtimeMs);
      count++;
    }
  }
  const a = s.alloc;
  const runs = (code: number, list: readonly number[]): void => {
    for (let i = 0; i < list.length; i += 2) {
      w.ensure(9);
      w.putU8(code);
      w.putU32(list[i] as number);
      w.putU32(list[i + 1] as number);
      count++;
    }
  };
  runs(Op.ALLOC, a.allocRuns);
  runs(Op.FREE, a.freeRuns);
  for (const b of a.refChanged) {
    w.ensure(9);
    w.putU8(Op.REF);
    w.putU32(b);
    w.putU32(a.refs(b));
    count++;
  }
  return count;
}

/** Why a replayed operation cannot apply; the caller names the record. */
export class BadRecord extends Error {}

function inodeOf(s: PoolState, ino: number): NonNullable<ReturnType<PoolState['inodes']['get']>> {
  const inode = s.inodes.get(ino);
  if (inode === undefined) throw new BadRecord(`inode ${ino} does not exist`);
  return inode;
}

function readName(r: Codec): string | null {
  const n = r.u16();
  if (n > NAME_MAX) throw new BadRecord(`name of ${n} bytes`);
  if (n === 0) return null;
  r.need(n);
  const raw = r.raw(n);
  const name = nameFromBytes(Buffer.from(raw.buffer, raw.byteOffset, n));
  if (name === null) throw new BadRecord('name contains NUL or is not UTF-8');
  return name;
}

function checkRun(s: PoolState, b: number, n: number): void {
  if (n < 1 || b < dataStart(s.sb) || b + n > dataEnd(s.sb)) throw new BadRecord(`blocks ${b}+${n} outside the data area`);
  if (overlapsBitmapCopies(s.sb, b, n) || (s.metaBlocks !== null && firstBit(s.metaBlocks, b, n, 1) >= 0)) {
    throw new BadRecord(`blocks ${b}+${n} hold the checkpoint's metadata`);
  }
}

/** Bytes of each operation after its code, a name's bytes not counted (index: the code). */
const OP_BYTES = [0, 4 + 8 + 2, 4 + 2, 4, 4 + 8 + 8, 4 + 4 + 4 + 4 + 1, 4 + 4, 4 + 4, 4 + 4];

/** Step over the rest of an operation whose code and inode were read (a name's bytes too). */
function skipOp(r: Codec, code: number): void {
  r.pos += (OP_BYTES[code] as number) - 4;
  if (code === Op.CREATE || code === Op.NAME) {
    r.pos -= 2;
    const n = r.u16();
    r.need(n);
    r.pos += n;
  }
}

/**
 * The length of the name of the operation at `r` (its length next), or -1 when `readName` would refuse it;
 * moves past it either way.
 */
function nameLength(r: Codec): number {
  const n = r.u16();
  r.need(n);
  const ok = n <= NAME_MAX && (n === 0 || isNameBytes(r.bytes, r.pos, n));
  r.pos += n;
  return ok ? n : -1;
}

/**
 * Inodes the operations of a reader's step make and remove, whose operations `applyOps` skips: each with
 * where the applying has got to in its life (before its create, made, removed), so that an operation out of
 * that order is reported as a fresh open's replay would report it.
 */
export type Passing = Map<number, 0 | 1 | 2>;

/**
 * The inodes `count` operations read from `r` create (into `born`, true: numbers at or above `nextIno`, the
 * state's next before the step, named as a replay accepts), and those of them they drop (into `gone`). An
 * inode made twice, or made with a name a replay refuses, is false in `born` and never in `gone`: applying
 * its operations reports them, or makes what a replay makes (`passOp` checks the rest of a skipped file's
 * operations). A record holds its creates, names and drops first (`encodePending`), so the walk ends at the
 * first other operation: one it missed is only one not skipped. A walk over operations that do not check
 * out stops quietly: applying them reports them.
 */
export function bornAndGone(r: Codec, count: number, nextIno: number, born: Map<number, boolean>, gone: Set<number>): void {
  try {
    for (let k = 0; k < count; k++) {
      const code = nextOp(r, Op.DROP);
      if (code < 0) return;
      const ino = r.u32();
      if (code === Op.DROP) {
        if (born.get(ino) === true) gone.add(ino);
      } else if (code === Op.NAME) {
        skipOp(r, code);
      } else {
        r.pos += 8;
        const n = nameLength(r);
        const fresh = n > 0 && ino !== 0 && ino >= nextIno && !born.has(ino);
        born.set(ino, fresh);
        if (!fresh) gone.delete(ino);
      }
    }
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
  }
}

/** The code of the operation at `r`, its fixed bytes there to read; -1 for one past `last` (a walk's end). */
function nextOp(r: Codec, last: number): number {
  r.need(1);
  const code = r.u8();
  if (code < Op.CREATE || code > last) return -1;
  r.need(OP_BYTES[code] as number);
  return code;
}

/**
 * The inodes `count` operations read from `r` change (into `into`): those of a record a reader's refresh
 * applied part way, whose open files then hold a state no commit made. As far as the operations read.
 */
export function inodesOf(r: Codec, count: number, into: Set<number>): void {
  try {
    for (let k = 0; k < count; k++) {
      const code = nextOp(r, Op.REF);
      if (code < 0) return;
      // The first field of every operation: an inode up to MAP, a block after.
      const first = r.u32();
      if (code <= Op.MAP) into.add(first);
      skipOp(r, code);
    }
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
  }
}

/** Check the operation at `r` as `applyOps` would, and step past it, for an inode of `skip` at `phase`. */
function passOp(s: PoolState, r: Codec, code: number, ino: number, skip: Passing, phase: 0 | 1 | 2): void {
  if (code === Op.CREATE) {
    if (phase !== 0) throw new BadRecord(`inode ${ino} created twice`);
    skip.set(ino, 1);
    if (ino >= s.nextIno) s.nextIno = ino + 1;
  } else if (phase !== 1) {
    throw new BadRecord(`inode ${ino} does not exist`);
  } else if (code === Op.DROP) {
    skip.set(ino, 2);
  } else if (code === Op.NAME) {
    readName(r);
    return;
  } else if (code === Op.MAP) {
    const page = r.u32();
    const n = r.u32();
    const block = r.u32();
    r.pos += 1;
    if (n < 1 || page + n > NO_BLOCK) throw new BadRecord(`map of pages ${page}+${n}`);
    if (block !== NO_BLOCK) checkRun(s, block, n);
    return;
  }
  skipOp(r, code);
}

/**
 * Apply `count` operations read from `r` to `s` (replay), none read past `r.end`; those of the inodes in
 * `skip` (made and removed by the records being applied, seen by no state) are checked and stepped over,
 * the inode numbers they used still counted as used. Throws BadRecord or RangeError on nonsense.
 */
export function applyOps(s: PoolState, r: Codec, count: number, skip: Passing | null = null): void {
  for (let k = 0; k < count; k++) {
    r.need(1);
    const code = r.u8();
    if (code < Op.CREATE || code > Op.REF) throw new BadRecord(`unknown operation ${code}`);
    r.need(OP_BYTES[code] as number);
    const ino = code <= Op.MAP ? r.u32() : 0;
    const phase = skip === null || code > Op.MAP ? undefined : skip.get(ino);
    if (phase !== undefined) {
      passOp(s, r, code, ino, skip as Passing, phase);
      continue;
    }
    // The checkpoint's trees are behind for every inode a record changes.
    if (code <= Op.MAP) s.treeInodes.add(ino);
    switch (code) {
      case Op.CREATE: {
        const ctime = r.u64();
        const name = readName(r);
        if (name === null) throw new BadRecord('create without a name');
        if (s.inodes.has(ino) || ino === 0) throw new BadRecord(`inode ${ino} created twice`);
        s.addInode(ino, name, ctime);
        break;
      }
      case Op.NAME: {
        const inode = inodeOf(s, ino);
        s.rename(inode, readName(r));
        break;
      }
      case Op.DROP: {
        s.dropInode(inodeOf(s, ino));
        break;
      }
      case Op.ATTR: {
        const inode = inodeOf(s, ino);
        inode.size = r.u64();
        inode.mtimeMs = r.u64();
        break;
      }
      case Op.MAP: {
        const inode = inodeOf(s, ino);
        const page = r.u32();
        const n = r.u32();
        const block = r.u32();
        const state = r.u8();
        if (n < 1 || page + n > NO_BLOCK) throw new BadRecord(`map of pages ${page}+${n}`);
        if (block !== NO_BLOCK) checkRun(s, block, n);
        inode.extents.set(page, n, block, state & ExtentState.UNWRITTEN);
        break;
      }
      case Op.ALLOC:
      case Op.FREE: {
        const b = r.u32();
        const n = r.u32();
        checkRun(s, b, n);
        s.alloc.replayRun(b, n, code === Op.ALLOC);
        if (code === Op.FREE) s.alloc.replayFrees?.push(b, n);
        break;
      }
      case Op.REF: {
        const b = r.u32();
        const refs = r.u32();
        checkRun(s, b, 1);
        if (refs > 1) s.alloc.shared.set(b, refs);
        else s.alloc.shared.delete(b);
        s.alloc.treeRefs.add(b);
        break;
      }
    }
  }
}
