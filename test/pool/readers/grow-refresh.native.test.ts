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

it('a reader refreshing past a writer’s online grow is told to open the pool again (ERR_PMEMDAX_SIZE), and keeps its snapshot', () => {
  const w = Pool.open(path);
  const f = w.open('a', { create: true, sync: true });
  f.writeSync(Buffer.alloc(4096, 3), 0);
  f.close();
  const r = Pool.open(path, { readonly: true });
  w.grow(32 * MiB);
  expect(() => r.refresh()).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_SIZE', message: expect.stringMatching(/grew to 33554432 bytes .*open it again/) }));
  expect(r.exists('a')).toBe(true);
  const again = Pool.open(path, { readonly: true });
  expect(again.info.size).toBe(32 * MiB);
  again.closeSync();
  r.closeSync();
  w.closeSync();
});
