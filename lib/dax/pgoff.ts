import { PAGE_SIZE } from '../iomap/constants';
import type { Iomap } from '../iomap/types';

/** dax_iomap_pgoff -- the device page holding file byte `pos` of mapping `m`. */
export function iomapPgoff(m: Readonly<Iomap>, pos: number): number {
  return (m.addr + (pos - (pos % PAGE_SIZE)) - m.offset) / PAGE_SIZE;
}

/** The device byte address of file byte `pos` of mapping `m`. */
export function iomapDeviceOffset(m: Readonly<Iomap>, pos: number): number {
  return m.addr + (pos - m.offset);
}
