'use strict';
const cluster = require('node:cluster');
const { BlobStore } = require('./blob-store');
const { TopicLog } = require('./topic-log');

/** In the primary (the pool's one writer): runs the appends and puts the workers send, answers each. */
function serveWorkerWrites(store) {
  cluster.on('message', (worker, msg) => {
    if (msg.op !== 'append' && msg.op !== 'put') return;
    const data = Buffer.from(msg.data, 'base64');
    const done = msg.op === 'append' ? store.log(msg.name).append(data) : store.blobs.put(msg.name, data);
    done.then(
      (value) => worker.send({ id: msg.id, value }),
      (err) => worker.send({ id: msg.id, error: String(err.code || err.message) }),
    );
  });
}

/**
 * In a worker: the Store the routes use, over a read-only open of the pool (a reader beside the primary's
 * writer). Reads refresh to the newest commit first, so a client reads what it was just told is written;
 * writes go to the primary and resolve with its answer.
 */
class ReaderStore {
  constructor(pool) {
    this.pool = pool;
    this.waiting = new Map();
    this.nextId = 0;
    this.onMessage = (msg) => {
      const call = this.waiting.get(msg.id);
      if (call === undefined) return;
      this.waiting.delete(msg.id);
      if (msg.error !== undefined) call.reject(Object.assign(new Error(msg.error), { code: msg.error }));
      else call.resolve(msg.value);
    };
    process.on('message', this.onMessage);
    this.blobs = {
      put: (key, value) => this.ask('put', key, value),
      get: (key) => {
        this.pool.refresh();
        return new BlobStore(this.pool).get(key);
      },
    };
  }

  ask(op, name, data) {
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.waiting.set(id, { resolve, reject });
      process.send({ op, id, name, data: data.toString('base64') });
    });
  }

  log(topic) {
    return {
      append: (payload) => this.ask('append', topic, payload),
      read: async (from, limit) => {
        this.pool.refresh();
        let file;
        try {
          // Opened after the refresh: a file open across one may keep the older state.
          file = this.pool.open(`topics/${topic}`, { readonly: true });
        } catch (err) {
          if (err.code === 'ENOENT') return { records: [], next: from };
          throw err;
        }
        try {
          return await new TopicLog(file).read(from, limit);
        } finally {
          file.close();
        }
      },
    };
  }

  async close() {
    process.off('message', this.onMessage);
    await this.pool.close();
  }
}

module.exports = { serveWorkerWrites, ReaderStore };
