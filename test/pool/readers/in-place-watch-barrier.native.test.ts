import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { expect, it } from 'vitest';
import { Device } from '../../../lib';
import { Claims } from '../../../lib/pool/claims';
import { PROJECT_ROOT } from '../../support/scratch';
import { poolPerTest } from './support';

// The watch over a writer's in-place lock makes the barrier the writer's WRITING store needs (membarrier) when
// the kernel lets it, so that store needs no fence on the write path; PMEMDAX_NO_MEMBARRIER, or a kernel without
// it, leaves the fence to the writer (docs/design.md, "Data written in place"). The process registers for the
// barrier once, on a thread of its own (its first registration takes milliseconds), and each watch says so in
// slot BARRIER (3) when it sees the registration done.

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

it('a fresh process whose first watch ends at once (a writer closed right after its first write in place): its next watch says BARRIER, looking for the registration while the lock is free', () => {
  // A fresh process: no watch of this one's has registered it yet.
  const said = execFileSync(
    process.execPath,
    [
      '-e',
      `
    const { Device } = require(${JSON.stringify(`${PROJECT_ROOT}/dist/index.js`)});
    const { Claims } = require(${JSON.stringify(`${PROJECT_ROOT}/dist/pool/claims.js`)});
    const watch = () => {
      const device = Device.open(process.argv[1]);
      const claims = new Claims(device, 16);
      const slots = new Int32Array(new SharedArrayBuffer(16));
      if (!claims.watchInPlace(slots)) throw new Error('no watch');
      return { device, claims, slots, end: () => (claims.unwatchInPlace(), device.close()) };
    };
    watch().end();
    const next = watch();
    const sleeper = new Int32Array(new SharedArrayBuffer(4));
    for (const until = Date.now() + 5000; Atomics.load(next.slots, ${BARRIER}) !== 1 && Date.now() < until; ) Atomics.wait(sleeper, 0, 0, 2);
    console.log(Atomics.load(next.slots, ${BARRIER}));
    next.end();
  `,
      pool.path,
    ],
    { encoding: 'utf8', env: { ...process.env, PMEMDAX_NO_MEMBARRIER: '' } },
  );
  expect(said.trim()).toBe('1');
});
