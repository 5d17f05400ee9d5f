import { expect, it } from 'vitest';
import { Pool } from '../../../lib';
import { poolPerTest } from './support';

const MiB = 1024 * 1024;
const pool = poolPerTest({ size: 16 * MiB });

it('a reader can open a pool beside the writer a forced format returned', () => {
  const w = Pool.create(pool.path, { size: 16 * MiB, force: true });
  try {
    const f = w.open('a', { create: true, sync: true });
    f.writeSync(Buffer.alloc(4096, 1), 0);
    f.close();
    let code = 'ok';
    try {
      Pool.open(pool.path, { readonly: true }).closeSync();
    } catch (e) {
      code = (e as { code?: string }).code ?? String(e);
    }
    expect(code).toBe('ok');
  } finally {
    w.closeSync();
  }
});
