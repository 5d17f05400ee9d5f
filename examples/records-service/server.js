'use strict';
// The records service: run `POOL_PATH=/mnt/pmem/records.pool PORT=8080 node server.js`.
const http = require('node:http');
const { Pool } = require('pmemdax');
const { route } = require('./routes');
const { Store } = require('./store');

const POOL_PATH = process.env.POOL_PATH || '/mnt/pmem/records.pool';
const POOL_SIZE = Number(process.env.POOL_SIZE || 256 * 1024 * 1024);

const pool = Pool.open(POOL_PATH, { create: { size: POOL_SIZE } });
if (pool.info.unsafeShutdown.dirty) console.log('recovered from an unclean end:', JSON.stringify(pool.info.recovery));
const store = new Store(pool);
const removed = store.blobs.removeLeftovers();
if (removed > 0) console.log(`removed ${removed} temporary files of interrupted puts`);

let closing = false;
const server = http.createServer((req, res) => {
  // While draining, tell keep-alive clients to go, so their connections end and the server can close.
  if (closing) res.setHeader('connection', 'close');
  route(store, req, res).catch((err) => {
    res.statusCode = err.status || 500;
    res.end(err.status ? err.message : String(err.code || err));
  });
});

function shutdown(signal) {
  if (closing) return;
  closing = true;
  console.log(`${signal}: draining`);
  // A drain that hangs still ends in an exit; the exit hook then commits and closes the pool.
  setTimeout(() => process.exit(1), 10_000).unref();
  server.close(() => {
    store.close().then(
      () => console.log('closed'),
      (err) => {
        console.error(`close failed: ${err.message}`);
        process.exitCode = 1;
      },
    );
  });
  server.closeIdleConnections();
}
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);

server.listen(Number(process.env.PORT || 8080), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
