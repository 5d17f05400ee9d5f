import type { Pool, PoolFile } from '../../../lib';
import type { DaxDevice } from '../../../lib/device/types';
import { PAGE_SIZE } from '../../../lib/iomap/constants';
import type { DaxRegion } from '../../../lib/vm/region';
import type { MemFs, MemInode } from '../../../lib/testing';
import type { GrowFile } from './eof-gap-suite';

/** Stores past EOF: through a region when the backend has one, else into the block on the device. */
export type Scribbler = (size: number, value: number) => Promise<void>;

/** A region over the first pages of a file, its EOF page faulted in for writing: stores go straight to the media. */
export function regionScribbler(map: () => DaxRegion): Scribbler {
  return async (size, value) => {
    const region = map();
    const eofPage = Math.floor(size / PAGE_SIZE) * PAGE_SIZE;
    await region.populate({ offset: eofPage, length: PAGE_SIZE }, 'write');
    region.bytes.fill(value, size, eofPage + PAGE_SIZE);
  };
}

export function memFsFile(fs: MemFs, inode: MemInode, scribble?: Scribbler): GrowFile {
  return {
    size: () => inode.size,
    write: async (pos, bytes) => void (await fs.write(inode, pos, bytes)),
    allocate: async (pos, len, keepSize) => fs.fallocate(inode, pos, len, keepSize),
    truncate: (size) => fs.truncate(inode, size),
    cloneIn: async (at, data) => {
      const src = fs.create();
      await fs.write(src, 0, data);
      await fs.reflink(src, 0, inode, at, data.length);
    },
    read: (pos, len) => {
      const b = new Uint8Array(len);
      return b.subarray(0, fs.read(inode, pos, b));
    },
    scribblePastEof: async (value) => {
      if (scribble !== undefined) return scribble(inode.size, value);
      const size = inode.size;
      const block = inode.blockAt(Math.floor(size / PAGE_SIZE));
      fs.device.fill(block * PAGE_SIZE + (size % PAGE_SIZE), value, PAGE_SIZE - (size % PAGE_SIZE));
    },
  };
}

/** The device address of file byte `pos` (which must be allocated). */
function physicalOf(f: PoolFile, pos: number): number {
  const ext = f.fiemap(pos, 1)[0];
  if (ext === undefined || ext.physical === 0) throw new Error(`byte ${pos} of ${f.name} has no block`);
  return ext.physical + (pos - ext.logical);
}

export function poolGrowFile(pool: Pool, f: PoolFile, device: DaxDevice, scribble?: Scribbler): GrowFile {
  let clones = 0;
  return {
    size: () => f.size,
    write: async (pos, bytes) => void (await f.write(bytes, pos)),
    writeSync: (pos, bytes) => void f.writeSync(bytes, pos),
    append: async (bytes) => void (await f.append(bytes)),
    appendSync: (bytes) => void f.appendSync(bytes),
    allocate: (pos, len, keepSize) => f.fallocate(keepSize ? 'keep-size' : 'allocate', pos, len),
    zeroRangeGrow: (pos, len) => f.fallocate('zero-range', pos, len),
    truncate: (size) => f.truncate(size),
    cloneIn: async (at, data) => {
      const src = pool.open(`clone-source-${clones++}`, { create: true });
      src.writeSync(data, 0);
      await src.clone(f, 0, at, data.length);
      src.close();
    },
    read: (pos, len) => {
      const b = new Uint8Array(len);
      return b.subarray(0, f.readSync(b, pos));
    },
    scribblePastEof: async (value) => {
      if (scribble !== undefined) return scribble(f.size, value);
      const size = f.size;
      device.fill(physicalOf(f, size - 1) + 1, value, PAGE_SIZE - (size % PAGE_SIZE));
    },
  };
}
