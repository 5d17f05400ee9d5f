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
  const model = new Model();
  const work = new Workload(new Prng(rng.int(2 ** 32)), o.workload ?? DEFAULT_WORKLOAD);
  const exec = new Executor(Pool.createOn(device, { journalBytes: o.journalBytes }), () => Pool.openOn(device));
  const result: StrictRunResult = { crashes: 0, recrashes: 0, steps: 0, drains: 0, replayed: 0, tornTails: 0, checkpoints: 0, kinds: new Map() };
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
      verifyImage(drain);
    } catch (e) {
      failure = e;
    }
  };
  const crashStep = rng.int(o.ops);
  try {
    for (step = 0; step < o.ops; step++) {
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
  }
  result.steps = step;
  result.drains = device.drains;
  const sb = decodeSuperblock(device.media.subarray(0, BLOCK));
  if (isSuperblock(sb)) result.checkpoints = sb.epoch - 1;
  return result;
}
