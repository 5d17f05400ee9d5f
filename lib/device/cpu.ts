import { native, type NativeCpuInfo } from '../native';

export type CpuInfo = NativeCpuInfo;

/** What this CPU offers for persistence, and what a device opened now would use. */
export function cpuInfo(): CpuInfo {
  return native.cpuInfo();
}
