import { expect, it } from 'vitest';
import { Device, Pool } from '../../../lib';
import { pickSuperblock } from '../../../lib/pool/load';
import { poolPerTest } from './support';

const MiB = 1024 * 1024;
const pool = poolPerTest({ size: 16 * MiB, journalBytes: 1 * MiB });

it('a reader’s open beside a live writer takes a record that does not check out as the end (as refresh does)', () => {
  const w = Pool.open(pool.path);
  for (let i = 0; i < 3; i++) w.open(`f${i}`, { create: true }).close();
  // What a reader may see while the writer's next record is being stored: record 1 incomplete, record 2 whole
  // (simulated by damaging record 1: the reader cannot tell them apart).
  const d = Device.open(pool.path);
  const sb = pickSuperblock(d, pool.path).sb;
  const j = sb.journalStart * 4096;
  const hdr = Buffer.from(d.readSafe(j, 32));
  const len0 = hdr.readUInt32LE(24);
  const at1 = j + Math.ceil((32 + len0) / 64) * 64;
  const b = Buffer.from(d.readSafe(at1 + 40, 1));
  b[0] = (b[0] as number) ^ 0xff;
  d.copy(at1 + 40, b);
  d.close();
  let code = 'ok';
  let files = -1;
  try {
    const r = Pool.open(pool.path, { readonly: true });
    files = r.statfs().files;
    r.closeSync();
  } catch (e) {
    code = `${(e as { code?: string }).code}: ${(e as Error).message}`;
  }
  w.closeSync();
  expect(code).toBe('ok');
});
