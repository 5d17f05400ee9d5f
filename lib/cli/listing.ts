import { Pool, type PoolStat } from '../pool';
import { parseCount } from './args';
import { JSON_OPTION, type Command } from './command';
import { ExitCode } from './exit';
import { fiemapFlagNames, fields, formatSize, formatTime, shownName, table } from './format';
import { printJson, printLines } from './output';

export const ls: Command = {
  name: 'ls',
  synopsis: '<pool> [prefix]',
  summary: 'list the names in a pool in name order (code points), or those starting with prefix',
  options: {
    long: { kind: 'flag', short: 'l', help: 'size, allocated bytes, extents and modification time too' },
    after: { kind: 'value', value: 'NAME', emptyValue: true, help: 'only the names after NAME (the last name of the previous page)' },
    limit: { kind: 'value', value: 'N', help: 'at most N names' },
    json: JSON_OPTION,
  },
  positional: [1, 2],
  paths: [0],
  async run(args) {
    const [path, prefix] = args.positional as [string, string | undefined];
    const after = args.values.get('after');
    const limitText = args.values.get('limit');
    const limit = limitText === undefined ? undefined : parseCount(limitText, 'limit', 'ls');
    using pool = Pool.open(path, { readonly: true });
    const names = [
      ...pool.list({
        ...(prefix === undefined ? {} : { prefix }),
        ...(after === undefined ? {} : { after }),
        ...(limit === undefined ? {} : { limit }),
      }),
    ];
    const long = args.flags.has('long');
    if (args.flags.has('json')) {
      await printJson(long ? names.map((n) => pool.stat(n)) : names);
    } else if (long) {
      const rows = names.map((n) => pool.stat(n)).map((s) => [s.size, s.allocated, s.extents, formatTime(s.mtimeMs), shownName(s.name)]);
      if (rows.length > 0) await printLines(table(['size', 'allocated', 'extents', 'modified', 'name'], rows));
    } else {
      await printLines(names.map(shownName));
    }
    return ExitCode.OK;
  },
};

function statLines(s: PoolStat): string[] {
  return fields([
    ['name', shownName(s.name)],
    ['inode', String(s.ino)],
    ['size', formatSize(s.size)],
    ['allocated', formatSize(s.allocated)],
    ['extents', String(s.extents)],
    ['modified', formatTime(s.mtimeMs)],
    ['changed', formatTime(s.ctimeMs)],
  ]);
}

export const stat: Command = {
  name: 'stat',
  synopsis: '<pool> <name>',
  summary: 'a file\'s inode, size, allocated bytes, extent count and times',
  options: { json: JSON_OPTION },
  positional: [2, 2],
  paths: [0],
  async run(args) {
    const [path, name] = args.positional as [string, string];
    using pool = Pool.open(path, { readonly: true });
    const s = pool.stat(name);
    if (args.flags.has('json')) await printJson(s);
    else await printLines(statLines(s));
    return ExitCode.OK;
  },
};

export const fiemap: Command = {
  name: 'fiemap',
  synopsis: '<pool> <name>',
  summary: 'a file\'s extents',
  details: 'File offset, device offset and length in bytes, and the FIEMAP flags (unwritten, shared, last).',
  options: { json: JSON_OPTION },
  positional: [2, 2],
  paths: [0],
  async run(args) {
    const [path, name] = args.positional as [string, string];
    using pool = Pool.open(path, { readonly: true });
    using file = pool.open(name, { readonly: true });
    const extents = file.fiemap().map((e) => ({ ...e, flagNames: fiemapFlagNames(e.flags) }));
    if (args.flags.has('json')) {
      await printJson(extents);
    } else if (extents.length === 0) {
      await printLines([`${shownName(name)}: no extents (empty, or holes only)`]);
    } else {
      const rows = extents.map((e) => [e.logical, e.physical, e.length, e.flagNames.join(',')]);
      await printLines(table(['logical', 'physical', 'length', 'flags'], rows));
    }
    return ExitCode.OK;
  },
};
