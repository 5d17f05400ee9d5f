export { Device, type DeviceLockMode, type DeviceOpenOptions, type DeviceStats } from './device/device';
export { PAGE_SIZE } from './units';
export { cpuInfo, type CpuInfo } from './device/cpu';
export {
  CopyFlags,
  type ByteRange,
  type CopyKernel,
  type DaxDevice,
  type DeepFlushResult,
  type DeviceInfo,
  type DaxBacking,
  type DeviceKind,
  type Persistence,
  type DirectAccessOptions,
  type DirectAccessResult,
  type FlushMethod,
  type Granularity,
  type OpenOptions,
} from './device/types';
// What a pool file's mmap gives an application. The machinery behind it, for filesystem authors, is
// the 'pmemdax/fs' entry (lib/fs.ts).
export { DaxRegion, type RegionRange } from './vm/region';
export type { MmapOptions } from './vm/file';
export { RegionPin } from './vm/pin';
export { PageState } from './vm/page-state';
export { MAX_ADDRESS_SPACE } from './vm/address-space';
export { PmemdaxError, PmemdaxRangeError, PmemdaxTypeError, errnoError, isErrnoError, type ErrnoCode, type ErrnoError, type ErrorCode, type PmemdaxErrorCode } from './errors';
export * from './pool';
