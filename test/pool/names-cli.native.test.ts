import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { Pool } from '../../lib';
import { PROJECT_ROOT, scratchDir } from '../support/scratch';

const CLI = `${PROJECT_ROOT}/dist/cli/main.js`;
const ASTRAL = '\u{1F600}';
const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 30_000 });

/** The CLI commands that take a name, each given `name` in its place. */
const COMMANDS: readonly (readonly [string, (pool: string, name: string) => string[]])[] = [
  ['put', (p, n) => ['put', p, n, '-']],
  ['cat', (p, n) => ['cat', p, n]],
  ['stat', (p, n) => ['stat', p, n]],
  ['fiemap', (p, n) => ['fiemap', p, n]],
  ['rm', (p, n) => ['rm', p, n]],
];

describe('pmemdax commands check names as the pool does', () => {
  const s = scratchDir();
  const pool = s.file('names.pool');
  {
    using p = Pool.open(pool, { create: { size: 4 * 1024 * 1024 } });
    p.open('kept', { create: true }).close();
  }
  /** The files and their sizes, read-only (a writable command rewrites the superblock even when it fails). */
  const files = (): string => {
    using p = Pool.open(pool, { readonly: true });
    return JSON.stringify([...p.list()].map((n) => [n, p.stat(n).size]));
  };
  afterAll(() => s.cleanup());

  for (const [command, argv] of COMMANDS) {
    it(`${command}: 256 bytes is ENAMETOOLONG, the empty name EINVAL, and no file changes`, () => {
      const before = files();
      for (const [name, code] of [['n'.repeat(256), 'ENAMETOOLONG'], [`${ASTRAL.repeat(64)}`, 'ENAMETOOLONG'], ['', 'EINVAL']] as const) {
        const r = cli(...argv(pool, name));
        expect(r.status, r.stderr).toBe(1);
        expect(r.stderr).toContain(`(${code})`);
      }
      expect(files()).toBe(before);
    });
  }

  it('a 255-byte name with astral characters round-trips through put, ls, stat, cat and rm', () => {
    const name = `${ASTRAL.repeat(63)}éa`;
    expect(Buffer.byteLength(name)).toBe(255);
    const put = spawnSync(process.execPath, [CLI, 'put', pool, name, '-'], { input: 'hello', encoding: 'utf8' });
    expect(put.status, put.stderr).toBe(0);
    expect(cli('ls', pool, ASTRAL).stdout.trim()).toBe(name);
    expect(cli('ls', pool, '').stdout.trim().split('\n')).toEqual(['kept', name]);
    expect(cli('stat', pool, name, '--json').stdout).toContain(JSON.stringify(name).slice(1, -1));
    expect(cli('cat', pool, name).stdout).toBe('hello');
    expect(cli('rm', pool, name).status).toBe(0);
    expect(cli('ls', pool).stdout.trim()).toBe('kept');
  });
  it('ls prints a name with a control character (or a leading double quote) as a JSON string; pages with --after, even an empty one, lose nothing', () => {
    const odd = ['a\nb', 'a\rz', 'c\u001b[31mred', '"q"', 'del\u007f', 'b', 'c1\u0085'];
    {
      using p = Pool.open(pool, { readonly: false });
      for (const n of odd) p.open(n, { create: true }).close();
    }
    try {
      using p = Pool.open(pool, { readonly: true });
      const all = [...p.list()];
      const shown = cli('ls', pool).stdout.split('\n').slice(0, -1);
      expect(shown).toHaveLength(all.length);
      expect(shown.map((line) => (line.startsWith('"') ? (JSON.parse(line) as string) : line))).toEqual(all);
      expect(shown.join('')).not.toContain('\u001b');
      // Paging two at a time with the last name shown, decoded, as --after.
      const paged: string[] = [];
      for (let after = ''; ; ) {
        const page = cli('ls', pool, '--json', '--limit', '2', '--after', after);
        expect(page.status, page.stderr).toBe(0);
        const names = JSON.parse(page.stdout) as string[];
        if (names.length === 0) break;
        paged.push(...names);
        after = names[names.length - 1] as string;
      }
      expect(paged).toEqual(all);
      expect(cli('ls', pool, '--after=').stdout).toBe(cli('ls', pool).stdout);
    } finally {
      using p = Pool.open(pool, { readonly: false });
      for (const n of odd) p.unlink(n);
    }
  });
});
