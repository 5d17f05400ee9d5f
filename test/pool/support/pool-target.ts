import { Pool, type PoolFile } from '../../../lib/pool';
import { ExtentState, type PageLookup } from '../../../lib/pool/extent-map';
import type { PoolInode } from '../../../lib/pool/inode';
import { NO_BLOCK } from '../../../lib/pool/layout';
import type { ModelTarget, ReopenedView } from '../../dax/support/model-target';

/**
 * The model's view of a pool: files `m0`, `m1`, … opened (created) in `pool`. Zeroing a range is
 * fallocate(ZERO_RANGE) kept inside EOF, since the pool's zero-range grows the size as fallocate(2)
 * without KEEP_SIZE does; `reopen` fsyncs every file and opens the device again, read-only.
 */
export function poolTarget(pool: Pool, count: number): ModelTarget<PoolFile, PoolInode> {
  const files: PoolFile[] = [];
  for (let i = 0; i < count; i++) files.push(pool.open(`m${i}`, { create: true }));
  const look: PageLookup = { block: NO_BLOCK, state: 0, run: 0 };
  return {
    files,
    ops: (files[0] as PoolFile).iomapOps,
    inode: (f) => f.inode,
    read: (f, pos, target) => f.readSync(target, pos),
    write: (f, pos, data) => f.write(data, pos),
    zeroRange: async (f, pos, len) => {
      const end = Math.min(pos + len, f.size);
      if (end > pos) await f.fallocate('zero-range', pos, end - pos);
    },
    truncate: (f, size) => f.truncate(size),
    punch: (f, pos, len) => f.fallocate('punch-hole', pos, len),
    fallocate: (f, pos, len, keep) => f.fallocate(keep ? 'keep-size' : 'allocate', pos, len),
    seekData: (f, off, opts) => f.seekData(off, opts),
    seekHole: (f, off, opts) => f.seekHole(off, opts),
    fiemap: (f, start, len) => f.fiemap(start, len),
    reflink: (src, srcOff, dst, dstOff, len) => src.clone(dst, srcOff, dstOff, len),
    dedupe: (src, srcOff, dst, dstOff, len) => src.dedupe(dst, srcOff, dstOff, len),
    unshare: (f, pos, len) => f.unshare(pos, len),
    fsync: (f) => f.fsync(),
    check: () => pool.check().problems.map((p) => `${p.what} (${p.where}): ${p.message}`),
    blockAt: (f, page) => {
      const b = f.inode.extents.blockAt(page);
      return b === NO_BLOCK ? null : b;
    },
    unwrittenAt: (f, page) => (f.inode.extents.lookup(page, look).state & ExtentState.UNWRITTEN) !== 0,
    reopen: async (): Promise<ReopenedView> => {
      for (const f of files) await f.fsync();
      const again = Pool.openOn(pool.device, { readonly: true });
      try {
        const views = files.map((f) => again.open(f.name, { readonly: true }));
        return {
          files: views.map((v) => ({ size: v.size, read: (pos, buf) => v.readSync(buf, pos) })),
          close: () => again.close(),
        };
      } catch (e) {
        again.close();
        throw e;
      }
    },
  };
}
