'use strict';

const TMP = 'tmp/';
const BLOBS = 'blobs/';

/**
 * Keys mapped to blobs, one pool file per key. A put never changes the file a reader may be reading: it
 * writes a new file under a temporary name, commits it, and renames it over the key's file. The rename is
 * atomic and durable once it resolves, so after a crash the key holds the old blob or the new one, never a mix.
 */
class BlobStore {
  constructor(pool) {
    this.pool = pool;
    this.serial = 0;
  }

  /** Removes the temporary files of puts a crash interrupted; run once at start, before serving. */
  removeLeftovers() {
    const names = [...this.pool.list({ prefix: TMP })];
    for (const name of names) this.pool.unlink(name);
    return names.length;
  }

  async put(key, value) {
    const tmp = `${TMP}${process.pid}.${++this.serial}`;
    // The *Async namespace calls commit as the promise methods do: off the event loop on a disk, and
    // shared with the other requests committing at the same time (group commit).
    const file = await this.pool.openAsync(tmp, { create: true, exclusive: true });
    try {
      await file.write(value, 0);
      await file.fsync(); // commits the size and the blocks before the name points at them
    } catch (err) {
      await file.close();
      await this.pool.unlinkAsync(tmp);
      throw err;
    }
    await file.close();
    await this.pool.renameAsync(tmp, BLOBS + key);
  }

  /** The key's blob, or null when there is none. */
  async get(key) {
    let file;
    try {
      file = this.pool.open(BLOBS + key, { readonly: true });
    } catch (err) {
      if (err.code === 'ENOENT') return null;
      throw err;
    }
    try {
      const value = Buffer.alloc(file.size);
      await file.read(value, 0);
      return value;
    } finally {
      file.close();
    }
  }
}

module.exports = { BlobStore };
