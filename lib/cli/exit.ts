import { UsageError } from './args';

/** The exit codes scripts can rely on (docs/api.md, CLI). */
export const ExitCode = {
  OK: 0,
  /** The operation failed; the error was printed. */
  FAILED: 1,
  USAGE: 2,
  /** `check` found problems: the pool is inconsistent. */
  PROBLEMS: 3,
  /** Another process holds the pool open. */
  LOCKED: 4,
  /** Not a pool, or a pool too damaged to open. */
  CORRUPT: 5,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** exitCodeFor -- the exit code an error that ended a command stands for. */
export function exitCodeFor(error: unknown): ExitCode {
  if (error instanceof UsageError) return ExitCode.USAGE;
  switch (codeOf(error)) {
    case 'ERR_PMEMDAX_POOL_LOCKED':
      return ExitCode.LOCKED;
    case 'ERR_PMEMDAX_CORRUPT':
      return ExitCode.CORRUPT;
    // A path argument the API refuses before touching anything (empty, a NUL byte): bad input.
    case 'ERR_INVALID_ARG_VALUE':
      return ExitCode.USAGE;
    default:
      return ExitCode.FAILED;
  }
}

/** formatError -- `pmemdax: <message> (<code>)`, the code left out only when the error has none. */
export function formatError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = codeOf(error);
  return `pmemdax: ${message}${code === undefined ? '' : ` (${code})`}`;
}
