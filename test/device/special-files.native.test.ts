// A FIFO (or another special file) given as a pool or device path is refused at once: opening a FIFO for
// reading would wait for a writer forever. Every command and entry point runs in a child with a timeout,
// since a blocked synchronous open cannot be interrupted in the test's own process.
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT, scratchDir } from '../support/scratch';
import { runCli, runNode } from '../support/cli-run';

const COMMANDS: readonly (readonly string[])[] = [
  ['info'], ['check'], ['ls'], ['ls', '-l'], ['stat', 'f'], ['cat', 'f'], ['fiemap', 'f'], ['badblocks'],
  ['probe'], ['rm', 'f'], ['mkfs', '--force'], ['mkfs', '--size', '1M', '--force'],
];

const API_CALLS = [
  "Device.open(p, { readonly: true })",
  "Device.open(p, { readonly: true, lock: 'shared' })",
  'Device.open(p)',
  "Device.open(p, { lock: 'exclusive' })",
  'Device.open(p, { create: true, size: 1 << 20 })',
  'Pool.open(p, { readonly: true })',
  'Pool.open(p)',
  'Pool.open(p, { create: { size: 1 << 20 } })',
  'Pool.create(p, { force: true })',
  'Pool.create(p, { size: 1 << 20, force: true })',
];

/** Kinds of path that are neither a regular file nor a device-dax, and what opening each one says. */
const SPECIAL = [
  { kind: 'FIFO', make: (p: string) => execFileSync('mkfifo', [p]), code: 'ERR_PMEMDAX_UNSUPPORTED_SOURCE' },
  { kind: 'character device that is not device-dax', make: () => {}, path: '/dev/null', code: 'ERR_PMEMDAX_UNSUPPORTED_SOURCE' },
] as const;

describe.each(SPECIAL)('a $kind', (special) => {
  let s: ReturnType<typeof scratchDir>;
  let path: string;
  beforeAll(() => {
    s = scratchDir();
    path = 'path' in special ? special.path : s.file('fifo');
    special.make(path);
  });
  afterAll(() => s.cleanup());

  // /dev/null is refused by the same check as before this fix; a few entry points show it still is.
  const fifo = special.kind === 'FIFO';
  const commands = (fifo ? COMMANDS : COMMANDS.slice(0, 3)).map(([name, ...rest]) => ({ name: name as string, rest, shown: [name, ...rest].join(' ') }));
  it.each(commands)(`pmemdax $shown: fails at once with ${special.code}`, async ({ name, rest, shown }) => {
    const r = await runCli([name, path, ...rest], { timeoutMs: 10_000 });
    expect(r.signal, `pmemdax ${shown} hung`).toBeNull();
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`(${special.code})`);
  });

  it.each(fifo ? API_CALLS : API_CALLS.slice(0, 3))('%s: throws at once', async (call) => {
    const script = `const { Device, Pool } = require(${JSON.stringify(`${PROJECT_ROOT}/dist/index.js`)});
      const p = ${JSON.stringify(path)};
      try { ${call}; console.log('opened'); } catch (e) { console.log(e.code); }`;
    const r = await runNode(['-e', script], { timeoutMs: 10_000 });
    expect(r.signal, `${call} hung`).toBeNull();
    expect(r.stdout.trim()).toBe(special.code);
  });

  it('is left as it was, and nothing was created beside it', () => {
    if (fifo) expect(readdirSync(s.dir)).toEqual(['fifo']);
  });
});
