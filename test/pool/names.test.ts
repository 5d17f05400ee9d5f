import { describe, expect, it } from 'vitest';
import { Pool } from '../../lib';
import { MemoryDevice } from '../../lib/testing';

const MiB = 1024 * 1024;
const ASTRAL = '\u{1F600}';

/** Names a pool must refuse, with the code, and names it must keep exactly as given. */
const REFUSED: readonly (readonly [string, string, string])[] = [
  ['a lone high surrogate', 'x\ud800', 'EINVAL'],
  ['a lone low surrogate', 'x\udc00', 'EINVAL'],
  ['a reversed pair', 'x\udc00\ud800y', 'EINVAL'],
  ['a high surrogate at the end of an astral name', `${ASTRAL}\ud83d`, 'EINVAL'],
  ['a NUL', 'a\0b', 'EINVAL'],
  ['the empty name', '', 'EINVAL'],
  ['256 bytes of UTF-8', `${ASTRAL.repeat(63)}éab`, 'ENAMETOOLONG'],
  ['256 bytes of ASCII', 'n'.repeat(256), 'ENAMETOOLONG'],
];
const ACCEPTED: readonly (readonly [string, string])[] = [
  ['a valid astral character', `x${ASTRAL}y`],
  ['255 bytes of UTF-8 (astral, two-byte and ASCII)', `${ASTRAL.repeat(63)}éa`],
  ['255 bytes of ASCII', 'n'.repeat(255)],
  ['U+FFFD itself', 'x\ufffd'],
  ['a slash and a dot', './a/b'],
];

/** Every pool call that takes a name, with the name in each of its places. */
const METHODS: readonly (readonly [string, (pool: Pool, name: string) => unknown])[] = [
  ['open (create)', (p, n) => p.open(n, { create: true }).close()],
  ['open (existing)', (p, n) => p.open(n).close()],
  ['open (read-only handle)', (p, n) => p.open(n, { readonly: true }).close()],
  ['open (create, exclusive)', (p, n) => p.open(n, { create: true, exclusive: true }).close()],
  ['exists', (p, n) => p.exists(n)],
  ['rename (from)', (p, n) => p.rename(n, 'other')],
  ['rename (to)', (p, n) => p.rename('keep', n)],
  ['unlink', (p, n) => p.unlink(n)],
  ['stat', (p, n) => p.stat(n)],
  ['list (prefix)', (p, n) => [...p.list({ prefix: n })]],
];

function freshPool(): { dev: MemoryDevice; pool: Pool } {
  const dev = new MemoryDevice(4 * MiB);
  const pool = Pool.createOn(dev);
  pool.open('keep', { create: true }).close();
  return { dev, pool };
}

describe('pool names: refused before anything changes', () => {
  for (const [method, call] of METHODS) {
    for (const [what, name, code] of REFUSED) {
      // The empty prefix is the one refusal that does not apply: it lists every name.
      if (method === 'list (prefix)' && name === '') continue;
      it(`${method} refuses ${what} with ${code}`, () => {
        const { dev, pool } = freshPool();
        const before = dev.bytes.slice();
        expect(() => call(pool, name)).toThrow(expect.objectContaining({ code }));
        expect(Buffer.compare(Buffer.from(before), Buffer.from(dev.bytes))).toBe(0);
        expect([...pool.list()]).toEqual(['keep']);
        pool.closeSync();
        const ro = Pool.openOn(dev, { readonly: true });
        expect([...ro.list()]).toEqual(['keep']);
        ro.closeSync();
      });
    }
  }

  it('a list prefix that is not a string is ERR_INVALID_ARG_TYPE; the empty prefix lists everything', () => {
    const { pool } = freshPool();
    expect(() => [...pool.list({ prefix: 7 as unknown as string })]).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect([...pool.list({ prefix: '' })]).toEqual(['keep']);
  });

  it('two names that differ only in a lone surrogate cannot both exist, so the pool always opens', () => {
    const { dev, pool } = freshPool();
    for (const name of ['x\ud800', 'x\udc00', 'x\ud800\ud800']) expect(() => pool.open(name, { create: true })).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    pool.open('x\ufffd', { create: true }).close();
    pool.closeSync();
    for (const readonly of [true, false]) {
      const again = Pool.openOn(dev, { readonly });
      expect([...again.list()]).toEqual(['keep', 'x\ufffd']);
      again.closeSync();
    }
  });
});

describe('pool names: every accepted name round-trips through the journal and the checkpoint', () => {
  for (const [what, name] of ACCEPTED) {
    for (const via of ['journal', 'checkpoint'] as const) {
      it(`${what}, through every method, via the ${via}`, () => {
        const { dev, pool } = freshPool();
        const reopen = (p: Pool): Pool => {
          if (via === 'checkpoint') p.closeSync();
          // Not closing is a crash: the next open replays the journal.
          return Pool.openOn(dev);
        };
        const f = pool.open(name, { create: true, exclusive: true });
        f.writeSync(new TextEncoder().encode(name), 0);
        f.fsyncSync();
        f.close();
        expect(pool.exists(name)).toBe(true);
        expect(pool.stat(name).name).toBe(name);
        expect([...pool.list({ prefix: name })]).toEqual([name]);
        let p = reopen(pool);
        expect([...p.list()]).toEqual(['keep', name].sort());
        expect(p.stat(name).name).toBe(name);
        const g = p.open(name, { readonly: true });
        const back = new Uint8Array(g.size);
        g.readSync(back, 0);
        expect(new TextDecoder().decode(back)).toBe(name);
        g.close();
        p.rename(name, 'other');
        p.rename('other', name);
        p.rename('keep', 'renamed');
        p = reopen(p);
        expect([...p.list()]).toEqual([name, 'renamed'].sort());
        expect(p.check().ok).toBe(true);
        p.unlink(name);
        p = reopen(p);
        expect([...p.list()]).toEqual(['renamed']);
        p.closeSync();
      });
    }
  }
});
