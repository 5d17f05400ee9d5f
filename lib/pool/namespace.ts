import { poolError } from './errors';
import { freeInode } from './free';
import type { PoolInode } from './inode';
import { INO_MAX, type PoolState } from './state';

// The pool's namespace changes, made on its state and queued for the next commit: the filesystem side
// of Pool, which checks the arguments, looks the names up, commits, and owns the handles.

/**
 * A new inode named `name`. ENOSPC before anything changes when inode numbers ran out or its record
 * would not leave room for the next checkpoint.
 */
export function createFile(s: PoolState, name: string): PoolInode {
  const path = `${s.path}:${name}`;
  if (s.nextIno > INO_MAX) throw poolError('ENOSPC', 'open', path);
  s.needRoomForName(name, 'open', path);
  const inode = s.addInode(s.nextIno, name, Date.now());
  s.namespaceOps.push({ op: 'create', ino: inode.ino, name, ctimeMs: inode.ctimeMs });
  return inode;
}

/** Take back the `createFile` of `inode` (the last change made) when its commit made nothing durable. */
export function undoCreate(s: PoolState, inode: PoolInode): void {
  s.namespaceOps.pop();
  s.dropInode(inode);
  s.nextIno = inode.ino;
}

/** Open with `truncate`: every block goes, the size becomes 0. */
export function truncateFile(s: PoolState, inode: PoolInode): void {
  freeInode(s, inode, false);
  inode.size = 0;
  inode.mtimeMs = Date.now();
  inode.attrDirty = true;
  s.touch(inode);
}

/** Give `src` (called `from`) the name `to`, replacing any file called `to`. */
export function renameFile(s: PoolState, src: PoolInode, from: string, to: string): void {
  const grows = Buffer.byteLength(to) - Buffer.byteLength(from);
  if (grows > 0) s.needRoomForLongerName(grows, 'rename', `${s.path}:${to}`);
  const target = s.names.get(to);
  if (target !== undefined) unlinkFile(s, target);
  s.rename(src, to);
  s.namespaceOps.push({ op: 'name', ino: src.ino, name: to });
  src.ctimeMs = Date.now();
}

/** Remove the name of `inode`: a file still open lives on, nameless, until its last handle closes. */
export function unlinkFile(s: PoolState, inode: PoolInode): void {
  if (inode.opens > 0) {
    s.rename(inode, null);
    s.namespaceOps.push({ op: 'name', ino: inode.ino, name: null });
  } else {
    freeInode(s, inode);
  }
}

/** Free the files left nameless by a crash while they were open; returns how many. */
export function freeOrphans(s: PoolState): number {
  let freed = 0;
  // Every nameless inode memory holds: a whole load reads all, and a lazy recovery all a record touched.
  for (const inode of [...s.nameless]) {
    if (inode.name !== null) continue;
    freeInode(s, inode);
    freed++;
  }
  return freed;
}
