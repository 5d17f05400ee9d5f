'use strict';
// The records service: run `POOL_PATH=/mnt/pmem/records.pool PORT=8080 node server.js`. With WORKERS=N it
// runs N worker processes (node:cluster) that serve HTTP and read from their own read-only opens of the pool,
// beside the primary, the pool's one writer, which runs the writes they send it.
const cluster = require('node:cluster');
const { Pool } = require('pmemdax');
const { ReaderStore, serveWorkerWrites } = require('./cluster-store');
const { serveHttp } = require('./http-server');
const { Store } = require('./store');

const POOL_PATH = process.env.POOL_PATH || '/mnt/pmem/records.pool';
const POOL_SIZE = Number(process.env.POOL_SIZE || 256 * 1024 * 1024);
const WORKERS = Number(process.env.WORKERS || 0);

/** The writer's store: the pool opened (made on first start) for writing, what a crash left tidied away. */
function openWriter() {
  const pool = Pool.open(POOL_PATH, { create: { size: POOL_SIZE } });
  if (pool.info.unsafeShutdown.dirty) console.log('recovered from an unclean end:', JSON.stringify(pool.info.recovery));
  const store = new Store(pool);
  const removed = store.blobs.removeLeftovers();
  if (removed > 0) console.log(`removed ${removed} temporary files of interrupted puts`);
  return store;
}

/** Closes the store, says so, and exits 0 (1 when the close failed). */
function closeStore(store) {
  store.close().then(
    () => console.log('closed'),
    (err) => {
      console.error(`close failed: ${err.message}`);
      process.exitCode = 1;
    },
  );
}

function onStop(stop) {
  const once = (signal) => {
    console.log(`${signal}: draining`);
    stop();
  };
  process.once('SIGTERM', once);
  process.once('SIGINT', once);
}

if (WORKERS === 0) {
  const store = openWriter();
  const http = serveHttp(store, () => closeStore(store));
  onStop(() => http.drain());
} else if (cluster.isPrimary) {
  const store = openWriter();
  serveWorkerWrites(store);
  let stopping = false;
  cluster.on('exit', (worker, code, signal) => {
    if (!stopping) {
      console.log(`worker ${worker.id} ended (${code ?? signal}): starting another`);
      cluster.fork();
    } else if (Object.keys(cluster.workers).length === 0) {
      closeStore(store);
    }
  });
  for (let i = 0; i < WORKERS; i++) cluster.fork();
  onStop(() => {
    stopping = true;
    // The workers finish their requests (writes included: the store stays open until the last one ends).
    for (const worker of Object.values(cluster.workers)) worker.send({ op: 'drain' });
  });
} else {
  const store = new ReaderStore(Pool.open(POOL_PATH, { readonly: true }));
  const http = serveHttp(store, () => {
    store.close().then(() => process.disconnect());
  });
  // A terminal's Ctrl-C reaches the workers too: the primary says when to drain.
  process.on('SIGINT', () => {});
  process.on('message', (msg) => {
    if (msg.op === 'drain') http.drain();
  });
}
