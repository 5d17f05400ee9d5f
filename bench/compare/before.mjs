// before.mjs -- an earlier commit of pmemdax, built apart, so that its pool runs in the same comparison as
// the working tree's ("before and after" of the performance work, measured side by side in one run).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Exports `rev` from git into .cache/bench-before/<sha>, with the project's node_modules linked in, and
 * builds its addon and dist/ there (once per commit). Returns what the contender needs to load it.
 */
export function buildRevision(root, rev) {
  const git = (...a) => execFileSync('git', a, { cwd: root, encoding: 'utf8' }).trim();
  const sha = git('rev-parse', '--verify', `${rev}^{commit}`);
  const short = sha.slice(0, 7);
  const subject = git('log', '-1', '--format=%s', sha);
  const date = git('log', '-1', '--format=%cI', sha);
  const dir = join(root, '.cache', 'bench-before', sha);
  const lib = join(dir, 'dist', 'index.js');
  if (!existsSync(lib) || !existsSync(join(dir, 'build', 'Release', 'pmemdax.node'))) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    // A tar stream from git archive, unpacked by tar: no worktree left registered in the repository.
    const archive = spawnSync('sh', ['-c', 'git archive --format=tar "$1" | tar -x -C "$2"', 'sh', sha, dir], { cwd: root, stdio: 'inherit' });
    if (archive.status !== 0) throw new Error(`cannot export ${rev} (${short})`);
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
    // The build script was scripts/build-addon.mjs before the package shipped prebuilds.
    const build = existsSync(join(dir, 'scripts', 'install.mjs')) ? ['scripts/install.mjs', '--from-source'] : ['scripts/build-addon.mjs'];
    const steps = [
      [process.execPath, build],
      [process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json']],
    ];
    for (const [cmd, args] of steps) {
      const r = spawnSync(cmd, args, { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
      if (r.status !== 0) throw new Error(`building ${short} failed: ${cmd} ${args.join(' ')}`);
    }
  }
  return { sha, short, subject, date, lib };
}
