'use strict';
const http = require('node:http');
const { route } = require('./routes');

/**
 * Serves `store` over HTTP on PORT; `drain()` stops taking requests, ends keep-alive connections once their
 * requests are answered, and then calls `closed`.
 */
function serveHttp(store, closed) {
  let closing = false;
  const server = http.createServer((req, res) => {
    // While draining, tell keep-alive clients to go, so their connections end and the server can close.
    if (closing) res.setHeader('connection', 'close');
    route(store, req, res).catch((err) => {
      res.statusCode = err.status || 500;
      res.end(err.status ? err.message : String(err.code || err));
    });
  });
  server.listen(Number(process.env.PORT || 8080), '127.0.0.1', () => {
    console.log(`listening on http://127.0.0.1:${server.address().port} (pid ${process.pid})`);
  });
  return {
    drain() {
      if (closing) return;
      closing = true;
      // A drain that hangs still ends in an exit; the exit hook then commits and closes the pool.
      setTimeout(() => process.exit(1), 10_000).unref();
      server.close(closed);
      server.closeIdleConnections();
    },
  };
}

module.exports = { serveHttp };
