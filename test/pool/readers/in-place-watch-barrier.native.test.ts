import { expect, it } from 'vitest';
import { Device } from '../../../lib';
import { Claims } from '../../../lib/pool/claims';
import { poolPerTest } from './support';

// The watch over a writer's in-place lock makes the barrier the writer's WRITING store needs (membarrier) when
// the kernel lets it, so that store needs no fence on the write path; PMEMDAX_NO_MEMBARRIER, or a kernel without
// it, leaves the fence to the writer (docs/design.md, "Data written in place").

const pool = poolPerTest({ size: 8 * 1024 * 1024 });

function watchKind(): string {
  const device = Device.open(pool.path);
  try {
    const claims = new Claims(device, 16);
    const slots = new Int32Array(new SharedArrayBuffer(12));
    const kind = claims.watchInPlace(slots);
    claims.unwatchInPlace();
    return kind;
  } finally {
    device.close();
  }
}

it('the watch makes the barrier itself (Linux 4.14 on, as this suite’s machines run), and leaves the fence to the writer under PMEMDAX_NO_MEMBARRIER', () => {
  const before = process.env.PMEMDAX_NO_MEMBARRIER;
  try {
    delete process.env.PMEMDAX_NO_MEMBARRIER;
    expect(watchKind()).toBe('barrier');
    process.env.PMEMDAX_NO_MEMBARRIER = '1';
    expect(watchKind()).toBe('fenced');
  } finally {
    if (before === undefined) delete process.env.PMEMDAX_NO_MEMBARRIER;
    else process.env.PMEMDAX_NO_MEMBARRIER = before;
  }
});
