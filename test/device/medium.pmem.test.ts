// The harness itself: the medium the guest prepared is what the suite is told it is.
import { readFileSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { pmemMedium } from '../support/pmem';

const medium = pmemMedium;

describe.skipIf(medium === null)('pmem guest medium', () => {
  if (medium === null) return;

  it.runIf(!medium.devdax)(`${medium.name}: the pmem disk is mounted with dax`, () => {
    const mount = readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .map((l) => l.split(' '))
      .find((f) => f[1] === medium.path);
    expect(mount?.[0]).toBe(`/dev/${medium.blockDevice ?? ''}`);
    expect(mount?.[2]).toBe(medium.name === 'ext4-dax' ? 'ext4' : 'xfs');
    // Shown as `dax` or `dax=always` depending on the kernel.
    expect(mount?.[3]?.split(',').some((o) => o === 'dax' || o === 'dax=always')).toBe(true);
  });

  it.runIf(medium.devdax)(`${medium.name}: the device-dax namespace has the requested alignment`, () => {
    expect(statSync(medium.path).isCharacterDevice()).toBe(true);
    const align = Number(readFileSync('/sys/bus/dax/devices/dax0.0/align', 'utf8'));
    expect(align).toBe(medium.devdaxAlign);
  });
});
