import { Pool } from '../pool';
import type { Command } from './command';
import { ExitCode } from './exit';
import { writeOut } from './output';

const CHUNK = 1024 * 1024;

export const cat: Command = {
  name: 'cat',
  synopsis: '<pool> <name>',
  summary: 'write a file\'s bytes to stdout',
  details: 'A reader that stops early (| head) ends it quietly, with exit code 0. A poisoned range fails with EIO.',
  options: {},
  positional: [2, 2],
  paths: [0],
  async run(args) {
    const [path, name] = args.positional as [string, string];
    using pool = Pool.open(path, { readonly: true });
    using file = pool.open(name, { readonly: true });
    const buf = new Uint8Array(CHUNK);
    for (let pos = 0; ;) {
      const n = file.readSync(buf, pos);
      if (n === 0) break;
      // The buffer is reused only after the write has been handed to the OS.
      if (!(await writeOut(buf.subarray(0, n)))) break;
      pos += n;
    }
    return ExitCode.OK;
  },
};
