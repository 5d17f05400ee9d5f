import type { MemFs } from '../../../lib/testing/memfs';
import { NO_BLOCK, PageState, type MemInode } from '../../../lib/testing/memfs-inode';
import type { ModelTarget } from './model-target';

/** The model's view of MemFs: files `/m0`, `/m1`, …; each call is the MemFs method of that name. */
export function memFsTarget(fs: MemFs, count: number): ModelTarget<MemInode, MemInode> {
  const files: MemInode[] = [];
  for (let i = 0; i < count; i++) files.push(fs.create(`/m${i}`));
  return {
    files,
    ops: fs.ops,
    inode: (f) => f,
    read: (f, pos, target) => fs.read(f, pos, target),
    write: (f, pos, data) => fs.write(f, pos, data),
    zeroRange: async (f, pos, len) => {
      await fs.zeroRange(f, pos, len);
    },
    truncate: (f, size) => fs.truncate(f, size),
    punch: (f, pos, len) => fs.punch(f, pos, len),
    fallocate: async (f, pos, len, keep) => fs.fallocate(f, pos, len, keep),
    seekData: (f, off, opts) => fs.seekData(f, off, opts),
    seekHole: (f, off, opts) => fs.seekHole(f, off, opts),
    fiemap: (f, start, len) => fs.fiemap(f, start, len),
    reflink: (src, srcOff, dst, dstOff, len) => fs.reflink(src, srcOff, dst, dstOff, len),
    dedupe: (src, srcOff, dst, dstOff, len) => fs.dedupe(src, srcOff, dst, dstOff, len),
    unshare: (f, pos, len) => fs.unshare(f, pos, len),
    fsync: (f) => fs.fsync(f),
    check: () => fs.check(),
    blockAt: (f, page) => {
      const b = f.blockAt(page);
      return b === NO_BLOCK ? null : b;
    },
    unwrittenAt: (f, page) => (f.stateAt(page) & PageState.UNWRITTEN) !== 0,
  };
}
