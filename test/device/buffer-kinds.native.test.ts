import { afterEach, describe } from 'vitest';
import { Device, Pool } from '../../lib';
import { deviceBufferSuite } from '../support/device-buffer-suite';
import { scratchDir } from '../support/scratch';
import { poolBufferSuite } from '../pool/support/buffer-suite';

const MiB = 1024 * 1024;
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function scratchFile(): string {
  const s = scratchDir('/dev/shm');
  cleanups.push(s.cleanup);
  return s.file('media.img');
}

describe('buffer kinds on a native Device (/dev/shm file)', () => {
  deviceBufferSuite(
    () => Device.open(scratchFile(), { create: true, size: 64 * 1024 }),
    (d) => (d as Device).readSafe(0, d.size),
  );
});

describe('buffer kinds on a native pool', () => {
  poolBufferSuite(() => Pool.create(scratchFile(), { size: 2 * MiB }));
});
