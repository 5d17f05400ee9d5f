import { Pool } from '../pool';
import { parseSize, UsageError } from './args';
import type { Command } from './command';
import { ExitCode } from './exit';
import { fields, formatSize } from './format';
import { printLines } from './output';

export const grow: Command = {
  name: 'grow',
  synopsis: '<pool> <size>',
  summary: 'grow a file-backed pool to size (it must not be open)',
  details: 'The file is extended and the pool takes the new blocks as free space; its files stay as they are. A crash leaves the pool as it was or grown. Size: bytes, or with K, M, G, T (64M, 1G), at most 2^32 - 2 blocks of 4 KiB. A pool cannot shrink, and device-dax has the size of its region.',
  options: {},
  positional: [2, 2],
  paths: [0],
  async run(args) {
    const [path, sizeText] = args.positional as [string, string];
    const size = parseSize(sizeText, 'the size', 'grow');
    const before = poolSize(path);
    try {
      Pool.grow(path, size);
    } catch (e) {
      if ((e as { code?: unknown }).code === 'ERR_OUT_OF_RANGE') throw new UsageError(`invalid size '${sizeText}': ${(e as Error).message}`, 'grow');
      throw e;
    }
    using pool = Pool.open(path, { readonly: true });
    const fs = pool.statfs();
    await printLines([
      pool.info.size === before ? `${path} is that size already` : `grew ${path}`,
      ...fields([
        ['size', formatSize(pool.info.size)],
        ['free blocks', `${fs.freeBlocks} of ${fs.dataBlocks}`],
      ]),
    ]);
    return ExitCode.OK;
  },
};

function poolSize(path: string): number {
  using pool = Pool.open(path, { readonly: true });
  return pool.info.size;
}
