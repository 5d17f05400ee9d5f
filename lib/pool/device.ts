import type { DaxDevice, DeviceKind, Granularity } from '../device/types';

/** What the platform says about a device (a native Device's `info`); a test device may carry some of it, or none. */
export interface PoolDeviceFacts {
  readonly kind?: DeviceKind;
  readonly granularity?: Granularity;
  readonly mapSync?: boolean;
  readonly unsafeShutdownCount?: number | null;
  readonly region?: string | null;
  readonly blockDevice?: string | null;
}

/**
 * PoolDevice -- what a pool needs of its device: the DAX layer's surface, and the extras a pool uses
 * where a device has them (platform facts for `info` and the unsafe-shutdown record, the recovery
 * write that clears poison under a metadata block). The native Device and lib/testing's memory
 * devices are PoolDevices as they are; any DaxDevice is one without the extras.
 */
export interface PoolDevice extends DaxDevice {
  readonly info?: PoolDeviceFacts | undefined;
  /**
   * Make the device `size` bytes long without moving what is mapped (a native Device on a file: `grow`).
   * Without it a pool grows only within the device's size.
   */
  grow?(size: number): void;
  /** Overwrite whole pages, clearing the poison under them. */
  clearBadblocks?(offset: number, length: number, data?: ArrayBufferView): void;
  /**
   * Byte-range locks of this open (a native Device: fcntl OFD locks), which readers' claims and the writer's
   * presence are made of (claims.ts). Without them no other open can read the pool beside this one.
   */
  rangeLock?(start: bigint, length: bigint, mode: 'exclusive' | 'shared' | 'none'): boolean;
  rangeConflict?(start: bigint, length: bigint, mode: 'exclusive' | 'shared'): bigint | null;
}
