import { Pool } from '../pool';
import type { Command } from './command';
import { ExitCode } from './exit';
import { fields } from './format';
import { printLines } from './output';

export const upgrade: Command = {
  name: 'upgrade',
  synopsis: '<pool>',
  summary: 'upgrade a pool of format version 1 to version 2 in place (it must not be open)',
  details: 'The metadata are written in the new format into free blocks, then the superblocks switch to them; the files stay as they are. A crash leaves the pool of version 1 (upgrade it again) or of version 2. A pool of version 2 is left as it is (exit 0). A damaged pool is refused (exit 5).',
  options: {},
  positional: [1, 1],
  paths: [0],
  async run(args) {
    const [path] = args.positional as [string];
    const upgraded = Pool.upgrade(path);
    using pool = Pool.open(path, { readonly: true });
    const fs = pool.statfs();
    await printLines([
      upgraded ? `upgraded ${path} to format version ${pool.info.formatVersion}` : `${path} is format version ${pool.info.formatVersion} already`,
      ...fields([
        ['files', String(fs.files)],
        ['free blocks', `${fs.freeBlocks} of ${fs.dataBlocks}`],
      ]),
    ]);
    return ExitCode.OK;
  },
};
