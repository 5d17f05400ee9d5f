// The kernel's side of the differential test: diff-exec.c, compiled once, runs every sequence in
// one process (a line "X <path>" starts each on a new file).
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { opLine, type Op } from './ops';

const SOURCE = join(__dirname, '..', 'fixtures', 'diff-exec.c');

/** Compiles the executor into `dir`; returns its path. */
export function buildExecutor(dir: string): string {
  const exe = join(dir, 'diff-exec');
  execFileSync('cc', ['-O2', '-Wall', '-o', exe, SOURCE], { stdio: 'pipe' });
  return exe;
}

/** The kernel's result lines for each sequence, on a file at `path`. */
export function kernelResults(exe: string, path: string, sequences: readonly (readonly Op[])[]): string[][] {
  const input = sequences.map((ops) => [`X ${path}`, ...ops.map(opLine)].join('\n')).join('\n') + '\n';
  const r = spawnSync(exe, [], { input, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, timeout: 600_000 });
  if (r.status !== 0) throw new Error(`diff-exec failed (status ${r.status}, signal ${r.signal}): ${r.stderr}`);
  const lines = r.stdout.split('\n');
  const out: string[][] = [];
  let at = 0;
  for (const ops of sequences) {
    if (lines[at] !== '0 0') throw new Error(`diff-exec: expected the start of a sequence at line ${at}, read "${lines[at]}"`);
    out.push(lines.slice(at + 1, at + 1 + ops.length));
    at += 1 + ops.length;
  }
  return out;
}
