import { isErrnoError } from '../errors';
import { Pool } from '../pool';
import type { Command } from './command';
import { ExitCode, formatError } from './exit';

export const rm: Command = {
  name: 'rm',
  synopsis: '<pool> <name>...',
  summary: 'remove names from the pool',
  details: 'Durable when the command exits 0. Each name that cannot be removed is reported and the others are ' +
    'still removed; the exit code is then 1.',
  options: { force: { kind: 'flag', short: 'f', help: 'a name that does not exist is not an error' } },
  positional: [2, Infinity],
  paths: [0],
  run(args) {
    const [path, ...names] = args.positional as [string, ...string[]];
    using pool = Pool.open(path);
    let failed = false;
    for (const name of names) {
      try {
        pool.unlink(name);
      } catch (error) {
        if (args.flags.has('force') && isErrnoError(error, 'ENOENT')) continue;
        process.stderr.write(`${formatError(error)}\n`);
        failed = true;
      }
    }
    return failed ? ExitCode.FAILED : ExitCode.OK;
  },
};
