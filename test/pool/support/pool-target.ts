import { Device } from '../../../lib/device/device';
import { Pool, type PoolFile } from '../../../lib/pool';
import { ExtentState, type PageLookup } from '../../../lib/pool/extent-map';
import type { PoolInode } from '../../../lib/pool/inode';
import { NO_BLOCK } from '../../../lib/pool/layout';
import type { ModelTarget, ReopenedView } from '../../dax/support/model-target';

/** One model file: the handle changes when the pool is closed and opened again. */
export interface PoolHandle {
  readonly name: string;
  file: PoolFile;
}

export interface PoolTarget extends ModelTarget<PoolHandle, PoolInode> {
  /** The pool open now (the test closes it). */
  readonly pool: Pool;
}

/**
 * The model's view of a pool: files `m0`, `m1`, … opened (created) in `pool`. Zeroing a range is
 * fallocate(ZERO_RANGE) kept inside EOF, since the pool's zero-range grows the size as fallocate(2)
 * without KEEP_SIZE does. `reopen` fsyncs every file, then in turn either opens the device again
 * read-only beside the pool (a reader's open of the path, for a pool on a file), or closes the pool and continues on `openAgain(closed pool)`: its state
 * then comes from the media (extent maps, reference counts, the allocator).
 */
export function poolTarget(first: Pool, count: number, openAgain: (closed: Pool) => Pool): PoolTarget {
  let pool = first;
  let reopens = 0;
  const files: PoolHandle[] = [];
  for (let i = 0; i < count; i++) files.push({ name: `m${i}`, file: pool.open(`m${i}`, { create: true }) });
  const look: PageLookup = { block: NO_BLOCK, state: 0, run: 0 };
  const readOnlyView = (): ReopenedView => {
    // A reader of a file needs an open of its own (its claims are locks the writer's open cannot see).
    const again = pool.device instanceof Device ? Pool.open(pool.info.path, { readonly: true }) : Pool.openOn(pool.device, { readonly: true });
    try {
      const views = files.map((h) => again.open(h.name, { readonly: true }));
      return { files: views.map((v) => ({ size: v.size, read: (pos, buf) => v.readSync(buf, pos) })), close: () => again.closeSync() };
    } catch (e) {
      again.closeSync();
      throw e;
    }
  };
  const cycle = (): ReopenedView => {
    pool.closeSync();
    pool = openAgain(pool);
    for (const h of files) h.file = pool.open(h.name);
    return { files: files.map((h) => ({ size: h.file.size, read: (pos, buf) => h.file.readSync(buf, pos) })), close: () => {} };
  };
  return {
    files,
    get pool() {
      return pool;
    },
    get ops() {
      return (files[0] as PoolHandle).file.iomapOps;
    },
    inode: (h) => h.file.inode,
    read: (h, pos, target) => h.file.readSync(target, pos),
    write: (h, pos, data) => h.file.write(data, pos),
    zeroRange: async (h, pos, len) => {
      const end = Math.min(pos + len, h.file.size);
      if (end > pos) await h.file.fallocate('zero-range', pos, end - pos);
    },
    truncate: (h, size) => h.file.truncate(size),
    punch: (h, pos, len) => h.file.fallocate('punch-hole', pos, len),
    fallocate: (h, pos, len, keep) => h.file.fallocate(keep ? 'keep-size' : 'allocate', pos, len),
    seekData: (h, off, opts) => h.file.seekData(off, opts),
    seekHole: (h, off, opts) => h.file.seekHole(off, opts),
    fiemap: (h, start, len) => h.file.fiemap(start, len),
    reflink: (src, srcOff, dst, dstOff, len) => src.file.clone(dst.file, srcOff, dstOff, len),
    dedupe: (src, srcOff, dst, dstOff, len) => src.file.dedupe(dst.file, srcOff, dstOff, len),
    unshare: (h, pos, len) => h.file.unshare(pos, len),
    fsync: (h) => h.file.fsync(),
    check: () => pool.check().problems.map((p) => `${p.what} (${p.where}): ${p.message}`),
    blockAt: (h, page) => {
      const b = h.file.inode.extents.blockAt(page);
      return b === NO_BLOCK ? null : b;
    },
    unwrittenAt: (h, page) => (h.file.inode.extents.lookup(page, look).state & ExtentState.UNWRITTEN) !== 0,
    reopen: async () => {
      for (const h of files) await h.file.fsync();
      return reopens++ % 2 === 0 ? readOnlyView() : cycle();
    },
  };
}
