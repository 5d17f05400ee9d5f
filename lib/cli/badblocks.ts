import { Pool, type PoolBadblock } from '../pool';
import { JSON_OPTION, type Command } from './command';
import { ExitCode } from './exit';
import { table } from './format';
import { printJson, printLines } from './output';

function ownerText(b: PoolBadblock): string {
  switch (b.owner.kind) {
    case 'metadata':
      return `metadata: ${b.owner.area}`;
    case 'free':
      return 'free space';
    case 'file':
      return `file '${b.owner.name}' at offset ${b.owner.fileOffset}`;
  }
}

export const badblocks: Command = {
  name: 'badblocks',
  synopsis: '<pool>',
  summary: 'known poisoned ranges in the pool and what each one hits',
  details: 'Offsets and lengths are device bytes. A range hits metadata (which area), free space, or a file (at which file offset).',
  options: { json: JSON_OPTION },
  positional: [1, 1],
  paths: [0],
  async run(args) {
    const path = args.positional[0] as string;
    using pool = Pool.open(path, { readonly: true });
    const found = pool.badblocks();
    if (args.flags.has('json')) await printJson(found);
    else if (found.length === 0) await printLines([`${path}: no known badblocks`]);
    else await printLines(table(['offset', 'length', 'hits'], found.map((b) => [b.offset, b.length, ownerText(b)])));
    return ExitCode.OK;
  },
};
