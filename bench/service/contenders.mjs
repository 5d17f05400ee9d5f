// contenders.mjs -- the three stores a service could put its durable writes on, each behind the same three
// async calls: write(slot, buf) (a durable 4 KiB overwrite), append(buf) (a durable record at the end of a
// log) and read(slot, buf).
import { open as openHandle } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { MiB } from '../common/data.mjs';

const require = createRequire(import.meta.url);

/** The pool: data in one file, overwritten in place (durable on return); the log opened `{ sync: true }`. */
async function pool(dir, { dataBytes, logCap, fill }) {
  const { Pool } = require('../../dist/index.js');
  const p = Pool.open(join(dir, 'service.pool'), { create: { size: dataBytes + logCap + 64 * MiB } });
  const data = p.open('data', { create: true });
  for (let at = 0; at < dataBytes; at += MiB) data.writeSync(fill(at / MiB), at);
  data.fsyncSync();
  const log = p.open('log', { create: true, sync: true });
  return {
    info: { api: 'PoolFile.write (durable on return); append on a { sync: true } file; read', granularity: p.info.granularity },
    write: (slot, buf) => data.write(buf, slot * buf.length),
    async append(buf) {
      if (log.size + buf.length > logCap) await log.truncate(0);
      await log.append(buf);
    },
    read: (slot, buf) => data.read(buf, slot * buf.length),
    /** The hold clock's window is the measured phase, as the loop delay's is: warm-up (V8 compiling the first calls) stays out. */
    measure: () => p.stats({ reset: true }),
    /** The longest a promise method of the pool held the thread in one piece (pool.stats(): wall, and busy where measured). */
    holds: () => {
      const s = p.stats();
      return { longestHoldMs: s.longestHoldMs, longestHoldBusyMs: s.longestHoldBusyMs, longestHolds: s.longestHolds };
    },
    close: () => p.close(),
  };
}

/** node:fs/promises: positioned FileHandle.write + datasync; the log an O_APPEND handle, write + datasync. */
async function fs(dir, { dataBytes, logCap, fill }) {
  const data = await openHandle(join(dir, 'data'), 'w+');
  for (let at = 0; at < dataBytes; at += MiB) await data.write(fill(at / MiB), 0, MiB, at);
  await data.datasync();
  const log = await openHandle(join(dir, 'log'), 'a');
  let logSize = 0;
  return {
    info: { api: 'FileHandle.write + datasync; an O_APPEND handle for the log; FileHandle.read', granularity: 'page (fdatasync)' },
    async write(slot, buf) {
      await data.write(buf, 0, buf.length, slot * buf.length);
      await data.datasync();
    },
    async append(buf) {
      if (logSize + buf.length > logCap) {
        await log.truncate(0);
        logSize = 0;
      }
      logSize += buf.length;
      await log.write(buf);
      await log.datasync();
    },
    async read(slot, buf) {
      await data.read(buf, 0, buf.length, slot * buf.length);
    },
    async close() {
      await data.close();
      await log.close();
    },
  };
}

/**
 * lmdb-js with its defaults (noSync false, overlappingSync, event-turn batching): an async put resolves once
 * its batch is committed and flushed. The log is a second database under increasing keys, wrapped at the
 * cap so both stores stay the same size as the others'.
 */
async function lmdb(dir, { dataBytes, logCap, fill, block }) {
  const { open } = require('lmdb');
  const root = open({ path: join(dir, 'lmdb'), mapSize: 4 * (dataBytes + logCap), maxDbs: 4 });
  const data = root.openDB({ name: 'data', encoding: 'binary', keyEncoding: 'uint32' });
  const log = root.openDB({ name: 'log', encoding: 'binary', keyEncoding: 'uint32' });
  const perMiB = MiB / block;
  for (let k = 0; k < dataBytes / MiB; k++) {
    const chunk = fill(k);
    await root.transaction(() => {
      for (let j = 0; j < perMiB; j++) data.put(k * perMiB + j, chunk.subarray(j * block, (j + 1) * block));
    });
  }
  const logSlots = logCap / block;
  let next = 0;
  return {
    info: { api: 'async put (default batching, resolves when flushed); getBinary copied out', granularity: 'page (msync/fdatasync)' },
    write: (slot, buf) => data.put(slot, buf),
    append: (buf) => log.put(next++ % logSlots, buf),
    async read(slot, buf) {
      data.getBinary(slot).copy(buf); // getBinaryFast's reused buffer refuses copy (see bench/compare)
    },
    async close() {
      await root.close();
    },
  };
}

export const CONTENDERS = { pool, fs, lmdb };
