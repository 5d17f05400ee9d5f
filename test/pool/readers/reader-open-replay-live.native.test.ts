import { expect, it } from 'vitest';
import { Device, Pool } from '../../../lib';
import { pickSuperblock } from '../../../lib/pool/load';
import { poolPerTest } from './support';

const MiB = 1024 * 1024;
const pool = poolPerTest({ size: 16 * MiB, journalBytes: 1 * MiB });

/** Where record 1 of the journal starts, and a byte inside it (past its header), as device offsets. */
function recordOne(d: Device): { at: number; inside: number } {
  const j = pickSuperblock(d, pool.path).sb.journalStart * 4096;
  const len0 = Buffer.from(d.readSafe(j, 32)).readUInt32LE(24);
  const at = j + Math.ceil((32 + len0) / 64) * 64;
  return { at, inside: at + 40 };
}

function flip(d: Device, offset: number): void {
  const b = Buffer.from(d.readSafe(offset, 1));
  b[0] = (b[0] as number) ^ 0xff;
  d.copy(offset, b);
}

const corrupt = (record: number) => expect.objectContaining({ code: 'ERR_PMEMDAX_CORRUPT', message: expect.stringContaining(`journal record ${record} `) });

it('a record damaged on the media, with whole records after it, is ERR_PMEMDAX_CORRUPT beside a live writer too: for an open, for each refresh (the reader staying at the commit before it), until the writer checkpoints', () => {
  const w = Pool.open(pool.path);
  const r = Pool.open(pool.path, { readonly: true });
  for (let i = 0; i < 3; i++) w.open(`f${i}`, { create: true }).close();
  const d = Device.open(pool.path);
  flip(d, recordOne(d).inside);
  d.close();
  expect(() => Pool.open(pool.path, { readonly: true })).toThrow(corrupt(1));
  for (let i = 0; i < 2; i++) expect(() => r.refresh()).toThrow(corrupt(1));
  // Record 0 (f0) applied, the rest not: a committed state.
  expect([...r.list()]).toEqual(['f0']);
  expect(Pool.check(pool.path).ok).toBe(false);
  w.closeSync();
  r.refresh();
  expect([...r.list()]).toEqual(['f0', 'f1', 'f2']);
  r.closeSync();
  const again = Pool.open(pool.path, { readonly: true });
  expect(again.statfs().files).toBe(3);
  again.closeSync();
});

it('a record read while it was being written, its successor whole when read after it, ends the refresh without an error; the next refresh applies both', () => {
  const w = Pool.open(pool.path);
  const r = Pool.open(pool.path, { readonly: true });
  for (let i = 0; i < 3; i++) w.open(`f${i}`, { create: true }).close();
  // The reader's first reading of record 1 sees a byte not yet stored; a later reading of it sees it whole.
  const { inside } = recordOne(r.device as Device);
  const copySafe = r.device.copySafe.bind(r.device);
  let torn = 1;
  r.device.copySafe = (offset: number, into: Uint8Array): void => {
    copySafe(offset, into);
    if (torn > 0 && offset <= inside && inside < offset + into.length) {
      torn--;
      into[inside - offset] = (into[inside - offset] as number) ^ 0xff;
    }
  };
  r.refresh();
  expect(torn).toBe(0);
  expect([...r.list()]).toEqual(['f0']);
  r.refresh();
  expect([...r.list()]).toEqual(['f0', 'f1', 'f2']);
  r.closeSync();
  w.closeSync();
});

it('a record being written when a reader opens (only the last can be) is its end: the open succeeds at the commit before it', () => {
  const w = Pool.open(pool.path);
  for (let i = 0; i < 2; i++) w.open(`f${i}`, { create: true }).close();
  // Record 1 is the last: damaged, it reads as one being stored.
  const d = Device.open(pool.path);
  flip(d, recordOne(d).inside);
  d.close();
  const r = Pool.open(pool.path, { readonly: true });
  expect([...r.list()]).toEqual(['f0']);
  r.closeSync();
  w.closeSync();
});
