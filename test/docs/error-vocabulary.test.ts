import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { daxError } from '../../lib/dax/errors';
import {
  PmemdaxError, PmemdaxRangeError, PmemdaxTypeError, argTypeError, argValueError, errnoError, internalError, outOfRangeError,
} from '../../lib/errors';
import { corrupt, poolError } from '../../lib/pool/errors';

const root = join(__dirname, '..', '..');
const docs = readFileSync(join(root, 'docs', 'errors.md'), 'utf8');

function filesUnder(dir: string, ext: RegExp): string[] {
  return readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => ext.test(f))
    .map((f) => join(root, dir, f));
}

const libFiles = filesUnder('lib', /\.ts$/);
const nativeFiles = filesUnder('native', /\.(cpp|h)$/);

function documented(code: string): boolean {
  return new RegExp(`\\b${code}\\b`).test(docs);
}

describe('one error vocabulary', () => {
  it('builds errors only in lib/errors.ts: no ad-hoc Error, TypeError or RangeError elsewhere in lib/', () => {
    const adHoc = /new (Type|Range)?Error\(|Object\.assign\(new /;
    const found = libFiles
      .filter((f) => relative(root, f) !== join('lib', 'errors.ts'))
      .flatMap((f) => readFileSync(f, 'utf8').split('\n').map((line, i) => ({ where: `${relative(root, f)}:${i + 1}`, line })))
      .filter(({ line }) => adHoc.test(line))
      .map(({ where }) => where);
    expect(found).toEqual([]);
  });

  it('documents every ERR_ code that lib/ or native/ throws in docs/errors.md', () => {
    const codes = new Set([...libFiles, ...nativeFiles].flatMap((f) => [...readFileSync(f, 'utf8').matchAll(/['"](ERR_[A-Z_]+)['"]/g)].map((m) => m[1] as string)));
    expect(codes.size).toBeGreaterThan(15);
    expect([...codes].filter((c) => !documented(c))).toEqual([]);
  });

  it('documents every errno code that lib/ raises by name in docs/errors.md', () => {
    const named = /\b(?:errnoError|poolError)\('(E[A-Z0-9]+)'|\bErrno\.(E[A-Z0-9]+)/g;
    const codes = new Set(libFiles.flatMap((f) => [...readFileSync(f, 'utf8').matchAll(named)].map((m) => (m[1] ?? m[2]) as string)));
    expect(codes.size).toBeGreaterThan(10);
    expect([...codes].filter((c) => !documented(c))).toEqual([]);
  });
});

describe('the TypeScript builders', () => {
  it('make every error an instance of PmemdaxError with a documented code', () => {
    const errors = [
      errnoError('ENOENT', 'open', { path: '/p' }),
      daxError(-133, 'fault', { offset: 4096 }),
      poolError('EEXIST', 'open', '/pool:a'),
      corrupt('/pool', 'superblock', 0, 'bad checksum'),
      new PmemdaxError('ERR_PMEMDAX_CLOSED', 'closed'),
      argTypeError('The "x" argument must be a number'),
      argValueError('The "x" argument must be a mode'),
      outOfRangeError('The "x" argument must be non-negative'),
      internalError('an invariant broke'),
    ];
    for (const e of errors) {
      expect(e).toBeInstanceOf(PmemdaxError);
      expect(e).toBeInstanceOf(Error);
      expect(documented(e.code), e.code).toBe(true);
    }
  });

  it('keep misuse a TypeError or RangeError, named as Node names them', () => {
    expect(argTypeError('t')).toBeInstanceOf(TypeError);
    expect(argTypeError('t')).toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', message: 't' });
    expect(argValueError('v')).toBeInstanceOf(PmemdaxTypeError);
    expect(argValueError('v')).toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' });
    expect(outOfRangeError('r')).toBeInstanceOf(RangeError);
    expect(outOfRangeError('r')).toBeInstanceOf(PmemdaxRangeError);
    expect(outOfRangeError('r')).toMatchObject({ name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
    // The brand answers only for PmemdaxError itself: the subclasses keep the ordinary test.
    expect(outOfRangeError('r')).not.toBeInstanceOf(PmemdaxTypeError);
    expect(new PmemdaxError('ERR_PMEMDAX_CLOSED', 'c')).not.toBeInstanceOf(PmemdaxRangeError);
  });

  it('do not brand errors pmemdax did not make', () => {
    expect(new Error('x')).not.toBeInstanceOf(PmemdaxError);
    expect(Object.assign(new TypeError('x'), { code: 'ERR_INVALID_ARG_TYPE' })).not.toBeInstanceOf(PmemdaxError);
    expect(null).not.toBeInstanceOf(PmemdaxError);
  });

  it('word system errors as Node does, with the name Error', () => {
    const e = errnoError('EIO', 'read', { path: '/p', offset: 8192, length: 10 });
    expect(e).toMatchObject({ name: 'Error', code: 'EIO', errno: -5, syscall: 'read', path: '/p', offset: 8192, length: 10 });
    expect(e.message).toBe("EIO: i/o error, read '/p' at offset 8192");
    // Codes Node's table lacks keep Linux's numbers and the short message.
    expect(daxError(-133, 'fault', { offset: 4096 })).toMatchObject({ name: 'Error', code: 'EHWPOISON', errno: -133, message: 'EHWPOISON: fault at offset 4096' });
    expect(errnoError('EBADE', 'ioctl')).toMatchObject({ code: 'EBADE', errno: -52, message: 'EBADE: ioctl' });
  });

  it('keep a cause when one is given, and add none otherwise', () => {
    const cause = new Error('inner');
    expect(new PmemdaxError('ERR_PMEMDAX_ADDON', 'outer', { cause }).cause).toBe(cause);
    expect(Object.hasOwn(new PmemdaxError('ERR_PMEMDAX_ADDON', 'outer'), 'cause')).toBe(false);
  });
});
