// difftest -- the long differential run against the kernel (docs/testing.md, "The differential test"):
// boots the pmem guest on ext4-dax and xfs-dax and runs test/pool/difftest.pmem.test.ts over a seed range.
//
// Usage: node scripts/difftest.mjs <first-last> [--ops N] [--media ext4-dax,xfs-dax]
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const args = process.argv.slice(2);
const range = args[0];
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i < 0 ? fallback : args[i + 1];
};
const m = /^(\d+)-(\d+)$/.exec(range ?? '');
if (!m || Number(m[2]) < Number(m[1])) {
  process.stderr.write('usage: node scripts/difftest.mjs <first-last> [--ops N] [--media ext4-dax,xfs-dax]\n');
  process.exit(2);
}
const seeds = Number(m[2]) - Number(m[1]) + 1;
const ops = option('--ops', '30');
const media = option('--media', 'ext4-dax,xfs-dax');
// Under TCG a seed of 30 operations takes up to about a second per medium; leave room for the boot.
const timeout = String(Math.max(720, 300 + Math.ceil(seeds * (Number(ops) / 30) * 2)));
process.stdout.write(`difftest: seeds ${range}, ${ops} operations each, on ${media} (guest limit ${timeout} s)\n`);
const r = spawnSync(process.execPath, [join(root, 'scripts', 'test-pmem.mjs'), '--media', media, '--no-powercut',
  '--env', `PMEMDAX_DIFF_SEEDS=${range}`, '--env', `PMEMDAX_DIFF_OPS=${ops}`, '--', 'test/pool/difftest.pmem.test.ts'], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, PMEMDAX_GUEST_TIMEOUT: process.env.PMEMDAX_GUEST_TIMEOUT ?? timeout },
});
process.exit(r.status ?? 1);
