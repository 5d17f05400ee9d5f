import { describeRegionSecurity } from './support/region-security-suite';
import { REGION_DEVICE } from './support/region-device';

// Device-dax cannot hold device files: the child processes then use /dev/shm.
describeRegionSecurity(REGION_DEVICE.startsWith('/dev/dax') ? '/dev/shm' : REGION_DEVICE);
