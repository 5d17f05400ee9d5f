import { Device } from '../device/device';
import { argTypeError } from '../errors';
import { DaxFile } from '../vm/file';
import type { MemFs } from './memfs';
import type { MemInode } from './memfs-inode';

/**
 * memFsFile -- a MemFs file made mappable: the reference filesystem on a native Device (a file on
 * /dev/shm, fsdax or device-dax) supplies the inode, its iomap ops, fsync and the invalidate lock.
 */
export function memFsFile(fs: MemFs, inode: MemInode): DaxFile {
  const device = fs.device;
  if (!(device instanceof Device)) throw argTypeError('memFsFile needs a MemFs on a native Device');
  return new DaxFile({
    inode,
    ops: fs.ops,
    device,
    // MemFs writes back the range and commits all of the file's metadata at once.
    fsync: (start, end) => fs.fsync(inode, { start, end }),
    invalidateLock: inode.invalidateLock,
  });
}
