import { describeRegions } from './support/region-suite';
import { REGION_DEVICE } from './support/region-device';

describeRegions(REGION_DEVICE);
