import { describe, expect, it } from 'vitest';
import { Pool, type PoolFile } from '../../lib';
import { MemoryDevice } from '../../lib/testing';

const GETTERS = ['name', 'ino', 'size'] as const;

const ENDS: readonly { name: string; end: (pool: Pool, file: PoolFile) => void }[] = [
  { name: 'the file closed', end: (_pool, file) => file.close() },
  { name: 'the pool closed', end: (pool) => pool.closeSync() },
];

describe('the getters of a closed PoolFile (docs/api.md)', () => {
  for (const { name: how, end } of ENDS) {
    it.each(GETTERS)(`%s answers while open and throws ERR_PMEMDAX_CLOSED once ${how}; closed keeps answering`, (getter) => {
      const pool = Pool.createOn(new MemoryDevice(4 * 1024 * 1024));
      const file = pool.open('f', { create: true });
      file.writeSync(new Uint8Array(100), 0);
      expect(file[getter]).toEqual({ name: 'f', ino: file.stat().ino, size: 100 }[getter]);
      expect(file.closed).toBe(false);
      end(pool, file);
      expect(() => file[getter]).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_CLOSED' }));
      expect(file.closed).toBe(true);
      pool.closeSync();
    });
  }
});
