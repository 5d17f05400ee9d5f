// `prepack`: build the addon that ships inside the package, prebuilds/linux-x64-glibc/pmemdax.node.
// It is built from binding.gyp exactly as the source fallback is (N-API, so one build serves every Node
// the package supports), in its own directory so a development build in build/ is left alone, for
// baseline x86-64 (the compiler's default target: the CPU-specific kernels are chosen at run time).
// `--clean` (postpack) removes it again, so a checkout never loads a stale prebuild.
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const prebuilds = join(root, 'prebuilds');
rmSync(prebuilds, { recursive: true, force: true });
if (process.argv.includes('--clean')) process.exit(0);

if (process.platform !== 'linux' || process.arch !== 'x64') {
  process.stderr.write(`pmemdax: prebuilds are made on linux-x64 only (this is ${process.platform}-${process.arch})\n`);
  process.exit(1);
}

function run(command, args, cwd) {
  const r = spawnSync(command, args, { cwd, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

// Inside the checkout (under .cache/), so binding.gyp's require('node-addon-api') resolves.
const work = join(root, '.cache', 'prebuild');
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
copyFileSync(join(root, 'binding.gyp'), join(work, 'binding.gyp'));
cpSync(join(root, 'native'), join(work, 'native'), { recursive: true });

const require = createRequire(import.meta.url);
const args = [require.resolve('node-gyp/bin/node-gyp.js'), 'rebuild', '-j', '2'];
const prefix = dirname(dirname(process.execPath));
const nodedir = process.env.npm_config_nodedir || (existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? prefix : null);
if (nodedir) args.push(`--nodedir=${nodedir}`);
run(process.execPath, args, work);

const target = join(prebuilds, 'linux-x64-glibc');
mkdirSync(target, { recursive: true });
copyFileSync(join(work, 'build', 'Release', 'pmemdax.node'), join(target, 'pmemdax.node'));
// Symbols are for debugging a development build; the shipped one is a third of the size without them.
run('strip', ['--strip-unneeded', join(target, 'pmemdax.node')], root);
rmSync(work, { recursive: true, force: true });
process.stdout.write(`pmemdax: prebuilt ${join('prebuilds', 'linux-x64-glibc', 'pmemdax.node')}\n`);
