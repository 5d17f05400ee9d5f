import { PAGE_SIZE } from '../iomap/constants';
import { iomapSeekData, iomapSeekHole, type SeekProbe } from '../iomap/seek';
import type { IomapOps } from '../iomap/types';
import { daxError } from './errors';
import type { DaxInode } from './types';

export interface DaxSeekOptions {
  /**
   * How pages of an UNWRITTEN extent that have mapping entries count. `'entries'` (the default,
   * as the kernel): any entry, even a ZERO entry left by a read fault, makes its page data.
   * `'hole'`: unwritten extents are always holes, since they always read as zeros.
   */
  readonly unwritten?: 'entries' | 'hole';
}

/** The kernel's answer for DAX unwritten extents: pages with an entry are data, others holes. */
const entryProbe: SeekProbe<DaxInode> = {
  firstData(inode, start, end) {
    const e = inode.mapping.tree.findFirst(Math.floor(start / PAGE_SIZE), Math.floor((end - 1) / PAGE_SIZE));
    return e === undefined ? -1 : Math.max(start, e.index * PAGE_SIZE);
  },
  firstHole(inode, start, end) {
    const tree = inode.mapping.tree;
    const last = Math.floor((end - 1) / PAGE_SIZE);
    let index = Math.floor(start / PAGE_SIZE);
    while (index <= last) {
      const e = tree.findFirst(index, last);
      if (e === undefined || e.index > index) break;
      index = e.index + e.pages;
    }
    return index > last ? -1 : Math.max(start, index * PAGE_SIZE);
  },
};

const holeProbe: SeekProbe<DaxInode> = {
  firstData: () => -1,
  firstHole: (_inode, start) => start,
};

function probeFor(opts: DaxSeekOptions): SeekProbe<DaxInode> {
  return opts.unwritten === 'hole' ? holeProbe : entryProbe;
}

/** daxSeekData -- lseek(SEEK_DATA) (docs/semantics.md §6.6); throws ENXIO past the last data. */
export function daxSeekData(inode: DaxInode, offset: number, ops: IomapOps<DaxInode>, opts: DaxSeekOptions = {}): number {
  const r = iomapSeekData(inode, offset, ops, probeFor(opts));
  if (r < 0) throw daxError(r, 'lseek', { path: inode.path, offset });
  return r;
}

/** daxSeekHole -- lseek(SEEK_HOLE) (docs/semantics.md §6.6); i_size when no hole lies below EOF. */
export function daxSeekHole(inode: DaxInode, offset: number, ops: IomapOps<DaxInode>, opts: DaxSeekOptions = {}): number {
  const r = iomapSeekHole(inode, offset, ops, probeFor(opts));
  if (r < 0) throw daxError(r, 'lseek', { path: inode.path, offset });
  return r;
}
