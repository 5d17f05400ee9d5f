import { afterEach, describe, expect, it } from 'vitest';
import { Device } from '../../lib';
import { Prng, seedFrom } from '../dax/support/prng';
import { scratchDir } from '../support/scratch';
import { orderRun } from './support/order-run';

const SEED = seedFrom('PMEMDAX_ORDER_SEED');
const MiB = 1024 * 1024;
const RUNS = 12;
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** A fresh native Device over a file in the temp dir (a disk file: page granularity, msync). */
function diskDevice(): Device {
  const s = scratchDir();
  const device = Device.open(s.file('pool.img'), { create: true, size: 2 * MiB });
  cleanups.push(() => {
    device.close();
    s.cleanup();
  });
  return device;
}

describe('the order of one file\'s calls, against a model, on a native Device (temp file, no crash)', () => {
  for (const closeInFlight of [false, true]) {
    it(`random interleavings, ${closeInFlight ? 'closed with calls in flight' : 'closed once calls settled'} (PMEMDAX_ORDER_SEED=${SEED})`, async () => {
      const seeds = new Prng(SEED);
      for (let run = 0; run < RUNS; run++) {
        const seed = run === 0 ? SEED : seeds.int(2 ** 32);
        const r = await orderRun({ seed, steps: 150, closeInFlight, crash: false, device: diskDevice });
        expect(r.problems, `replay with PMEMDAX_ORDER_SEED=${seed}`).toEqual([]);
      }
    }, 60_000);
  }
});
