import { daxCopyAround } from '../../../lib/dax/copy-around';
import { FALLBACK, grabMappingEntry } from '../../../lib/dax/grab';
import { insertEntry } from '../../../lib/dax/insert';
import { unlockEntry } from '../../../lib/dax/lock';
import { IomapFlag, IomapOp, IomapType, PAGE_SIZE } from '../../../lib/iomap/constants';
import type { IomapOps } from '../../../lib/iomap/types';
import type { FaultInode } from './model-target';

export type Pause = () => Promise<void>;

/**
 * simulateFault -- the entry side of a PTE fault (docs/semantics.md §4.2) without page tables: hold the
 * invalidate lock shared, grab the entry, ask the filesystem (DAX|FAULT, +WRITE for a shared write
 * fault), record a ZERO entry for a hole read or the block otherwise, and unlock. `pause` runs at
 * the points where a real fault may sleep, to open race windows. Returns false for SIGBUS (EOF).
 * `fs` is anything with the filesystem's iomap operations (a MemFs, a model target).
 */
export async function simulateFault<I extends FaultInode>(fs: { readonly ops: IomapOps<I> }, f: I, index: number, write: boolean, pause: Pause): Promise<boolean> {
  const release = await f.invalidateLock.read();
  try {
    if (index >= Math.ceil(f.size / PAGE_SIZE)) return false;
    const e = await grabMappingEntry(f.mapping, index, 0);
    if (e === FALLBACK) throw new Error('PTE grab fell back');
    try {
      await pause();
      const flags = IomapOp.DAX | IomapOp.FAULT | (write ? IomapOp.WRITE : 0);
      const pos = index * PAGE_SIZE;
      const { iomap, srcmap } = fs.ops.begin(f, pos, PAGE_SIZE, flags);
      let written = 0;
      try {
        await pause();
        const hole = iomap.type === IomapType.HOLE || iomap.type === IomapType.UNWRITTEN;
        const pfn = hole ? 0 : (iomap.addr + pos - iomap.offset) / PAGE_SIZE;
        const shared = (iomap.flags & IomapFlag.SHARED) !== 0;
        insertEntry(f.mapping, e, { pfn, zero: hole && !write }, { write, sync: false, shared });
        // A CoW write fault fills the whole new block from the old one before it is mapped.
        if (write && shared && daxCopyAround(pos, PAGE_SIZE, PAGE_SIZE, srcmap ?? iomap, iomap, true) < 0) throw new Error('copy-around failed');
        written = PAGE_SIZE;
      } finally {
        fs.ops.end?.(f, pos, PAGE_SIZE, written, flags, iomap);
      }
      await pause();
    } finally {
      unlockEntry(f.mapping, e);
    }
    return true;
  } finally {
    release();
  }
}
