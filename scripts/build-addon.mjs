// Builds the native addon with node-gyp. Where Node's own headers are installed next to the running
// binary (distribution packages), point node-gyp at them so the build needs no download.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const args = ['rebuild'];
const prefix = dirname(dirname(process.execPath));
const nodedir = process.env.npm_config_nodedir || (existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? prefix : null);
if (nodedir) args.push(`--nodedir=${nodedir}`);
const gyp = require.resolve('node-gyp/bin/node-gyp.js');
const result = spawnSync(process.execPath, [gyp, ...args, ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(result.status ?? 1);
