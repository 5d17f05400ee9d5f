import { describeRegions } from './support/region-suite';
import { REGION_DEVICE } from './support/region-device';

describeRegions(REGION_DEVICE);
// Writeback through cache-line flushes rather than msync, as on pmem with MAP_SYNC.
describeRegions(REGION_DEVICE, { env: { PMEMDAX_FORCE_GRANULARITY: 'cacheline' } });
