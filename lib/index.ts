export { Device, PAGE_SIZE, type DeviceLockMode, type DeviceOpenOptions, type DeviceStats } from './device/device';
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
export * from './vm';
// The DAX machinery, kernel-shaped: iomap iteration and operations, and the mapping-entry layer with the
// file operations built on it.
export * as iomap from './iomap';
export * as dax from './dax';
export { PmemdaxError, PmemdaxRangeError, PmemdaxTypeError, errnoError, isErrnoError, type ErrnoCode, type ErrnoError, type ErrorCode, type PmemdaxErrorCode } from './errors';
export * from './pool';
