import { afterEach, beforeEach, expect, it } from 'vitest';
import { Pool } from '../../../lib';
import { scratchDir } from '../../support/scratch';

const MiB = 1024 * 1024;
let s: ReturnType<typeof scratchDir>;
let path: string;
beforeEach(() => {
  s = scratchDir('/dev/shm');
  path = s.file('pool');
  Pool.create(path, { size: 16 * MiB }).closeSync();
});
afterEach(() => s.cleanup());

it('a reader can open a pool beside the writer a forced format returned', () => {
  const w = Pool.create(path, { size: 16 * MiB, force: true });
  try {
    const f = w.open('a', { create: true, sync: true });
    f.writeSync(Buffer.alloc(4096, 1), 0);
    f.close();
    let code = 'ok';
    try {
      Pool.open(path, { readonly: true }).closeSync();
    } catch (e) {
      code = (e as { code?: string }).code ?? String(e);
    }
    expect(code).toBe('ok');
  } finally {
    w.closeSync();
  }
});
