// The region suites (faults, write traps, writeback, private copies, pins, security) on each pmem medium:
// a file on ext4/xfs -o dax, or device-dax used whole. On device-dax aligned to 2 MiB only 2 MiB mappings
// exist, and the suite asserts the documented error for 4 KiB faults instead.
import { describe, it } from 'vitest';
import { describeRegions } from './support/region-suite';
import { describeRegionSecurity } from './support/region-security-suite';
import { pmemMedium } from '../support/pmem';

if (pmemMedium !== null) {
  describeRegions(pmemMedium.path, { pteUnsupported: (pmemMedium.devdaxAlign ?? 4096) > 4096 });
  if (!pmemMedium.devdax) describeRegionSecurity(pmemMedium.path);
} else {
  describe.skip('regions on pmem (only in the guest)', () => it('needs pmem', () => {}));
}
