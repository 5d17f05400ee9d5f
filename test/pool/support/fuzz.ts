import { Pool, type CheckProblem, type PoolFile, type PoolMetadataRange } from '../../../lib';
import { PmemdaxError } from '../../../lib/errors';
import { MemoryDevice } from '../../../lib/testing';
import { Prng } from '../../dax/support/prng';
import { opData } from './executor';
import { DeadlineDevice, FuzzTimeout } from './fuzz-device';
import { CRAFT_CLASSES, type CraftClass } from './craft';
import { sealer } from './reseal';

/** A pool image to corrupt, and where its metadata lives. */
export interface FuzzBase {
  readonly name: string;
  readonly image: Uint8Array;
  readonly ranges: readonly PoolMetadataRange[];
  /** Recompute the checksums over corrupted metadata. */
  readonly seal: (image: Uint8Array) => void;
}

/**
 * fuzzBases -- two pools with files of every shape (written, sparse, fallocated, cloned, renamed,
 * unlinked while open): one cleanly closed (superblocks and a checkpoint), one left open after its
 * last commits (a journal to replay as well).
 */
export async function fuzzBases(size: number, journalBytes: number): Promise<FuzzBase[]> {
  const out: FuzzBase[] = [];
  for (const clean of [true, false]) {
    const device = new MemoryDevice(size);
    const pool = Pool.createOn(device, { journalBytes });
    const files: PoolFile[] = [];
    for (let i = 0; i < 12; i++) {
      const f = pool.open(`file-${i}`, { create: true, sync: i % 2 === 0 });
      f.writeSync(opData(i, 1000 + i * 3000), i * 1000);
      files.push(f);
    }
    const file = (i: number): PoolFile => files[i] ?? (() => { throw new Error(`no file ${i}`); })();
    await file(0).fallocate('keep-size', 40_000, 20_000);
    await file(1).truncate(200_000);
    await file(2).clone(file(3), 0, 4096, 8192);
    pool.rename('file-5', 'renamed');
    pool.unlink('file-6');
    pool.sync();
    if (clean) {
      // The checkpoint that `close` writes is the state to fuzz; its ranges are known only after it.
      for (const f of files) f.close();
      pool.closeSync();
      const again = Pool.openOn(device);
      const ranges = again.metadataRanges();
      again.closeSync();
      const image = device.bytes.slice();
      out.push({ name: 'cleanly closed', image, ranges, seal: sealer(image, ranges) });
    } else {
      const e = file(7);
      pool.unlink('file-7');
      e.writeSync(opData(99, 5000), 0);
      await e.fsync();
      const image = device.bytes.slice();
      const ranges = pool.metadataRanges();
      out.push({ name: 'open, with a journal', image, ranges, seal: sealer(image, ranges) });
    }
  }
  return out;
}

/** One case: damage done to a copy of a base image. */
export interface Corruption {
  readonly base: string;
  /** What was done, for the failure message. */
  readonly label: string;
  /** Checksums recomputed afterwards: the corruption gets past them to the decoders. */
  readonly sealed: boolean;
  /** Damage made through the pool's encoders: its class says whether opening must refuse it or report it. */
  readonly craft?: CraftClass;
  readonly apply: (device: DeadlineDevice) => void;
}

/** The last non-zero byte of a range in `image` + 1, relative to the range (0 if all zero). */
function usedLength(image: Uint8Array, r: PoolMetadataRange): number {
  for (let i = r.offset + r.length - 1; i >= r.offset; i--) if (image[i] !== 0) return i - r.offset + 1;
  return 0;
}

/** A bit flip or a random byte, never the same value. */
function otherByte(rng: Prng, old: number): number {
  return rng.int(2) === 0 ? old ^ (1 << rng.int(8)) : (old + 1 + rng.int(255)) & 0xff;
}

function byteCorruption(base: FuzzBase, kind: string, bytes: readonly (readonly [number, number])[], sealed: boolean): Corruption {
  return {
    base: base.name,
    label: `${kind} ${JSON.stringify(bytes)}`,
    sealed,
    apply: (device) => {
      for (const [at, v] of bytes) device.bytes[at] = v;
    },
  };
}

/**
 * pickCorruption -- 1..16 bytes inside the metadata areas: either a cluster in one area (a torn line, a
 * bad sector) or scattered over all of them; mostly inside the written part of each area, where
 * the decoders look. Half the cases reseal the checksums afterwards.
 */
export function pickCorruption(rng: Prng, base: FuzzBase): Corruption {
  const n = 1 + rng.int(16);
  const bytes: [number, number][] = [];
  const clustered = rng.int(2) === 0;
  const area = rng.pick(base.ranges);
  const spot = (r: PoolMetadataRange): number => {
    const used = usedLength(base.image, r);
    const span = used > 0 && rng.int(10) < 7 ? Math.min(r.length, used + 64) : r.length;
    return r.offset + rng.int(span);
  };
  const centre = spot(area);
  for (let i = 0; i < n; i++) {
    let at: number;
    if (clustered) at = Math.min(area.offset + area.length - 1, Math.max(area.offset, centre + rng.int(64) - 32));
    else at = spot(rng.pick(base.ranges));
    bytes.push([at, otherByte(rng, base.image[at] ?? 0)]);
  }
  return byteCorruption(base, 'metadata bytes', bytes, rng.int(2) === 0);
}

/**
 * pickWholeFileCorruption -- damage anywhere in the file, data area included: scattered bytes, a
 * zeroed range, or a range of random garbage (up to 64 KiB). A quarter reseal the checksums.
 */
export function pickWholeFileCorruption(rng: Prng, base: FuzzBase): Corruption {
  const size = base.image.length;
  const sealed = rng.int(4) === 0;
  const mode = rng.int(3);
  if (mode === 0) {
    const bytes: [number, number][] = [];
    for (let i = 1 + rng.int(64); i > 0; i--) {
      const at = rng.int(size);
      bytes.push([at, otherByte(rng, base.image[at] ?? 0)]);
    }
    return byteCorruption(base, 'bytes anywhere', bytes, sealed);
  }
  const length = 1 + rng.int(64 * 1024);
  const at = rng.int(size - length);
  const seed = rng.int(2 ** 32);
  return {
    base: base.name,
    label: `${mode === 1 ? 'zeros' : `garbage (seed ${seed})`} over bytes ${at}+${length}`,
    sealed,
    apply: (device) => {
      if (mode === 1) device.bytes.fill(0, at, at + length);
      else device.bytes.set(new Prng(seed).bytes(length), at);
    },
  };
}

/** pickCraftedCorruption -- one crafted class (metadata with valid checksums and bad content), hitting a place `rng` picks. */
export function pickCraftedCorruption(rng: Prng, base: FuzzBase): Corruption {
  const craft = rng.pick(CRAFT_CLASSES);
  const seed = rng.int(2 ** 32);
  return { base: base.name, label: `crafted: ${craft.name} (seed ${seed})`, sealed: false, craft, apply: (device) => craft.apply(device, new Prng(seed)) };
}

/**
 * How a case ended: both opens refused; the pool opened read-only only, with its damage reported; or
 * it opened for writing too (and then survived writes to every file).
 */
export type FuzzOutcome = 'rejected' | 'read-only, damage reported' | 'opened';

/** The refusals opening a damaged pool may give. */
function cleanRefusal(e: unknown): boolean {
  if (e instanceof PmemdaxError) return e.code === 'ERR_PMEMDAX_CORRUPT' || e.code === 'ERR_PMEMDAX_FORMAT_VERSION';
  return e instanceof Error && !(e instanceof TypeError) && !(e instanceof RangeError) && (e as { code?: unknown }).code === 'EIO';
}

/** An error with a code docs/errors.md documents: fs-style (code and errno), ERR_PMEMDAX_*, or ERR_OUT_OF_RANGE. */
function codedError(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  const code = (e as { code?: unknown }).code;
  if (typeof code !== 'string') return false;
  if (e instanceof PmemdaxError) return true;
  if (e instanceof RangeError) return code === 'ERR_OUT_OF_RANGE';
  return !(e instanceof TypeError) && typeof (e as { errno?: unknown }).errno === 'number';
}

/** Thrown when a corrupt image makes the pool misbehave. */
export class FuzzFailure extends Error {
  override readonly name = 'FuzzFailure';
}

const key = (p: CheckProblem): string => `${p.what} @ ${p.where}`;
const show = (ps: readonly CheckProblem[]): string => ps.slice(0, 3).map((p) => `${key(p)}: ${p.message}`).join('; ');
/** Bytes written to each file by the writable phase: at its start, and at its last page. */
const WRITE_BYTES = 8192;
const BLOCK_BYTES = 4096;

/**
 * runFuzzCase -- apply the corruption to `device` (a copy of the base image), then:
 * 1. open it read-only: refused with ERR_PMEMDAX_CORRUPT or EIO, or opened with its damage reported (by
 *    `info.recovery.problems` and `check`) or none (then undamaged metadata checks clean, a bad
 *    superblock copy aside); every file reads, or fails with a coded error once damage was reported;
 *    the media are unchanged afterwards;
 * 2. open it for writing: refused whenever the read-only open was refused or reported load problems;
 *    when it opens, write to every file, close, and open again: that must work, `check` may find
 *    nothing it did not find before the writes, and every write reads back.
 * Both opens with `verify` (every inode read and audited); then
 * 3. the same damage under a default open (lazyCase).
 * Anything else, or running past `ms` of CPU time, is a FuzzFailure.
 */
export function runFuzzCase(device: DeadlineDevice, base: FuzzBase, c: Corruption, ms: number, context: string): FuzzOutcome {
  device.load(base.image, ms);
  const fail = (what: string, e?: unknown): never => {
    const why = e === undefined ? '' : `: ${e instanceof Error ? `${e.constructor.name} ${(e as { code?: string }).code ?? ''} ${e.stack ?? e.message}` : `non-Error ${String(e)}`}`;
    throw new FuzzFailure(`${context}: ${what}${why}\ncorruption (${c.base}${c.sealed ? ', checksums resealed' : ''}): ${c.label}`);
  };
  const guard = <T>(what: string, fn: () => T): T => {
    try {
      return fn();
    } catch (e) {
      if (e instanceof FuzzFailure) throw e;
      if (e instanceof FuzzTimeout) return fail(`${what} ran past the deadline`);
      return fail(`${what} threw`, e);
    }
  };
  guard('crafting', () => c.apply(device));
  if (c.sealed) base.seal(device.bytes);
  const image = snapshot(device.bytes);
  const outcome = verifiedCase(device, c, image, fail, guard);
  device.load(image, ms);
  lazyCase(device, outcome, fail, guard);
  return outcome;
}

type Fail = (what: string, e?: unknown) => never;
type Guard = <T>(what: string, fn: () => T) => T;

/**
 * The same damage met by a default open, which after a clean close reads no inode: it opens or refuses
 * cleanly; when it opens, `check` finds whatever the verified open found, and every file can be listed,
 * opened, read, written and closed, each step either working or failing with a documented code (the
 * damage is met as it is read), and so can the pool. A pool the verified open accepts opens here too.
 */
function lazyCase(device: DeadlineDevice, verified: FuzzOutcome, fail: Fail, guard: Guard): void {
  let pool: Pool;
  try {
    pool = Pool.openOn(device, { path: 'fuzz' });
  } catch (e) {
    if (e instanceof FuzzTimeout) return fail('the default open ran past the deadline');
    if (!cleanRefusal(e)) return fail('the default open threw something other than a clean refusal', e);
    if (verified === 'opened') fail(`the default open refused a pool the verified open accepts: ${(e as Error).message}`);
    return;
  }
  const report = guard('check (default open)', () => pool.check());
  if (verified !== 'opened' && report.ok) fail(`after a default open, check misses the damage the verified open found (${verified})`);
  const coded = <T>(what: string, fn: () => T): T | undefined => guard(what, () => {
    try {
      return fn();
    } catch (e) {
      if (e instanceof FuzzTimeout || !codedError(e)) throw e;
      return undefined;
    }
  });
  const names = coded('listing (default open)', () => [...pool.list()]) ?? [];
  const buf = new Uint8Array(BLOCK_BYTES);
  for (const name of names) {
    const f = coded(`opening ${JSON.stringify(name)} (default open)`, () => pool.open(name));
    if (f === undefined) continue;
    coded(`reading ${JSON.stringify(name)} (default open)`, () => f.readSync(buf, 0));
    coded(`writing ${JSON.stringify(name)} (default open)`, () => f.writeSync(pattern(0), 0));
    coded(`closing ${JSON.stringify(name)} (default open)`, () => f.close());
  }
  coded('closing the pool (default open)', () => pool.closeSync());
  if (!pool.closed) fail('the pool is not closed after closeSync threw');
}

function verifiedCase(device: DeadlineDevice, c: Corruption, image: Uint8Array, fail: Fail, guard: Guard): FuzzOutcome {
  const open = (readonly: boolean): Pool | PmemdaxError | Error => {
    try {
      return Pool.openOn(device, { path: 'fuzz', readonly, verify: true });
    } catch (e) {
      if (e instanceof FuzzTimeout) return fail(`opening ${readonly ? 'read-only' : 'for writing'} ran past the deadline`);
      if (cleanRefusal(e)) return e as Error;
      return fail(`opening ${readonly ? 'read-only' : 'for writing'} threw something other than a clean refusal`, e);
    }
  };
  const ro = open(true);
  let loadProblems: readonly CheckProblem[] = [];
  if (ro instanceof Pool) {
    loadProblems = ro.info.recovery.problems;
    const report = guard('check (read-only)', () => ro.check());
    const reported = loadProblems.length > 0 || !report.ok;
    for (const p of loadProblems) if (!report.problems.some((q) => key(q) === key(p))) fail(`the load reported ${key(p)} but check did not`);
    const expect = c.craft?.expect;
    if (expect !== undefined) {
      if (expect.refused) fail(`opened read-only, but this crafted damage must be refused (check: ${show(report.problems)})`);
      else if (!loadProblems.some((p) => p.what === expect.what)) fail(`opened read-only without reporting '${expect.what}' (load: ${show(loadProblems)})`);
    } else if (!c.sealed && (loadProblems.length > 0 || report.problems.some((p) => p.what !== 'superblock'))) {
      fail(`opened with checksums intact, but check found: ${show(report.problems)}`);
    }
    guard('reading (read-only)', () => readEvery(ro, reported, fail));
    guard('closing (read-only)', () => ro.closeSync());
    if (Buffer.compare(device.bytes, image) !== 0) fail('the read-only open changed the media');
  } else if (c.craft !== undefined && !c.craft.expect.refused) {
    fail(`refused, but this crafted damage must open read-only: ${ro.message}`);
  }
  const rw = open(false);
  if (!(rw instanceof Pool)) {
    if (ro instanceof Pool && loadProblems.length === 0) fail(`opened read-only without problems, but refused for writing: ${rw.message}`);
    if (loadProblems.length > 0 && !rw.message.includes((loadProblems[0] as CheckProblem).what)) fail(`the refusal to write does not name '${loadProblems[0]?.what}': ${rw.message}`);
    return ro instanceof Pool ? 'read-only, damage reported' : 'rejected';
  }
  if (!(ro instanceof Pool) || loadProblems.length > 0) fail('opened for writing although the read-only open refused or reported problems');
  const before = guard('check (writable)', () => rw.check());
  const written = guard('writing every file', () => writeEvery(rw, before.ok, fail));
  guard('closing after the writes', () => rw.closeSync());
  const again = open(false);
  if (!(again instanceof Pool)) return fail(`writing to every file damaged the pool: ${again.message}`);
  const after = guard('check after the writes', () => again.check());
  const known = new Set(before.problems.map((p) => p.what));
  const fresh = after.problems.filter((p) => !known.has(p.what));
  if (fresh.length > 0) fail(`writing to every file left new problems: ${show(fresh)}`);
  guard('reading back the writes', () => {
    for (const [name, at, data] of written) {
      const got = new Uint8Array(data.length);
      const f = again.open(name, { readonly: true });
      f.readSync(got, at);
      f.close();
      if (Buffer.compare(got, data) !== 0) fail(`${JSON.stringify(name)} at ${at} does not read back what was written`);
    }
  });
  guard('closing again', () => again.closeSync());
  return 'opened';
}

let kept = new Uint8Array(0);

/** A copy of `bytes` in a buffer reused from case to case. */
function snapshot(bytes: Uint8Array): Uint8Array {
  if (kept.length !== bytes.length) kept = new Uint8Array(bytes.length);
  kept.set(bytes);
  return kept;
}

const patterns: Uint8Array[] = [];

/** The bytes of the `i`th write of a case (made once: every case writes the same ones). */
function pattern(i: number): Uint8Array {
  return (patterns[i] ??= opData(7 + i, WRITE_BYTES));
}

/** Read the start and the end of every file (a sparse file may be any size). */
function readEvery(pool: Pool, damaged: boolean, fail: (what: string, e?: unknown) => never): void {
  const buf = new Uint8Array(64 * 1024);
  for (const name of [...pool.list()]) {
    const f = pool.open(name, { readonly: true });
    for (const at of [0, Math.max(0, f.size - buf.length)]) {
      try {
        f.readSync(buf, at);
      } catch (e) {
        // A pool without reported damage reads cleanly (EIO at worst); a damaged one may refuse with a code.
        if (!cleanRefusal(e) && !(damaged && codedError(e))) fail(`reading ${JSON.stringify(name)} at ${at} threw`, e);
      }
    }
    f.close();
  }
}

/** Write a pattern at the start and the last page of every file; returns what was written where. ENOSPC and EIO may refuse a write. */
function writeEvery(pool: Pool, clean: boolean, fail: (what: string, e?: unknown) => never): [string, number, Uint8Array][] {
  const written: [string, number, Uint8Array][] = [];
  let n = 0;
  for (const name of [...pool.list()]) {
    const f = pool.open(name);
    for (const at of [0, Math.max(WRITE_BYTES, Math.floor(f.size / BLOCK_BYTES) * BLOCK_BYTES)]) {
      const data = pattern(n++);
      try {
        f.writeSync(data, at);
        written.push([name, at, data]);
      } catch (e) {
        const code = (e as { code?: unknown }).code;
        if (!(codedError(e) && (code === 'ENOSPC' || code === 'EIO' || !clean))) fail(`writing ${JSON.stringify(name)} at ${at} threw`, e);
      }
    }
    f.close();
  }
  return written;
}
