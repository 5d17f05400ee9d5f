// lmdb.mjs -- the lmdb-js contender: records as values under integer keys, one named database per record
// size, every write a synchronous durable commit (noSync false and overlappingSync false, so a commit has
// synced before putSync or transactionSync returns, and before an async put's promise resolves).
import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { GiB, KiB, MiB } from '../../common/data.mjs';
import { LMDB_SMALL_KEYS, SEQ_SIZE } from '../data.mjs';

const require = createRequire(import.meta.url);
const lmdb = require('lmdb');

export const name = 'lmdb';

/** Sequential 1 MiB operations go through 16 records of 64 KiB (one transaction for a write). */
const PIECE = 64 * KiB;
const PIECES = SEQ_SIZE / PIECE;
const DB_SIZES = [64, 4 * KiB, PIECE];

export function describe() {
  return {
    api: 'open({ noSync: false, overlappingSync: false }), binary values, uint32 keys; putSync / transactionSync; ' +
      'getBinaryFast copied into the caller\'s buffer; async clients use put()',
    version: lmdbVersion(),
  };
}

function lmdbVersion() {
  const { readFileSync } = require('node:fs');
  const pkg = join(require.resolve('lmdb').replace(/(.*node_modules\/lmdb)\/.*/, '$1'), 'package.json');
  return JSON.parse(readFileSync(pkg, 'utf8')).version;
}

function env(dir) {
  mkdirSync(dir, { recursive: true });
  return lmdb.open({
    path: join(dir, 'lmdb'),
    noSync: false,
    overlappingSync: false,
    mapSize: 8 * GiB,
    maxDbs: 16,
  });
}

const dbFor = (root, label) => root.openDB({ name: label, encoding: 'binary', keyEncoding: 'uint32' });

export const slotsFor = (size, dataBytes) =>
  size === 64 ? Math.min(LMDB_SMALL_KEYS, dataBytes / size) : dataBytes / size;

export function prepare(dir, dataBytes, chunk) {
  const root = env(dir);
  // One transaction per 64 MiB of records keeps each commit moderate.
  const perTxn = 64;
  for (const size of DB_SIZES) {
    const db = dbFor(root, `r${size}`);
    const keys = slotsFor(size, dataBytes);
    const perChunk = MiB / size;
    const chunks = Math.ceil((keys * size) / MiB);
    for (let k0 = 0; k0 < chunks; k0 += perTxn) {
      root.transactionSync(() => {
        for (let k = k0; k < Math.min(chunks, k0 + perTxn); k++) {
          const c = chunk(k);
          for (let j = 0; j < perChunk && k * perChunk + j < keys; j++) {
            db.putSync(k * perChunk + j, c.subarray(j * size, (j + 1) * size));
          }
        }
      });
    }
  }
  root.close();
}

export async function open(dir) {
  const root = env(dir);
  const dbs = new Map(DB_SIZES.map((size) => [size, dbFor(root, `r${size}`)]));
  const big = dbs.get(PIECE);
  // getBinaryFast answers in a reused buffer whose `length` is the value's but whose typed-array length
  // is the whole scratch area, which copy and set reject; copy from a Buffer over that area instead.
  let area = null;
  let whole = null;
  const get = (db, key, buf, at) => {
    const v = db.getBinaryFast(key);
    if (v === undefined) throw new Error(`lmdb: no record ${key}`);
    if (v.buffer !== area) {
      area = v.buffer;
      whole = Buffer.from(area);
    }
    whole.copy(buf, at, v.byteOffset, v.byteOffset + v.length);
  };
  return {
    slots: (size, dataBytes) => (size === SEQ_SIZE ? dataBytes / SEQ_SIZE : slotsFor(size, dataBytes)),
    write(size, index, buf) {
      if (size !== SEQ_SIZE) {
        dbs.get(size).putSync(index, buf);
        return;
      }
      root.transactionSync(() => {
        for (let j = 0; j < PIECES; j++) big.putSync(index * PIECES + j, buf.subarray(j * PIECE, (j + 1) * PIECE));
      });
    },
    read(size, index, buf) {
      if (size !== SEQ_SIZE) {
        get(dbs.get(size), index, buf, 0);
        return;
      }
      for (let j = 0; j < PIECES; j++) get(big, index * PIECES + j, buf, j * PIECE);
    },
    async writeAsync(size, index, buf) {
      await dbs.get(size).put(index, buf);
    },
    async readAsync(size, index, buf) {
      get(dbs.get(size), index, buf, 0);
    },
    appender(size) {
      const db = dbFor(root, `append${size}`);
      let key = 0;
      return (buf) => {
        db.putSync(key++, buf);
      };
    },
    warm(size, dataBytes) {
      const db = dbs.get(size === SEQ_SIZE ? PIECE : size);
      const buf = Buffer.alloc(PIECE);
      for (let key = 0; key < slotsFor(size === SEQ_SIZE ? PIECE : size, dataBytes); key++) get(db, key, buf, 0);
    },
    info: () => ({ granularity: 'page (fdatasync at commit)' }),
    async close() {
      await root.close();
    },
  };
}

export function fillRecords(dir, count, size, batch, records) {
  const root = env(dir);
  const db = dbFor(root, 'records');
  for (let i = 0; i < count; i += batch) {
    const n = Math.min(batch, count - i);
    const buf = records(i, n);
    root.transactionSync(() => {
      for (let j = 0; j < n; j++) db.putSync(i + j, buf.subarray(j * size, (j + 1) * size));
    });
  }
  root.close();
}

export function reopen(dir, count, size) {
  const root = env(dir);
  const v = dbFor(root, 'records').getBinaryFast(count - 1);
  if (v === undefined || v.length !== size) throw new Error('lmdb: the last record is missing');
  const first = v[0];
  root.close();
  return first;
}
