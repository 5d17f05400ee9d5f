#!/usr/bin/env node
import { formatProbe, probe } from './probe';

const USAGE = `usage: pmemdax <command>

commands:
  probe [path]   what this machine offers for path (a device-dax, a file, or a directory to test in);
                 with no path, a temporary file (not on pmem)
  help           this text`;

interface CodedError {
  code?: string;
  message: string;
}

function main(argv: string[]): number {
  const [command, ...args] = argv;
  switch (command) {
    case 'probe': {
      if (args.length > 1) {
        process.stderr.write(`${USAGE}\n`);
        return 2;
      }
      const report = probe(args[0]);
      process.stdout.write(`${formatProbe(report)}\n`);
      return report.roundTrip === 'ok' ? 0 : 1;
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${USAGE}\n`);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`pmemdax: unknown command '${command}'\n${USAGE}\n`);
      return 2;
  }
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (error) {
  const e = error as CodedError;
  process.stderr.write(`pmemdax: ${e.message}${e.code && !e.message.startsWith(e.code) ? ` (${e.code})` : ''}\n`);
  process.exitCode = 1;
}
