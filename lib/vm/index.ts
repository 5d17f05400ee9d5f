export { AddressSpace, MAX_ADDRESS_SPACE, VM_PAGE, type PageAccess } from './address-space';
export { DaxFile, type DaxFileHost, type FileRange, type MmapOptions } from './file';
export { DaxRegion, type RegionRange } from './region';
export { RegionPin } from './pin';
export { PageState } from './page-state';
export { emptyVmStats, type VmStats } from './stats';
export { RegionPageTable, type PageTableOwner, type RegionShape } from './page-table';
