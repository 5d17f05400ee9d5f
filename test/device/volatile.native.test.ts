import { statfsSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Device } from '../../lib';
import { HOST_MEDIA, scratchDir } from '../support/scratch';

// linux/magic.h: the filesystems that keep files in RAM only.
const RAM_FILESYSTEMS = new Set([0x01021994 /* tmpfs */, 0x858458f6 /* ramfs */]);

describe.each(HOST_MEDIA)('device.info.volatile on a $name', ({ dir }) => {
  let s: ReturnType<typeof scratchDir>;
  beforeEach(() => {
    s = scratchDir(dir());
  });
  afterEach(() => s.cleanup());

  it('is true exactly on tmpfs and ramfs, as statfs says', () => {
    using device = Device.open(s.file('f'), { create: true, size: 1 << 20 });
    expect(device.info.volatile).toBe(RAM_FILESYSTEMS.has(statfsSync(s.dir).type));
  });
});

describe('device.info.volatile', () => {
  it('is true on /dev/shm (tmpfs)', () => {
    expect(statfsSync('/dev/shm').type).toBe(0x01021994);
    const s = scratchDir('/dev/shm');
    try {
      using device = Device.open(s.file('f'), { create: true, size: 1 << 20 });
      expect(device.info.volatile).toBe(true);
      expect(device.info.pmem).toBe(false);
    } finally {
      s.cleanup();
    }
  });
});
