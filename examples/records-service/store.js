'use strict';
const { BlobStore } = require('./blob-store');
const { TopicLog } = require('./topic-log');

/** The service's state on one pool: a log per topic (opened on first use) and the blob store. */
class Store {
  constructor(pool) {
    this.pool = pool;
    this.logs = new Map();
    this.blobs = new BlobStore(pool);
  }

  log(topic) {
    let log = this.logs.get(topic);
    if (log === undefined) {
      log = new TopicLog(this.pool.open(`topics/${topic}`, { create: true, sync: true }));
      this.logs.set(topic, log);
    }
    return log;
  }

  /** Waits for the requests still being served, then commits, checkpoints and marks the pool clean. */
  async close() {
    for (const log of this.logs.values()) log.close();
    this.logs.clear();
    await this.pool.close();
  }
}

module.exports = { Store };
