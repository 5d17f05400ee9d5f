import type { DaxDevice } from '../device/types';
import { PAGE_SIZE } from '../iomap/constants';
import { Errno } from '../iomap/errno';
import { deleteMappingRange } from './delete';
import { daxError } from './errors';
import { daxLayoutBusyPageRange } from './layout-busy';
import type { DaxMapping } from './mapping';
import { waitPageIdle } from './pins';

export interface BreakLayoutOptions {
  /** Wait for pinned pages to be released (truncate, punch); without it a busy page is `EBUSY`. */
  readonly wait?: boolean;
  /** For error messages. */
  readonly path?: string;
  /**
   * Run while waiting for a pinned page (the kernel's `cb`): a filesystem drops and retakes its
   * locks here so the pin holder can make progress.
   */
  readonly whileWaiting?: (idle: Promise<void>) => Promise<void>;
}

/**
 * daxBreakLayout -- dax_break_layout for file pages `[first, last]`: until no page in the range is
 * busy, unmap it and wait for the first busy page to be released (or fail with `EBUSY` when not
 * waiting, leaving every entry in place: invariant 27); then delete every entry of the range.
 * Called before an operation changes the block map, so no mapping or pin outlives the blocks.
 */
export async function daxBreakLayout(m: DaxMapping, device: DaxDevice, first: number, last: number, opts: BreakLayoutOptions = {}): Promise<void> {
  for (;;) {
    const busy = await daxLayoutBusyPageRange(m, device, first, last);
    if (busy === null) break;
    if (opts.wait !== true) {
      throw daxError(-Errno.EBUSY, 'break_layout', { path: opts.path, offset: busy.index * PAGE_SIZE });
    }
    const idle = waitPageIdle(device, busy.pfn);
    await (opts.whileWaiting ? opts.whileWaiting(idle) : idle);
  }
  await deleteMappingRange(m, first, last);
}
