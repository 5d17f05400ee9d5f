import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Device, PmemdaxError, PmemdaxRangeError, PmemdaxTypeError, Pool } from '../../lib/index';
import { AddressSpace } from '../../lib/fs';
import { native } from '../../lib/native';
import { MiB, scratchPerTest } from '../support/scratch';

const docs = readFileSync(join(__dirname, '..', '..', 'docs', 'errors.md'), 'utf8');

/** What `fn` threw. */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new PmemdaxError('ERR_PMEMDAX_INTERNAL', 'expected a throw');
}

function expectDocumentedPmemdaxError(e: unknown): void {
  expect(e).toBeInstanceOf(PmemdaxError);
  const code = (e as PmemdaxError).code;
  expect(new RegExp(`\\b${code}\\b`).test(docs), code).toBe(true);
}

describe('errors from native code and TypeScript alike', () => {
  const s = scratchPerTest();

  it('a native errno error is a PmemdaxError shaped like a Node fs error', () => {
    const path = s.file('missing');
    const e = thrown(() => Device.open(path));
    expectDocumentedPmemdaxError(e);
    expect(e).toMatchObject({ name: 'Error', code: 'ENOENT', errno: -2, syscall: 'open', path });
    expect((e as Error).message).toBe(`ENOENT: no such file or directory, open '${path}'`);
  });

  it('a native ERR_PMEMDAX_* error is a PmemdaxError', () => {
    const e = thrown(() => Device.open('/dev/null'));
    expectDocumentedPmemdaxError(e);
    expect(e).toMatchObject({ name: 'PmemdaxError', code: 'ERR_PMEMDAX_UNSUPPORTED_SOURCE', path: '/dev/null' });
  });

  it('native misuse is a PmemdaxRangeError or PmemdaxTypeError, still a RangeError or TypeError', () => {
    const range = thrown(() => new native.NativeRegion(0, 4096, 4096));
    expectDocumentedPmemdaxError(range);
    expect(range).toBeInstanceOf(RangeError);
    expect(range).toBeInstanceOf(PmemdaxRangeError);
    expect(range).toMatchObject({ name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
    const type = thrown(() => new (native.NativeDevice as unknown as new () => unknown)());
    expectDocumentedPmemdaxError(type);
    expect(type).toBeInstanceOf(TypeError);
    expect(type).toBeInstanceOf(PmemdaxTypeError);
    expect(type).toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
  });

  it('TypeScript errors of every kind are PmemdaxErrors with documented codes', () => {
    const path = s.file('p');
    expectDocumentedPmemdaxError(thrown(() => Device.open(42 as unknown as string)));
    expectDocumentedPmemdaxError(thrown(() => Device.open('')));
    expectDocumentedPmemdaxError(thrown(() => Device.open(path, { create: true, size: -1 })));
    using pool = Pool.create(path, { size: 4 * MiB });
    expectDocumentedPmemdaxError(thrown(() => pool.stat('nothing')));
    const space = new AddressSpace(2 * MiB);
    space.unmap();
    expectDocumentedPmemdaxError(thrown(() => space.protect(0, 4096, 'read')));
  });
});
