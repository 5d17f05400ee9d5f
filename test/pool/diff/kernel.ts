// The kernel's side of the differential test: diff-exec.c, compiled once, runs every sequence in
// one process (a line "X <path>" starts each on a new file).
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { opLine, type Op } from './ops';

const SOURCE = join(__dirname, '..', 'fixtures', 'diff-exec.c');

/** Compiles the executor into `dir`; returns its path. */
export function buildExecutor(dir: string): string {
  const exe = join(dir, 'diff-exec');
  execFileSync('cc', ['-O2', '-Wall', '-o', exe, SOURCE], { stdio: 'pipe' });
  return exe;
}

/** The output of `exe` given `input`, without blocking the event loop (vitest's worker must keep talking). */
function run(exe: string, input: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(exe, [], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (status, signal) => {
      if (status === 0) resolve(Buffer.concat(out).toString('utf8'));
      else reject(new Error(`diff-exec failed (status ${status}, signal ${signal}): ${Buffer.concat(err).toString('utf8')}`));
    });
    child.stdin.end(input);
  });
}

/** The kernel's result lines for each sequence, on a file at `path`. */
export async function kernelResults(exe: string, path: string, sequences: readonly (readonly Op[])[]): Promise<string[][]> {
  const input = sequences.map((ops) => [`X ${path}`, ...ops.map(opLine)].join('\n')).join('\n') + '\n';
  const lines = (await run(exe, input)).split('\n');
  const out: string[][] = [];
  let at = 0;
  for (const ops of sequences) {
    if (lines[at] !== '0 0') throw new Error(`diff-exec: expected the start of a sequence at line ${at}, read "${lines[at]}"`);
    out.push(lines.slice(at + 1, at + 1 + ops.length));
    at += 1 + ops.length;
  }
  return out;
}
