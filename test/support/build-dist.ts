import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

// Child-process tests load the library as an application would, from dist/: build it once per run so they
// never see stale output.
export default function setup(): void {
  const root = join(__dirname, '..', '..');
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
}
