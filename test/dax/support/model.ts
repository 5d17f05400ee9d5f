import type { DaxDevice } from '../../../lib/device/types';
import { checkMapping } from '../../../lib/dax/check';
import { EntryKind } from '../../../lib/dax/entry';
import { simulateFault } from './fault-sim';
import { FiemapFlag } from '../../../lib/iomap/fiemap';
import { PAGE_SIZE } from '../../../lib/iomap/constants';
import { MemFs } from '../../../lib/testing/memfs';
import { MemoryDevice } from '../../../lib/testing/memory-device';
import { memFsTarget } from './memfs-target';
import type { FaultInode, ModelTarget, ReadView } from './model-target';
import { Prng } from './prng';

/** A plain byte-array model of one file. */
class ModelFile {
  bytes = new Uint8Array(0);

  get size(): number {
    return this.bytes.length;
  }

  resize(n: number): void {
    if (n === this.bytes.length) return;
    const next = new Uint8Array(n);
    next.set(this.bytes.subarray(0, Math.min(n, this.bytes.length)));
    this.bytes = next;
  }

  write(pos: number, data: Uint8Array): void {
    if (pos + data.length > this.size) this.resize(pos + data.length);
    this.bytes.set(data, pos);
  }

  zero(pos: number, len: number): void {
    this.bytes.fill(0, Math.min(pos, this.size), Math.min(pos + len, this.size));
  }

  isZero(from: number, to: number): boolean {
    for (let i = from; i < to; i++) if (this.bytes[i] !== 0) return false;
    return true;
  }
}

export interface ModelOptions {
  readonly files: number;
  readonly maxFileSize: number;
  /** The device the filesystem lives on (the in-memory device by default). */
  readonly device: () => DaxDevice;
}

export const DEFAULT_MODEL: ModelOptions = { files: 3, maxFileSize: 48 * PAGE_SIZE, device: () => new MemoryDevice(16 * 1024 * 1024) };

/** Thrown on the first difference between the filesystem and the model. */
export class Divergence extends Error {}

/** runModel -- runModelOn over MemFs files `/m0`, `/m1`, … on `opts.device()`. */
export async function runModel(seed: number, ops: number, opts: ModelOptions = DEFAULT_MODEL): Promise<Map<string, number>> {
  return runModelOn(memFsTarget(new MemFs(opts.device()), opts.files), seed, ops, opts.maxFileSize);
}

/**
 * runModelOn -- `ops` random operations (write, read, zero range, truncate down and up, punch, seek
 * data/hole, fiemap, reflink, unshare, dedupe, fallocate, fsync, and read/write faults that leave
 * mapping entries behind) on the target's files and on byte-array models of them; throws a
 * Divergence naming the operation at the first difference. Every 499 operations the whole state is
 * compared (and, for a target that persists, its reopened view too). Returns the count of each
 * operation run.
 */
export async function runModelOn<F, I extends FaultInode>(target: ModelTarget<F, I>, seed: number, ops: number, maxFileSize: number): Promise<Map<string, number>> {
  const rng = new Prng(seed);
  const files = target.files;
  const models = files.map(() => new ModelFile());
  const pathOf = (f: F): string => target.inode(f).path ?? '?';
  const counts = new Map<string, number>();
  const max = maxFileSize;
  const scratch = new Uint8Array(max + 4 * PAGE_SIZE);
  let step = 0;
  let what = '';
  const fail = (msg: string): never => {
    throw new Divergence(`seed ${seed}, operation ${step} (${what}): ${msg}`);
  };
  /** An offset biased towards page boundaries and the file's edges. */
  const offset = (limit: number): number => {
    const r = rng.int(4);
    if (r === 0) return rng.int(Math.floor(limit / PAGE_SIZE) + 1) * PAGE_SIZE;
    return rng.int(limit + 1);
  };
  const length = (): number => {
    const r = rng.int(5);
    if (r === 0) return (1 + rng.int(4)) * PAGE_SIZE;
    if (r === 1) return 1 + rng.int(64);
    return 1 + rng.int(3 * PAGE_SIZE);
  };
  const compareView = (k: number, view: ReadView, pos: number, len: number, label: string): void => {
    const m = models[k] as ModelFile;
    if (view.size !== m.size) fail(`${label}size ${view.size}, model ${m.size}`);
    const got = scratch.subarray(0, len);
    const n = view.read(pos, got);
    const expect = Math.max(0, Math.min(len, m.size - pos));
    if (n !== expect) fail(`${label}read(${pos}, ${len}) returned ${n}, model ${expect}`);
    for (let i = 0; i < n; i++) {
      if (got[i] !== m.bytes[pos + i]) fail(`${label}byte ${pos + i} is ${got[i]}, model ${m.bytes[pos + i]}`);
    }
  };
  const viewOf = (f: F): ReadView => ({ size: target.inode(f).size, read: (pos, buf) => target.read(f, pos, buf) });
  const compare = (k: number, pos: number, len: number): void => compareView(k, viewOf(files[k] as F), pos, len, '');
  const compareAll = async (): Promise<void> => {
    for (let k = 0; k < files.length; k++) compare(k, 0, (models[k] as ModelFile).size + 1);
    for (const f of files) {
      const mapping = target.inode(f).mapping;
      const problems = checkMapping(mapping, true);
      if (problems.length > 0) fail(`mapping of ${pathOf(f)}: ${problems.join('; ')}`);
      // Entries must stand for what the file has now: no zero page over data, no stale block.
      for (const e of mapping.tree.collect(0, Number.MAX_SAFE_INTEGER)) {
        const block = target.blockAt(f, e.index);
        const data = block !== null && !target.unwrittenAt(f, e.index);
        if (e.kind === EntryKind.ZERO && data) fail(`${pathOf(f)}: zero-page entry over data at page ${e.index}`);
        if (e.kind === EntryKind.REAL && e.pfn !== block) fail(`${pathOf(f)}: entry at page ${e.index} maps block ${e.pfn}, the file has ${block}`);
      }
    }
    const problems = target.check();
    if (problems.length > 0) fail(`filesystem: ${problems.slice(0, 3).join('; ')}`);
    if (target.reopen === undefined) return;
    const view = await target.reopen();
    try {
      view.files.forEach((v, k) => compareView(k, v, 0, (models[k] as ModelFile).size + 1, `reopened file ${k}: `));
    } finally {
      view.close();
    }
  };

  for (step = 0; step < ops; step++) {
    const k = rng.int(files.length);
    const f = files[k] as F;
    const m = models[k] as ModelFile;
    const op = rng.pick(OPS);
    counts.set(op, (counts.get(op) ?? 0) + 1);
    switch (op) {
      case 'write': {
        const len = length();
        const pos = offset(max - len);
        what = `write ${pathOf(f)} [${pos}, +${len})`;
        const data = rng.bytes(len);
        const n = await target.write(f, pos, data);
        if (n !== len) fail(`wrote ${n}`);
        m.write(pos, data);
        break;
      }
      case 'read': {
        const len = length();
        const pos = offset(m.size + PAGE_SIZE);
        what = `read ${pathOf(f)} [${pos}, +${len})`;
        compare(k, pos, len);
        break;
      }
      case 'zero': {
        const len = length();
        const pos = offset(max);
        what = `zero ${pathOf(f)} [${pos}, +${len})`;
        await target.zeroRange(f, pos, len);
        m.zero(pos, len);
        break;
      }
      case 'truncate': {
        const size = rng.int(2) === 0 ? offset(m.size) : offset(max);
        what = `truncate ${pathOf(f)} ${m.size} -> ${size}`;
        await target.truncate(f, size);
        m.resize(size);
        break;
      }
      case 'punch': {
        const len = length();
        const pos = offset(max);
        what = `punch ${pathOf(f)} [${pos}, +${len})`;
        await target.punch(f, pos, len);
        m.zero(pos, len);
        break;
      }
      case 'fallocate': {
        const len = length();
        const pos = offset(max - len);
        const keep = rng.int(2) === 0;
        what = `fallocate ${pathOf(f)} [${pos}, +${len}) keep=${keep}`;
        await target.fallocate(f, pos, len, keep);
        if (!keep && pos + len > m.size) m.resize(pos + len);
        break;
      }
      case 'seek': {
        const off = rng.int(8) === 0 ? m.size : offset(m.size);
        const mode = rng.int(2) === 0 ? 'entries' : 'hole';
        what = `seek ${pathOf(f)} ${off} (${mode})`;
        checkSeek(target, f, m, off, mode, fail);
        break;
      }
      case 'fiemap': {
        what = `fiemap ${pathOf(f)}`;
        checkFiemap(target, f, m, fail);
        break;
      }
      case 'reflink':
      case 'dedupe': {
        const j = rng.int(files.length);
        const src = files[j] as F;
        const sm = models[j] as ModelFile;
        if (sm.size === 0) break;
        const srcOff = rng.int(Math.ceil(sm.size / PAGE_SIZE)) * PAGE_SIZE;
        const toEof = rng.int(3) === 0;
        let len = toEof ? sm.size - srcOff : (1 + rng.int(Math.max(1, Math.floor((sm.size - srcOff) / PAGE_SIZE)))) * PAGE_SIZE;
        if (srcOff + len > sm.size) len = sm.size - srcOff;
        if (len <= 0) break;
        if (op === 'dedupe') {
          if (m.size === 0) break;
          let dstOff = rng.int(Math.ceil(m.size / PAGE_SIZE)) * PAGE_SIZE;
          // Half of the time, a range that holds the same bytes (copied there first).
          if (rng.int(2) === 0 && j !== k) {
            dstOff = Math.min(dstOff, Math.floor((max - len) / PAGE_SIZE) * PAGE_SIZE);
            if (dstOff < 0) break;
            const copy = sm.bytes.slice(srcOff, srcOff + len);
            what = `dedupe-prep write ${pathOf(f)} [${dstOff}, +${len})`;
            await target.write(f, dstOff, copy);
            m.write(dstOff, copy);
          }
          if (len % PAGE_SIZE !== 0 || dstOff + len > m.size) break;
          if (src === f && srcOff < dstOff + len && dstOff < srcOff + len) break;
          what = `dedupe ${pathOf(src)} [${srcOff}, +${len}) -> ${pathOf(f)} ${dstOff}`;
          const equal = sm.bytes.subarray(srcOff, srcOff + len).every((b, i) => b === m.bytes[dstOff + i]);
          try {
            await target.dedupe(src, srcOff, f, dstOff, len);
            if (!equal) fail('dedupe shared ranges whose bytes differ');
          } catch (e) {
            if ((e as { code?: string }).code !== 'EBADE') throw e;
          }
        } else {
          const dstOff = rng.int(Math.floor((max - len) / PAGE_SIZE) + 1) * PAGE_SIZE;
          if (len % PAGE_SIZE !== 0 && dstOff + len < m.size) break;
          if (src === f && srcOff < dstOff + len && dstOff < srcOff + len) break;
          what = `reflink ${pathOf(src)} [${srcOff}, +${len}) -> ${pathOf(f)} ${dstOff}`;
          const copy = sm.bytes.slice(srcOff, srcOff + len);
          await target.reflink(src, srcOff, f, dstOff, len);
          m.write(dstOff, copy);
        }
        break;
      }
      case 'unshare': {
        const len = length() * 2;
        const pos = offset(m.size);
        what = `unshare ${pathOf(f)} [${pos}, +${len})`;
        await target.unshare(f, pos, len);
        break;
      }
      case 'fsync': {
        what = `fsync ${pathOf(f)}`;
        await target.fsync(f);
        break;
      }
      case 'fault': {
        const page = rng.int(Math.ceil(m.size / PAGE_SIZE) + 1);
        const write = rng.int(3) === 0;
        what = `${write ? 'write' : 'read'} fault ${pathOf(f)} page ${page}`;
        await simulateFault(target, target.inode(f), page, write, noPause);
        break;
      }
    }
    if (step % 499 === 0) await compareAll();
  }
  what = 'final comparison';
  await compareAll();
  return counts;
}

const OPS = [
  'write', 'write', 'write', 'read', 'read', 'read', 'zero', 'truncate', 'punch', 'fallocate',
  'seek', 'fiemap', 'reflink', 'reflink', 'unshare', 'dedupe', 'fsync', 'fault', 'fault', 'fault',
] as const;

const noPause = async (): Promise<void> => {};

type Fail = (msg: string) => never;

function errCode(e: unknown): string | undefined {
  return (e as { code?: string }).code;
}

/** SEEK_DATA never skips data; SEEK_HOLE lands on zeros; ENXIO exactly when docs/semantics.md §6.6 says. */
function checkSeek<F, I extends FaultInode>(fs: ModelTarget<F, I>, f: F, m: ModelFile, off: number, mode: 'entries' | 'hole', fail: Fail): void {
  const outside = off < 0 || off >= m.size;
  let data: number | string;
  let hole: number | string;
  try {
    data = fs.seekData(f, off, { unwritten: mode });
  } catch (e) {
    data = errCode(e) ?? 'throw';
  }
  try {
    hole = fs.seekHole(f, off, { unwritten: mode });
  } catch (e) {
    hole = errCode(e) ?? 'throw';
  }
  if (outside) {
    if (data !== 'ENXIO' || hole !== 'ENXIO') fail(`outside EOF: data ${data}, hole ${hole}`);
    return;
  }
  if (data === 'ENXIO') {
    if (!m.isZero(off, m.size)) fail('SEEK_DATA said ENXIO over data');
  } else if (typeof data !== 'number' || data < off || data >= m.size || !m.isZero(off, data)) {
    fail(`SEEK_DATA ${data} skipped data or left [off, size)`);
  }
  if (typeof hole !== 'number' || hole < off || hole > m.size) fail(`SEEK_HOLE ${hole}`);
  const pageEnd = Math.min(m.size, (Math.floor(hole / PAGE_SIZE) + 1) * PAGE_SIZE);
  if (hole < m.size && !m.isZero(hole, pageEnd)) fail(`SEEK_HOLE ${hole} is not a hole`);
}

/** Invariant 36 plus coverage: every nonzero byte lies in a reported, written extent. */
function checkFiemap<F, I extends FaultInode>(fs: ModelTarget<F, I>, f: F, m: ModelFile, fail: Fail): void {
  const extents = fs.fiemap(f, 0, Math.max(m.size, 1));
  let prevEnd = -1;
  extents.forEach((e, i) => {
    if (e.logical < prevEnd) fail(`extent ${i} overlaps or goes backwards`);
    if (e.length <= 0) fail(`extent ${i} is empty`);
    prevEnd = e.logical + e.length;
    const last = (e.flags & FiemapFlag.LAST) !== 0;
    if (last !== (i === extents.length - 1)) fail(`LAST on extent ${i} of ${extents.length}`);
  });
  let x = 0;
  for (let i = 0; i < m.size; i++) {
    if (m.bytes[i] === 0) continue;
    while (x < extents.length && (extents[x]?.logical ?? 0) + (extents[x]?.length ?? 0) <= i) x++;
    const e = extents[x];
    if (e === undefined || e.logical > i) fail(`byte ${i} holds data outside every extent`);
    else if (e.flags & FiemapFlag.UNWRITTEN) fail(`byte ${i} holds data inside an unwritten extent`);
  }
}
