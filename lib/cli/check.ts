import { Pool, type CheckReport } from '../pool';
import { JSON_OPTION, QUIET_OPTION, type Command } from './command';
import { ExitCode } from './exit';
import { unsafeShutdownWarning } from './info';
import { printJson, printLines } from './output';
import { progressBar } from './progress';

function runCheck(path: string, quiet: boolean): CheckReport {
  const progress = progressBar('checking', { quiet });
  try {
    return Pool.check(path, { progress: progress.report });
  } finally {
    progress.end();
  }
}

export const check: Command = {
  name: 'check',
  synopsis: '<pool>',
  summary: 'check a pool\'s metadata (read-only)',
  details: 'The pool is not loaded: the check walks its metadata on the media, in memory that does not grow with ' +
    'the number of files. Each problem is printed with what is wrong and where; the exit code is then 3. An unsafe shutdown ' +
    'since the pool was last closed is printed as a warning and does not change the exit code.',
  options: { json: JSON_OPTION, quiet: QUIET_OPTION },
  positional: [1, 1],
  paths: [0],
  async run(args) {
    const path = args.positional[0] as string;
    const report = runCheck(path, args.flags.has('quiet'));
    const warning = unsafeShutdownWarning(report.unsafeShutdown);
    if (warning !== null) process.stderr.write(`pmemdax: warning: ${warning}\n`);
    if (args.flags.has('json')) {
      await printJson({ path, ...report });
    } else {
      const n = report.problems.length;
      await printLines([
        ...report.problems.map((p) => `problem: ${p.what} at ${p.where}: ${p.message}`),
        `${path}: ${report.files} files, ${report.blocksUsed} blocks used, ` +
          (n === 0 ? 'no problems' : `${n} problem${n === 1 ? '' : 's'}`),
      ]);
    }
    return report.ok ? ExitCode.OK : ExitCode.PROBLEMS;
  },
};
