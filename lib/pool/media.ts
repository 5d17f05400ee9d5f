// What a pool asks of the file or device it is made on, before anything is formatted.
import type { DeviceInfo } from '../device/types';
import { PmemdaxError } from '../errors';

/**
 * The mode of a pool file `Pool.create` makes: owner only. A pool holds one service's named files; nothing
 * about it should be world-readable by default (docs/design.md, "Pool file mode").
 */
export const POOL_FILE_MODE = 0o600;

/**
 * refuseVolatileDevdax -- a device-dax over volatile memory looks like pmem but loses everything at power
 * off: formatting a pool there takes `allowVolatile`. A file on tmpfs is not refused: its path says RAM.
 */
export function refuseVolatileDevdax(info: Pick<DeviceInfo, 'kind' | 'volatile' | 'daxBacking'>, path: string, allowVolatile: boolean | undefined): void {
  if (info.kind !== 'devdax' || !info.volatile || allowVolatile === true) return;
  throw new PmemdaxError(
    'ERR_PMEMDAX_VOLATILE',
    `'${path}' is device-dax over volatile memory (${info.daxBacking ?? 'unknown'}): a pool there is lost at power off; pass allowVolatile to format it anyway`,
    { path },
  );
}
