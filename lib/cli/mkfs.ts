import { statSync } from 'node:fs';
import { Pool, type PoolCreateOptions } from '../pool';
import { parseMode, parseSize, UsageError } from './args';
import { QUIET_OPTION, type Command } from './command';
import { ExitCode } from './exit';
import { fields, formatSize } from './format';
import { printLines } from './output';
import { progressBar } from './progress';

function format(path: string, options: PoolCreateOptions, quiet: boolean): Pool {
  const progress = progressBar('formatting', { quiet });
  try {
    return Pool.create(path, { ...options, progress: progress.report });
  } catch (e) {
    throw withForceHint(e, path);
  } finally {
    progress.end();
  }
}

/** A refusal to format over a pool or other data says how to insist; the error keeps its code. */
function withForceHint(error: unknown, path: string): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (!(error instanceof Error)) return error;
  if (code === 'EEXIST') error.message = `'${path}' already holds a pmemdax pool; pass --force to format over it (its files are lost)`;
  if (code === 'ERR_PMEMDAX_VOLATILE') error.message = error.message.replace(/; pass allowVolatile to format it anyway$/, '; pass --allow-volatile to format it anyway');
  if (code === 'ERR_PMEMDAX_HAS_DATA') error.message = error.message.replace(/; pass force to format over it$/, '; pass --force to format over it (its data is lost)');
  return error;
}

export const mkfs: Command = {
  name: 'mkfs',
  synopsis: '<path>',
  summary: 'format a pool',
  details: 'A new file needs --size; an existing file or a device-dax namespace is formatted at its size. Over an existing pool, or anything that is not blank (a filesystem signature, non-zero bytes in the first 1 MiB), only with --force. A file mkfs creates is mode 600 (owner only) unless --mode says otherwise. A device-dax that is volatile memory (soft-reserved or CXL RAM) only with --allow-volatile.',
  options: {
    size: { kind: 'value', value: 'SIZE', help: 'pool size: bytes, or with K, M, G, T (64M, 1G)' },
    journal: { kind: 'value', value: 'SIZE', help: 'metadata journal size (default 1/64 of the pool, 64K..64M)' },
    force: { kind: 'flag', short: 'f', help: 'format over an existing pool or other data (it is lost)' },
    mode: { kind: 'value', value: 'MODE', help: 'permission bits of a file mkfs creates, in octal (default 600; the umask applies)' },
    'allow-volatile': { kind: 'flag', help: 'format a device-dax that is volatile memory (the pool is lost at power off)' },
    quiet: QUIET_OPTION,
  },
  positional: [1, 1],
  paths: [0],
  async run(args) {
    const path = args.positional[0] as string;
    const sizeText = args.values.get('size');
    const journalText = args.values.get('journal');
    const size = sizeText === undefined ? undefined : parseSize(sizeText, '--size', 'mkfs');
    const journalBytes = journalText === undefined ? undefined : parseSize(journalText, '--journal', 'mkfs');
    const modeText = args.values.get('mode');
    const mode = modeText === undefined ? undefined : parseMode(modeText, 'mode', 'mkfs');
    if (size === undefined && statSync(path, { throwIfNoEntry: false }) === undefined) {
      throw new UsageError(`'${path}' does not exist: give --size to create it`, 'mkfs');
    }
    const options = { size, journalBytes, mode, force: args.flags.has('force'), allowVolatile: args.flags.has('allow-volatile') };
    using pool = format(path, options, args.flags.has('quiet'));
    const fs = pool.statfs();
    await printLines([
      `formatted ${path}`,
      ...fields([
        ['uuid', pool.info.uuid],
        ['size', formatSize(pool.info.size)],
        ['journal', formatSize(pool.info.journalBytes)],
        ['data blocks', `${fs.dataBlocks} of ${pool.info.blockSize} bytes`],
      ]),
    ]);
    return ExitCode.OK;
  },
};
