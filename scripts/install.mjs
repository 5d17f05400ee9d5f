// The package's install step. A prebuilt addon that loads here is used as it is (no compiler, python or
// network needed); otherwise the addon is built from source with node-gyp. `--from-source` always builds
// (the development build, `npm run build`).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const require = createRequire(import.meta.url);
// Keep in step with lib/native.ts.
const prebuild = join(root, 'prebuilds', `${process.platform}-${process.arch}-glibc`, 'pmemdax.node');

function prebuildLoads() {
  if (!existsSync(prebuild)) return 'no prebuilt addon for this platform';
  try {
    require(prebuild);
    return null;
  } catch (e) {
    return `the prebuilt addon does not load here (${e.message.split('\n')[0]})`;
  }
}

// npm hands its own node-gyp to install scripts; a checkout has it as a development dependency.
function nodeGyp() {
  if (process.env.npm_config_node_gyp && existsSync(process.env.npm_config_node_gyp)) return process.env.npm_config_node_gyp;
  try {
    return require.resolve('node-gyp/bin/node-gyp.js');
  } catch {
    return null;
  }
}

function buildFromSource() {
  const gyp = nodeGyp();
  if (gyp === null) {
    process.stderr.write('pmemdax: node-gyp was not found; install it (npm install -g node-gyp) or run this from npm\n');
    return 1;
  }
  const args = ['rebuild'];
  // Node's own headers installed next to the running binary (distribution packages) need no download.
  const prefix = dirname(dirname(process.execPath));
  const nodedir = process.env.npm_config_nodedir || (existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? prefix : null);
  if (nodedir) args.push(`--nodedir=${nodedir}`);
  const result = spawnSync(process.execPath, [gyp, ...args], { cwd: root, stdio: 'inherit' });
  return result.status ?? 1;
}

const fromSource = process.argv.includes('--from-source');
const why = fromSource ? 'a build from source was asked for' : prebuildLoads();
if (why === null) {
  process.stdout.write(`pmemdax: using the prebuilt addon for ${process.platform}-${process.arch} (glibc)\n`);
  process.exit(0);
}
if (!fromSource) process.stdout.write(`pmemdax: ${why}; building from source with node-gyp\n`);
const status = buildFromSource();
if (status !== 0) process.stderr.write('pmemdax: the addon did not build; see docs/guide.md#installing for what the build needs\n');
process.exit(status);
