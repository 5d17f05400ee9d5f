// What Device.open makes of each kind of path on real (emulated) pmem: device-dax, a file on a dax
// filesystem, and an ordinary file on tmpfs, where the kernel refuses MAP_SYNC.
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Device } from '../../lib/index';
import { MiB, mappingFlags, pmemMedium } from '../support/pmem';

const medium = pmemMedium;

const DEEP_FLUSH_RESULTS = ['done', 'not-needed', 'not-permitted'];

describe.skipIf(medium === null)('classification on pmem', () => {
  if (medium === null) return;
  let dir: string | null = null;
  let path: string;
  let d: Device;

  beforeAll(() => {
    if (medium.devdax) {
      path = medium.path;
      d = Device.open(path);
    } else {
      dir = mkdtempSync(join(medium.path, 'classify-'));
      path = join(dir, 'dev');
      d = Device.open(path, { create: true, size: 8 * MiB });
    }
  });
  afterAll(() => {
    d?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(`${medium.name}: is ${medium.devdax ? 'devdax' : 'fsdax'}, on pmem, mapped with MAP_SYNC at cache-line (or byte) granularity`, () => {
    expect(d.info.kind).toBe(medium.devdax ? 'devdax' : 'fsdax');
    expect(d.info.pmem).toBe(true);
    expect(d.info.mapSync).toBe(true);
    expect(d.info.mapSyncReason).toBeNull();
    expect(['cacheline', 'byte']).toContain(d.info.granularity);
    expect(d.info.flush).toMatch(d.info.granularity === 'byte' ? /^none$/ : /^(clwb|clflushopt|clflush)$/);
    expect(d.info.blockDevice).toBe(medium.devdax ? 'dax0.0' : medium.blockDevice);
    expect(d.info.region).toMatch(/region\d+$/);
  });

  it(`${medium.name}: the kernel holds the mapping as VM_SYNC (smaps flag "sf")`, () => {
    // Independent of what info says: proves the flag reached mmap and was accepted.
    const flags = mappingFlags(path);
    expect(flags.length).toBeGreaterThan(0);
    for (const f of flags) expect(f).toContain('sf');
  });

  it(`${medium.name}: size and alignment`, () => {
    if (medium.devdax) {
      expect(d.size).toBeGreaterThan(512 * MiB);
      expect(d.info.alignment).toBe(Math.max(2 * MiB, medium.devdaxAlign ?? 0));
      expect(d.info.deviceAlignment).toBe(medium.devdaxAlign);
    } else {
      expect(d.size).toBe(8 * MiB);
      expect(d.info.alignment).toBe(2 * MiB);
      expect(d.info.deviceAlignment).toBe(4096);
    }
  });

  it(`${medium.name}: deepFlush returns a defined result and the unsafe-shutdown count is null (no DIMMs)`, () => {
    d.fill(0, 0x5a, 4096);
    expect(DEEP_FLUSH_RESULTS).toContain(d.deepFlush(0, 4096));
    expect(d.info.unsafeShutdownCount).toBeNull();
  });

  it('a file on tmpfs is an ordinary file: MAP_SYNC refused, page granularity through msync', () => {
    const tmp = mkdtempSync('/tmp/pmemdax-classify-');
    try {
      const f = Device.open(join(tmp, 'dev'), { create: true, size: 4 * MiB });
      try {
        expect(f.info.kind).toBe('file');
        expect(f.info.pmem).toBe(false);
        expect(f.info.mapSync).toBe(false);
        expect(f.info.mapSyncReason).toEqual(expect.any(String));
        expect(f.info.granularity).toBe('page');
        expect(f.info.flush).toBe('msync');
        expect(mappingFlags(join(tmp, 'dev')).every((flags) => !flags.includes('sf'))).toBe(true);
      } finally {
        f.close();
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
