import { spawn } from 'node:child_process';
import { PROJECT_ROOT } from './scratch';

export const CLI = `${PROJECT_ROOT}/dist/cli/main.js`;

export interface CliRun {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/**
 * Runs a node program asynchronously (the test worker keeps answering vitest) with a hard timeout: a run
 * that hangs is killed and comes back with `signal` set rather than hanging the suite.
 */
export function runNode(args: readonly string[], options: { timeoutMs?: number; cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliRun> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      timeout: options.timeoutMs ?? 15_000, killSignal: 'SIGKILL', cwd: options.cwd, env: options.env ?? process.env,
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.once('error', reject);
    child.once('close', (status, signal) => resolve({ status, signal, stdout: out, stderr: err, ms: Date.now() - start }));
    child.stdin.end();
  });
}

/** `pmemdax <args>` from dist. */
export const runCli = (args: readonly string[], options?: { timeoutMs?: number; cwd?: string; env?: NodeJS.ProcessEnv }) => runNode([CLI, ...args], options);
