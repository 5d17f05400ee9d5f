import { Pool, type PoolFile, type PoolMetadataRange } from '../../../lib';
import { PmemdaxError } from '../../../lib/errors';
import { MemoryDevice } from '../../../lib/testing';
import type { Prng } from '../../dax/support/prng';
import { opData } from './executor';
import { DeadlineDevice, FuzzTimeout } from './fuzz-device';
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
      pool.close();
      const again = Pool.openOn(device);
      const ranges = again.metadataRanges();
      again.close();
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

/** One corruption: device offsets and the byte written at each. */
export interface Corruption {
  readonly base: string;
  readonly bytes: readonly (readonly [number, number])[];
  /** Checksums recomputed afterwards: the corruption gets past them to the decoders. */
  readonly sealed: boolean;
}

/** The last non-zero byte of a range in `image` + 1, relative to the range (0 if all zero). */
function usedLength(image: Uint8Array, r: PoolMetadataRange): number {
  for (let i = r.offset + r.length - 1; i >= r.offset; i--) if (image[i] !== 0) return i - r.offset + 1;
  return 0;
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
    const old = base.image[at] ?? 0;
    // A bit flip or a random byte, never the same value.
    const value = rng.int(2) === 0 ? old ^ (1 << rng.int(8)) : (old + 1 + rng.int(255)) & 0xff;
    bytes.push([at, value]);
  }
  return { base: base.name, bytes, sealed: rng.int(2) === 0 };
}

/**
 * How a case ended. Corruption behind valid checksums is well-formed metadata that says something
 * else: the pool may open it and leave `check` to find the inconsistency ('opened, check failed'),
 * but it must still never crash or hang on it.
 */
export type FuzzOutcome = 'rejected' | 'opened' | 'opened, check failed';

/** A corrupt pool must be refused with one of these, or open and pass `check`. */
function cleanRefusal(e: unknown): boolean {
  if (e instanceof PmemdaxError) return e.code === 'ERR_PMEMDAX_CORRUPT';
  return e instanceof Error && !(e instanceof TypeError) && !(e instanceof RangeError) && (e as { code?: unknown }).code === 'EIO';
}

function fsError(e: unknown): boolean {
  return e instanceof Error && !(e instanceof TypeError) && !(e instanceof RangeError) &&
    typeof (e as { code?: unknown }).code === 'string' && typeof (e as { errno?: unknown }).errno === 'number';
}

/** Thrown when a corrupt image makes the pool misbehave. */
export class FuzzFailure extends Error {
  override readonly name = 'FuzzFailure';
}

/**
 * runFuzzCase -- write the corruption into `device` (a copy of the base image), open the pool on it
 * and, when that works, check it and read every file. Any error but a clean refusal, running past
 * `ms`, or (unless the checksums were resealed) a check that fails after a successful open, is a
 * FuzzFailure.
 */
export function runFuzzCase(device: DeadlineDevice, base: FuzzBase, c: Corruption, ms: number, context: string): FuzzOutcome {
  device.load(base.image, ms);
  for (const [at, v] of c.bytes) device.bytes[at] = v;
  if (c.sealed) base.seal(device.bytes);
  const fail = (what: string, e?: unknown): never => {
    const why = e === undefined ? '' : `: ${e instanceof Error ? `${e.constructor.name} ${(e as { code?: string }).code ?? ''} ${e.stack ?? e.message}` : `non-Error ${String(e)}`}`;
    throw new FuzzFailure(`${context}: ${what}${why}\ncorruption (${c.base}${c.sealed ? ', checksums resealed' : ''}): ${JSON.stringify(c.bytes)}`);
  };
  let pool: Pool;
  try {
    pool = Pool.openOn(device, { path: 'fuzz' });
  } catch (e) {
    if (e instanceof FuzzTimeout) fail('opening ran past the deadline');
    if (cleanRefusal(e)) return 'rejected';
    return fail('opening threw something other than a clean refusal', e);
  }
  let outcome: FuzzOutcome = 'opened';
  try {
    const report = pool.check();
    if (!report.ok) {
      if (!c.sealed) fail(`opened, but check found: ${report.problems.slice(0, 3).map((p) => `${p.what} @ ${p.where}: ${p.message}`).join('; ')}`);
      outcome = 'opened, check failed';
    }
    // A sparse file may be any size: read its start and its end.
    const buf = new Uint8Array(256 * 1024);
    for (const name of pool.list()) {
      const f = pool.open(name, { readonly: true });
      for (const at of [0, Math.max(0, f.size - buf.length)]) {
        try {
          f.readSync(buf, at);
        } catch (e) {
          // A pool check passed must read cleanly (EIO at worst); one check failed may refuse fs-style.
          if (!cleanRefusal(e) && (outcome === 'opened' || !fsError(e))) fail(`reading ${JSON.stringify(name)} at ${at} threw`, e);
        }
      }
      f.close();
    }
    pool.close();
  } catch (e) {
    if (e instanceof FuzzFailure) throw e;
    if (e instanceof FuzzTimeout) fail('check or reads ran past the deadline');
    return fail('using the opened pool threw', e);
  }
  return outcome;
}
