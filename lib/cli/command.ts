import type { CommandSpec, OptionSpec, ParsedArgs } from './args';
import type { ExitCode } from './exit';

/** One `pmemdax <name>` command: its arguments and what it does with them. */
export interface Command extends CommandSpec {
  run(args: ParsedArgs): ExitCode | Promise<ExitCode>;
}

export const JSON_OPTION: OptionSpec = { kind: 'flag', help: 'print JSON instead of text' };
export const QUIET_OPTION: OptionSpec = { kind: 'flag', short: 'q', help: 'no progress bar' };
