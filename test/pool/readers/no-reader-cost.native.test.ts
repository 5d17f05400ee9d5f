import { expect, it } from 'vitest';
import { Device, Pool } from '../../../lib';
import { poolPerTest } from './support';

const KiB = 1024;
const MiB = 1024 * KiB;
const pool = poolPerTest({ size: 16 * MiB, journalBytes: 1 * MiB });

it('with no reader, a freeing commit asks the kernel once (design.md: "With no reader the cost is that one question per freeing commit")', async () => {
  const device = Device.open(pool.path);
  const w = Pool.openOn(device, { path: pool.path });
  const f = w.open('a', { create: true, sync: true });
  const orig = device.rangeConflict.bind(device);
  let questions = 0;
  device.rangeConflict = (start, length, mode) => {
    questions++;
    return orig(start, length, mode);
  };
  for (let i = 0; i < 100; i++) {
    f.writeSync(Buffer.alloc(8 * KiB, i), 0);
    await f.truncate(0); // a freeing commit each time
  }
  const freeingCommits = 100;
  device.rangeConflict = orig;
  f.close();
  w.closeSync();
  device.close();
  expect(questions).toBeLessThanOrEqual(freeingCommits);
});
