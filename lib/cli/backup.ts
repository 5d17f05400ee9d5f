import { readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Pool, type BackupReport } from '../pool';
import { BACKUP_TEMP_PREFIX } from '../pool/backup';
import { JSON_OPTION, QUIET_OPTION, type Command } from './command';
import { ExitCode } from './exit';
import { fields, formatSize } from './format';
import { printJson, printLines } from './output';
import { progressBar } from './progress';

export const backup: Command = {
  name: 'backup',
  synopsis: '<pool> <dest>',
  summary: 'copy a pool, open or not, into a new file (a consistent committed state)',
  details: 'The copy holds the state committed when the backup starts, taken beside a running writer as a reader takes ' +
    'its snapshot: the writer is never stopped or waited for. dest must not exist; the copy is written under a ' +
    'temporary name beside it and appears whole or not at all. It is a pool with the same identity, sparse where ' +
    'the source\'s blocks are free; restore is opening it (or copying it back while no writer has the pool open).',
  options: { json: JSON_OPTION, quiet: QUIET_OPTION },
  positional: [2, 2],
  paths: [0, 1],
  async run(args) {
    const [path, dest] = args.positional as [string, string];
    const progress = progressBar('copying', { quiet: args.flags.has('quiet') });
    const uninstall = removeCopyOnSignal(dest);
    let report: BackupReport;
    try {
      report = await Pool.backup(path, dest, { progress: progress.report });
    } finally {
      uninstall();
      progress.end();
    }
    if (args.flags.has('json')) {
      await printJson({ source: path, ...report });
    } else {
      await printLines([
        `copied ${path} to ${dest}`,
        ...fields([
          ['copied', formatSize(report.bytes)],
          ['state', `epoch ${report.epoch}, ${report.seq} journal record${report.seq === 1 ? '' : 's'}`],
        ]),
      ]);
    }
    return ExitCode.OK;
  },
};

/**
 * Ctrl-C or SIGTERM during the copy: the partial copy (this process's temporary file beside `dest`) is removed
 * before the exit, as a command's cleanup would be. (SIGKILL leaves it: `.pmemdax-backup-<pid>-<hex>`.)
 */
function removeCopyOnSignal(dest: string): () => void {
  const handler = (signal: NodeJS.Signals): void => {
    const dir = dirname(dest);
    const mine = `${BACKUP_TEMP_PREFIX}${process.pid}-`;
    try {
      for (const name of readdirSync(dir)) if (name.startsWith(mine)) rmSync(join(dir, name), { force: true });
    } finally {
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}
