#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { internalError } from '../errors';
import { formatUsage, parseArgs, UsageError, usageLine } from './args';
import { findCommand, overview } from './registry';
import { ExitCode, exitCodeFor, formatError } from './exit';
import { guardStdout, printLines } from './output';

/** The installed package's version: dist/cli/main.js sits two levels below package.json. */
function packageVersion(): string {
  const pkg: unknown = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8'));
  const version = (pkg as { version?: unknown }).version;
  if (typeof version !== 'string') throw internalError('package.json has no version');
  return version;
}

async function main(argv: readonly string[]): Promise<ExitCode> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    await printLines([overview()]);
    return name === undefined ? ExitCode.USAGE : ExitCode.OK;
  }
  if (name === '--version' || name === '-V') {
    if (rest.length > 0) throw new UsageError(`unexpected argument '${rest[0] as string}'`);
    await printLines([packageVersion()]);
    return ExitCode.OK;
  }
  const command = findCommand(name);
  const args = parseArgs(command, rest);
  if (args.help) {
    await printLines([formatUsage(command)]);
    return ExitCode.OK;
  }
  return command.run(args);
}

function usageText(error: UsageError): string {
  if (error.command === undefined) return `pmemdax: ${error.message}\n${overview()}\n`;
  const usage = usageLine(findCommand(error.command));
  return `pmemdax ${error.command}: ${error.message}\n${usage}  ('pmemdax help ${error.command}' says more)\n`;
}

guardStdout();
// Until the command settles: one whose work never completed must not look like a success.
process.exitCode = ExitCode.FAILED;
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(error instanceof UsageError ? usageText(error) : `${formatError(error)}\n`);
    process.exitCode = exitCodeFor(error);
  },
);
