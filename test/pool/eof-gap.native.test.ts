import { afterEach, describe, expect } from 'vitest';
import { Pool } from '../../lib';
import { Device } from '../../lib/device/device';
import { PAGE_SIZE } from '../../lib/iomap/constants';
import { MemFs, memFsFile as mappableMemFsFile } from '../../lib/testing';
import type { DaxRegion } from '../../lib/vm/region';
import { memFsFile, poolGrowFile, regionScribbler } from './support/eof-gap-backends';
import { eofGapSuite } from './support/eof-gap-suite';
import { scratchDir } from '../support/scratch';

const MiB = 1024 * 1024;
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function scratch(base?: string): string {
  const s = scratchDir(base);
  cleanups.push(s.cleanup);
  return s.file('media');
}

describe('bytes past EOF stay invisible when the file grows: native pool, stores through a shared region', () => {
  eofGapSuite({
    name: 'native pool',
    make: async () => {
      const pool = Pool.create(scratch(), { size: 8 * MiB });
      const f = pool.open('f', { create: true });
      let region: DaxRegion | null = null;
      const file = poolGrowFile(pool, f, pool.device, regionScribbler(() => (region ??= f.mmap({ length: 2 * PAGE_SIZE }))));
      return {
        file,
        dispose: () => {
          expect(pool.check().problems).toEqual([]);
          pool.closeSync();
        },
      };
    },
  });
});

describe('bytes past EOF stay invisible when the file grows: MemFs on a native Device, stores through a shared region', () => {
  eofGapSuite({
    name: 'MemFs on a native Device',
    make: async () => {
      const device = Device.open(scratch('/dev/shm'), { create: true, size: 4 * MiB });
      const fs = new MemFs(device);
      const inode = fs.create();
      const dax = mappableMemFsFile(fs, inode);
      let region: DaxRegion | null = null;
      return {
        file: memFsFile(fs, inode, regionScribbler(() => (region ??= dax.mmap({ length: 2 * PAGE_SIZE })))),
        dispose: () => {
          dax.close();
          device.close();
        },
      };
    },
  });
});
