import { Pool } from '../../../lib';
import { BLOCK, decodeSuperblock, isSuperblock } from '../../../lib/pool/layout';
import { MemoryDevice, SimulatedCrash, StrictMemoryDevice } from '../../../lib/testing';
import { Prng } from '../../dax/support/prng';
import { DEDUPE_DIFFERS, Executor, type Op } from './executor';
import { Model } from './model';
import { CrashDivergence, verifyAgainstModel } from './verify';
import { DEFAULT_WORKLOAD, Workload, type WorkloadOptions } from './workload';

export interface StrictRunOptions {
  readonly seed: number;
  /** Steps before the run stops (it stops earlier at its final crash). */
  readonly ops: number;
  readonly poolSize: number;
  readonly journalBytes: number;
  /** Mean drains between crash images. */
  readonly gap: number;
  /** One crash image in this many is opened on a strict device that crashes again during recovery. */
  readonly recrashEvery: number;
  readonly workload?: WorkloadOptions;
  /**
   * Readers beside the writer (docs/design.md, "Live readers"): read-only opens of the same memory, on a
   * device with range locks, that come and go between steps, refresh and read files; their claims make the
   * writer hold frees back, and the crash images then hold checkpoints that kept blocks for them.
   */
  readonly readers?: boolean;
  /** Told each step as it starts (for reducing a failure to a repro). */
  readonly trace?: (step: number, op: Op) => void;
}

export interface StrictRunResult {
  /** Crash images opened and verified. */
  crashes: number;
  /** Of those, recoveries that were themselves crashed and recovered again. */
  recrashes: number;
  steps: number;
  drains: number;
  /** Journal records replayed, summed over the recoveries. */
  replayed: number;
  tornTails: number;
  /** Checkpoints the pool wrote (its epoch on the media at the end, less the first): at close, or when the journal filled. */
  checkpoints: number;
  /** Readers opened, and the most blocks a checkpoint kept for them (the superblock's `deferredBlocks`). */
  readersOpened: number;
  deferredBlocks: number;
  readonly kinds: Map<string, number>;
}

/**
 * strictCrashRun -- one seeded workload on a fresh pool over a StrictMemoryDevice. Before every drain
 * the run may take a crash image (what the media could hold if the power failed there), open a pool
 * on it and verify it against the model with the step in flight; at a random step it arms `crashAt`
 * so that the run ends with a real interrupted operation, verified the same way.
 */
export async function strictCrashRun(o: StrictRunOptions): Promise<StrictRunResult> {
  const rng = new Prng(o.seed);
  const random = (): number => rng.next();
  const device = new StrictMemoryDevice(o.poolSize);
  if (o.readers === true) device.withRangeLocks();
  const readers = new Readers(device, rng);
  const model = new Model();
  const work = new Workload(new Prng(rng.int(2 ** 32)), o.workload ?? DEFAULT_WORKLOAD);
  const exec = new Executor(Pool.createOn(device, { journalBytes: o.journalBytes }), () => Pool.openOn(device));
  const result: StrictRunResult = {
    crashes: 0, recrashes: 0, steps: 0, drains: 0, replayed: 0, tornTails: 0, checkpoints: 0, readersOpened: 0, deferredBlocks: 0, kinds: new Map(),
  };
  let step = 0;
  let op: Op | null = null;
  let failure: unknown = null;

  const where = (drain: number): string => `seed ${o.seed}, step ${step} ${JSON.stringify(op)}, drain ${drain}`;
  // Images are written into these, reused: fresh device-sized buffers cost more than the checks.
  const imageDev = new MemoryDevice(o.poolSize);
  const recrashDev = new StrictMemoryDevice(o.poolSize);
  /** Open and verify the crash image in `imageDev`. */
  const verifyImage = (drain: number): void => {
    result.crashes++;
    let recovered = false;
    if (rng.int(o.recrashEvery) === 0) {
      // Crash the recovery itself, then recover from what that left.
      recrashDev.reset(imageDev.bytes);
      recrashDev.crashAt(1 + rng.int(6));
      try {
        Pool.openOn(recrashDev, { path: 'recrash' }).closeSync();
      } catch (e) {
        if (!(e instanceof SimulatedCrash)) throw new CrashDivergence(`${where(drain)}: recovery failed: ${String(e)}`);
      }
      if (recrashDev.crashed) {
        result.recrashes++;
        recovered = true;
        recrashDev.crashImageInto(imageDev.bytes, random);
      }
    }
    let pool: Pool;
    try {
      pool = Pool.openOn(imageDev, { path: 'crash-image' });
    } catch (e) {
      throw new CrashDivergence(`${where(drain)}: opening the crash image failed: ${(e as Error).stack ?? String(e)}`);
    }
    try {
      result.replayed += pool.info.recovery.replayed;
      if (pool.info.recovery.tornTail) result.tornTails++;
      verifyAgainstModel(pool, model, where(drain), { reRecovered: recovered });
    } finally {
      pool.closeSync();
    }
  };
  const newest = (): number => [0, 1, 0.5, random()][rng.int(4)] as number;

  let nextImage = device.drains + 1 + rng.int(2 * o.gap);
  device.onDrain = (drain) => {
    if (drain < nextImage || failure !== null) return;
    nextImage = drain + 1 + rng.int(2 * o.gap);
    try {
      device.crashImageInto(imageDev.bytes, random, { newest: newest() });
      const sb = decodeSuperblock(imageDev.bytes.subarray(0, BLOCK));
      if (isSuperblock(sb)) result.deferredBlocks = Math.max(result.deferredBlocks, sb.deferredBlocks);
      verifyImage(drain);
    } catch (e) {
      failure = e;
    }
  };
  const crashStep = rng.int(o.ops);
  try {
    for (step = 0; step < o.ops; step++) {
      if (o.readers === true && !device.crashed) readers.step(where(device.drains));
      op = work.next(model);
      if (step === crashStep) device.crashAt(1 + rng.int(8));
      o.trace?.(step, op);
      model.begin(op);
      let ino: number;
      try {
        ino = await exec.run(op);
      } catch (e) {
        if (failure !== null) throw failure;
        if (e instanceof SimulatedCrash) {
          device.crashImageInto(imageDev.bytes, random, { newest: newest() });
          verifyImage(e.drain);
          break;
        }
        throw new CrashDivergence(`seed ${o.seed}, step ${step} ${JSON.stringify(op)} failed: ${(e as Error).stack ?? String(e)}`);
      }
      if (failure !== null) throw failure;
      model.end(op, ino);
      const kind = ino === DEDUPE_DIFFERS ? 'dedupe (EBADE)' : op.k;
      result.kinds.set(kind, (result.kinds.get(kind) ?? 0) + 1);
    }
  } finally {
    device.onDrain = null;
    readers.closeAll();
  }
  result.readersOpened = readers.opened;
  result.steps = step;
  result.drains = device.drains;
  const sb = decodeSuperblock(device.media.subarray(0, BLOCK));
  if (isSuperblock(sb)) result.checkpoints = sb.epoch - 1;
  return result;
}

interface OpenReader {
  readonly pool: Pool;
  readonly device: MemoryDevice;
  /** Steps left before it closes. */
  steps: number;
}

/**
 * The readers of a strict run: at most two at a time, each opened on another open of the device's memory
 * (what the CPU sees, as another process's mapping does), living a few steps, refreshing and reading whole
 * files meanwhile. A read that fails, or a file that reads other than its size, is a divergence.
 */
class Readers {
  opened = 0;
  readonly #device: StrictMemoryDevice;
  readonly #rng: Prng;
  #open: OpenReader[] = [];

  constructor(device: StrictMemoryDevice, rng: Prng) {
    this.#device = device;
    this.#rng = rng;
  }

  step(where: string): void {
    try {
      if (this.#open.length < 2 && this.#rng.int(8) === 0) {
        const device = this.#device.openAgain();
        this.#open.push({ pool: Pool.openOn(device, { readonly: true, path: 'reader' }), device, steps: 1 + this.#rng.int(12) });
        this.opened++;
      }
      for (const r of [...this.#open]) {
        if (--r.steps <= 0) {
          this.#close(r);
          continue;
        }
        if (this.#rng.int(3) === 0) r.pool.refresh();
        const names = [...r.pool.list()];
        if (names.length > 0) readWhole(r.pool, names[this.#rng.int(names.length)] as string);
      }
    } catch (e) {
      throw new CrashDivergence(`${where}: a reader failed: ${(e as Error).stack ?? String(e)}`);
    }
  }

  closeAll(): void {
    for (const r of [...this.#open]) this.#close(r);
  }

  #close(r: OpenReader): void {
    r.pool.closeSync();
    r.device.close();
    this.#open.splice(this.#open.indexOf(r), 1);
  }
}

function readWhole(pool: Pool, name: string): void {
  const f = pool.open(name, { readonly: true });
  try {
    const size = f.stat().size;
    const buf = new Uint8Array(Math.min(size, 256 * 1024));
    for (let pos = 0; pos < size;) {
      const n = f.readSync(buf, pos);
      if (n <= 0) throw new Error(`${name}: a read at ${pos} of ${size} gave ${n}`);
      pos += n;
    }
  } finally {
    f.close();
  }
}
