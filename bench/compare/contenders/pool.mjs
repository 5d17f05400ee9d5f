// pool.mjs -- the pmemdax contender: a pool file holding one file per data set, through the public API
// from dist/. Buffers are exactly one record long (case.mjs). writeSync makes data durable on return; the
// append and record files are opened with { sync: true } so that their size is durable on return too, as
// fdatasync gives the fs contender.
import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { MiB } from '../../common/data.mjs';

const require = createRequire(import.meta.url);
// PMEMDAX_BENCH_LIB: an earlier commit's build, for run.mjs --before.
const { Pool } = require(process.env.PMEMDAX_BENCH_LIB ?? '../../../dist/index.js');

export const name = 'pmemdax';

/** Room for the data set, the appends (bounded by run.mjs) and the records, with slack for metadata. */
export const poolBytes = (dataBytes) => Math.ceil((dataBytes * 2 + 256 * MiB) / MiB) * MiB;

export function describe() {
  return { api: 'PoolFile.writeSync / readSync (data durable on return); appends on a { sync: true } file; write / read for the async clients' };
}

const poolPath = (dir) => join(dir, 'pool');

export function prepare(dir, dataBytes, chunk) {
  mkdirSync(dir, { recursive: true });
  const pool = Pool.create(poolPath(dir), { size: poolBytes(dataBytes) });
  const file = pool.open('data', { create: true });
  for (let k = 0; k < dataBytes / MiB; k++) file.writeSync(chunk(k), k * MiB);
  file.fsyncSync();
  file.close();
  pool.close();
}

export async function open(dir) {
  const pool = Pool.open(poolPath(dir));
  const file = pool.open('data');
  const appenders = [];
  return {
    slots: (size, dataBytes) => dataBytes / size,
    write(size, index, buf) {
      file.writeSync(buf, index * size);
    },
    read(size, index, buf) {
      file.readSync(buf, index * size);
    },
    async writeAsync(size, index, buf) {
      await file.write(buf, index * size);
    },
    async readAsync(size, index, buf) {
      await file.read(buf, index * size);
    },
    appender(size) {
      const f = pool.open(`append-${size}`, { create: true, truncate: true, sync: true });
      appenders.push(f);
      return (buf) => {
        f.appendSync(buf);
      };
    },
    warm(_size, dataBytes) {
      const buf = Buffer.alloc(MiB);
      for (let at = 0; at < dataBytes; at += MiB) file.readSync(buf, at);
    },
    info: () => {
      const device = pool.device.info ?? {};
      return {
        granularity: pool.info.granularity, kind: pool.info.kind, mapSync: pool.info.mapSync,
        flush: device.flush, pmem: device.pmem, blockDevice: device.blockDevice, persistenceDomain: device.persistenceDomain,
      };
    },
    async close() {
      for (const f of appenders) f.close();
      file.close();
      pool.close();
    },
  };
}

export function fillRecords(dir, count, size, batch, records) {
  const pool = Pool.open(poolPath(dir));
  const file = pool.open('records', { create: true, truncate: true, sync: true });
  for (let i = 0; i < count; i += batch) file.appendSync(records(i, Math.min(batch, count - i)));
  file.close();
  pool.close();
}

export function reopen(dir, count, size) {
  const pool = Pool.open(poolPath(dir));
  const file = pool.open('records', { readonly: true });
  if (file.size !== count * size) throw new Error('record file has the wrong size');
  const buf = Buffer.alloc(size);
  file.readSync(buf, (count - 1) * size);
  file.close();
  pool.close();
  return buf[0];
}
