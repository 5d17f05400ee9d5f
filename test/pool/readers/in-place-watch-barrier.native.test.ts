import { performance } from 'node:perf_hooks';
import { expect, it } from 'vitest';
import { Device } from '../../../lib';
import { Claims } from '../../../lib/pool/claims';
import { poolPerTest } from './support';

// The watch over a writer's in-place lock makes the barrier the writer's WRITING store needs (membarrier) when
// the kernel lets it, so that store needs no fence on the write path; PMEMDAX_NO_MEMBARRIER, or a kernel without
// it, leaves the fence to the writer (docs/design.md, "Data written in place"). The watch's own thread registers
// the barrier (the process's first registration takes milliseconds) and says so in slot BARRIER (3).

const pool = poolPerTest({ size: 8 * 1024 * 1024 });
const BARRIER = 3;

/** Slot BARRIER of a fresh watch after `waitMs`, or as soon as it says 1. */
async function watchSays(waitMs: number): Promise<number> {
  const device = Device.open(pool.path);
  try {
    const claims = new Claims(device, 16);
    const slots = new Int32Array(new SharedArrayBuffer(16));
    // An earlier watch's say-so left in the slots is cleared by the new watch.
    slots[BARRIER] = 1;
    expect(claims.watchInPlace(slots)).toBe(true);
    const until = performance.now() + waitMs;
    while (Atomics.load(slots, BARRIER) !== 1 && performance.now() < until) await new Promise((resolve) => setTimeout(resolve, 2));
    const barrier = Atomics.load(slots, BARRIER);
    claims.unwatchInPlace();
    return barrier;
  } finally {
    device.close();
  }
}

it('the watch makes the barrier itself (Linux 4.14 on, as this suite’s machines run), and leaves the fence to the writer under PMEMDAX_NO_MEMBARRIER', async () => {
  const before = process.env.PMEMDAX_NO_MEMBARRIER;
  try {
    delete process.env.PMEMDAX_NO_MEMBARRIER;
    expect(await watchSays(5000)).toBe(1);
    process.env.PMEMDAX_NO_MEMBARRIER = '1';
    expect(await watchSays(200)).toBe(0);
  } finally {
    if (before === undefined) delete process.env.PMEMDAX_NO_MEMBARRIER;
    else process.env.PMEMDAX_NO_MEMBARRIER = before;
  }
});
