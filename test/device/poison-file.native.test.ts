import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Device } from '../../lib/index';
import { HOST_MEDIA, MiB, scratchDir } from '../support/scratch';

// Off pmem there is no poison list: these prove the file-side behaviour of the poison API. The poison
// itself (sysfs badblocks, MCE SIGBUS, recovery writes) is proven in the pmem guest suite.
describe.each(HOST_MEDIA)('poison API on a $name (not pmem)', (medium) => {
  let s: ReturnType<typeof scratchDir>;
  let d: Device;
  beforeEach(() => {
    s = scratchDir(medium.dir());
    d = Device.open(s.file('dev'), { create: true, size: 2 * MiB });
    d.fill(0, 0xff, 2 * MiB);
  });
  afterEach(() => {
    d.close();
    s.cleanup();
  });

  it('badblocks() is empty and is read anew each time', () => {
    expect(d.badblocks()).toEqual([]);
    expect(d.badblocks()).not.toBe(d.badblocks());
  });

  it('clearBadblocks overwrites the pages with zeros, or with the data given, durably', () => {
    d.clearBadblocks(4096, 8192);
    expect(d.readSafe(4096, 8192).every((b) => b === 0)).toBe(true);
    expect(d.readSafe(4095, 1)[0]).toBe(0xff);
    expect(d.readSafe(12288, 1)[0]).toBe(0xff);
    const data = new Uint8Array(4096).fill(0x21);
    d.clearBadblocks(0, 4096, data);
    expect(readFileSync(s.file('dev')).subarray(0, 4096).every((b) => b === 0x21)).toBe(true);
  });

  it('deepFlush persists the range and says no deep flush is needed off pmem', () => {
    d.directAccess(0, 1).view[0] = 5;
    expect(d.deepFlush(0, 64)).toBe('not-needed');
    expect(readFileSync(s.file('dev'))[0]).toBe(5);
  });
});
