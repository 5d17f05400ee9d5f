// The permission bits of a file a call creates: Device.open as fs does (0666 less the umask), pools
// owner-only (0600) unless `mode` says otherwise, and an existing file keeps its own.
import { chmodSync, statSync, writeFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Device, Pool } from '../../lib';
import { MiB, scratchDir } from '../support/scratch';
import { runCli } from '../support/cli-run';

const UMASKS = [0o022, 0o077] as const;

/** The ways of creating a file, each with the mode it asks for (undefined: the default). */
const CREATORS: readonly { name: string; defaultMode: number; create: (p: string, mode: number | undefined) => void }[] = [
  { name: 'Device.open create', defaultMode: 0o666, create: (p, mode) => Device.open(p, { create: true, size: MiB, ...(mode === undefined ? {} : { mode }) }).close() },
  { name: 'Pool.create', defaultMode: 0o600, create: (p, mode) => Pool.create(p, { size: MiB, ...(mode === undefined ? {} : { mode }) }).closeSync() },
  { name: 'Pool.open create', defaultMode: 0o600, create: (p, mode) => Pool.open(p, { create: { size: MiB, ...(mode === undefined ? {} : { mode }) } }).closeSync() },
];

const MODES = [undefined, 0o600, 0o640, 0o644, 0o660, 0o400, 0o755] as const;

describe('mode of a created file', () => {
  let s: ReturnType<typeof scratchDir>;
  let saved: number;
  beforeAll(() => {
    saved = process.umask();
  });
  afterAll(() => {
    process.umask(saved);
  });
  beforeEach(() => {
    s = scratchDir('/dev/shm');
  });
  afterEach(() => s.cleanup());

  const rows = CREATORS.flatMap((c) => UMASKS.flatMap((umask) => MODES.map((mode) => ({ name: c.name, c, umask, mode }))));
  it.each(rows)('$name, umask $umask, mode $mode', ({ c, umask, mode }) => {
    process.umask(umask);
    const path = s.file('f');
    c.create(path, mode);
    expect((statSync(path).mode & 0o7777).toString(8)).toBe(((mode ?? c.defaultMode) & ~umask).toString(8));
  });

  it.each(CREATORS)('$name: an existing file keeps its mode whatever mode asks', ({ name }) => {
    process.umask(0o022);
    const path = s.file('f');
    writeFileSync(path, Buffer.alloc(MiB));
    chmodSync(path, 0o664);
    if (name === 'Device.open create') Device.open(path, { create: true, size: MiB, mode: 0o600 }).close();
    else if (name === 'Pool.create') Pool.create(path, { mode: 0o600 }).closeSync();
    else Pool.open(path, { create: { size: MiB, mode: 0o600 } }).closeSync();
    expect(statSync(path).mode & 0o7777).toBe(0o664);
  });

  const BAD: readonly [unknown, string][] = [
    ['600', 'ERR_INVALID_ARG_TYPE'], [null, 'ERR_INVALID_ARG_TYPE'], [-1, 'ERR_OUT_OF_RANGE'], [0o10000, 'ERR_OUT_OF_RANGE'],
    [1.5, 'ERR_OUT_OF_RANGE'], [NaN, 'ERR_OUT_OF_RANGE'], [Infinity, 'ERR_OUT_OF_RANGE'],
  ];
  const badRows = CREATORS.flatMap((c) => BAD.map(([mode, code]) => ({ name: c.name, c, mode, code })));
  it.each(badRows)('$name with mode $mode: $code, nothing created', ({ c, mode, code }) => {
    const path = s.file('f');
    expect(() => c.create(path, mode as number)).toThrow(expect.objectContaining({ code }));
    expect(statSync(path, { throwIfNoEntry: false })).toBeUndefined();
  });
});

describe('pmemdax mkfs --mode', () => {
  let s: ReturnType<typeof scratchDir>;
  beforeEach(() => {
    s = scratchDir('/dev/shm');
  });
  afterEach(() => s.cleanup());

  // The child runs with umask 022 (set here, inherited).
  it.each([
    [[], 0o600], [['--mode', '640'], 0o640], [['--mode', '0644'], 0o644], [['--mode=0o660'], 0o640], [['--mode', '400'], 0o400],
  ] as const)('mkfs %j creates the pool file with mode %o (umask 022)', async (args, expected) => {
    const saved = process.umask(0o022);
    try {
      const r = await runCli(['mkfs', s.file('p'), '--size', '1M', ...args]);
      expect(r.status, r.stderr).toBe(0);
      expect(statSync(s.file('p')).mode & 0o7777).toBe(expected);
    } finally {
      process.umask(saved);
    }
  });

  it.each(['abc', '999', '77777', '0x1ff', '-600', '6 00'])('--mode %s is a usage error (exit 2), nothing created', async (mode) => {
    const r = await runCli(['mkfs', s.file('p'), '--size', '1M', '--mode', mode]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/invalid mode/);
    expect(statSync(s.file('p'), { throwIfNoEntry: false })).toBeUndefined();
  });
});
