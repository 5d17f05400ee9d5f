import { formatUsage, UsageError } from './args';
import { backup } from './backup';
import { badblocks } from './badblocks';
import { cat } from './cat';
import { check } from './check';
import type { Command } from './command';
import { ExitCode } from './exit';
import { grow } from './grow';
import { info } from './info';
import { fiemap, ls, stat } from './listing';
import { mkfs } from './mkfs';
import { printLines } from './output';
import { formatProbe, probe as runProbe } from './probe';
import { put } from './put';
import { rm } from './rm';
import { upgrade } from './upgrade';

const probe: Command = {
  name: 'probe',
  synopsis: '[path]',
  summary: 'what this machine offers for path (device-dax, file, or a directory to test in)',
  details: 'With no path, a temporary file (not on pmem). An existing file or device is probed under the exclusive lock ' +
    'a pool\'s writer takes (held elsewhere: exit 4) by rewriting its first 64 KiB with their own bytes; a pmemdax ' +
    'pool is never written (the round trip is skipped). Exits 1 when the persist round trip fails.',
  options: {},
  positional: [0, 1],
  paths: [0],
  async run(args) {
    const report = runProbe(args.positional[0]);
    await printLines([formatProbe(report)]);
    return report.roundTrip === 'mismatch' ? ExitCode.FAILED : ExitCode.OK;
  },
};

const EXIT_CODES = `exit codes:
  0  ok
  1  the operation failed (the error is printed: pmemdax: <message> (<code>))
  2  usage error
  3  check found problems: the pool is inconsistent
  4  the pool is held by another open (ERR_PMEMDAX_POOL_LOCKED)
  5  not a pool, or too damaged to open (ERR_PMEMDAX_CORRUPT)`;

/** overview -- `pmemdax help`: every command, one line each, and the exit codes. */
export function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length + c.synopsis.length)) + 1;
  const lines = COMMANDS.map((c) => `  ${`${c.name} ${c.synopsis}`.padEnd(width)}  ${c.summary}`);
  return ['usage: pmemdax <command> [arguments] [options]', '', 'commands:', ...lines,
    '', "'pmemdax help <command>' (or '<command> --help') describes a command's options; 'pmemdax --version' (-V)",
    'prints the version.', '', EXIT_CODES].join('\n');
}

const help: Command = {
  name: 'help',
  synopsis: '[command]',
  summary: 'this text, or one command\'s options',
  options: {},
  positional: [0, 1],
  async run(args) {
    const name = args.positional[0];
    if (name === undefined) {
      await printLines([overview()]);
      return ExitCode.OK;
    }
    await printLines([formatUsage(findCommand(name))]);
    return ExitCode.OK;
  },
};

const COMMANDS: readonly Command[] = [mkfs, grow, upgrade, info, check, backup, ls, stat, cat, put, rm, fiemap, badblocks, probe, help];

/** findCommand -- the command called `name`; a UsageError for anything else. */
export function findCommand(name: string): Command {
  const command = COMMANDS.find((c) => c.name === name);
  if (command === undefined) throw new UsageError(`unknown command '${name}'`);
  return command;
}
