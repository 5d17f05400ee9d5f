import { expect, it } from 'vitest';
import { Pool } from '../../lib';
import { MemoryDevice } from '../../lib/testing';

const MiB = 1024 * 1024;

// docs/api.md, "Off the event loop": a read of more than 1 MiB goes a chunk at a time and is a call in
// flight, which close() and pool.close() wait for.
it.each(['file.close()', 'pool.close()'] as const)('%s waits for a large read in flight, which reads all it asked for', async (closer) => {
  const pool = Pool.createOn(new MemoryDevice(16 * MiB));
  const f = pool.open('f', { create: true });
  const data = new Uint8Array(3 * MiB).map((_, i) => i % 251);
  f.writeSync(data, 0);
  const into = new Uint8Array(3 * MiB);
  const read = f.read(into, 0);
  const closed = closer === 'file.close()' ? f.close() : pool.close();
  await expect(read).resolves.toBe(3 * MiB);
  await closed;
  expect(Buffer.compare(into, data)).toBe(0);
  expect(() => f.readSync(new Uint8Array(1), 0)).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_CLOSED' }));
  if (closer === 'file.close()') await pool.close();
});
