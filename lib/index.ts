export { Device, PAGE_SIZE, type DeviceOpenOptions, type DeviceStats } from './device/device';
export { cpuInfo, type CpuInfo } from './device/cpu';
export {
  CopyFlags,
  type ByteRange,
  type CopyKernel,
  type DaxDevice,
  type DeepFlushResult,
  type DeviceInfo,
  type DeviceKind,
  type DirectAccessOptions,
  type DirectAccessResult,
  type FlushMethod,
  type Granularity,
  type OpenOptions,
} from './device/types';
export { AddressSpace, VM_PAGE, type PageAccess } from './vm/address-space';
export { PmemdaxError, errnoError, isErrnoError, type ErrnoError, type PmemdaxErrorCode } from './errors';
