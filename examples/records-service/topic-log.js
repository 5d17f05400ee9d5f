'use strict';
const { ALIGN, HEADER, decodeHeader, encodeFrame, frameLength, payloadIntact } = require('./frames');

/**
 * An append-only log of framed records in one pool file. The file is opened `{ sync: true }`, so when
 * `append` resolves the record and the file's new size are durable: the service can answer 200.
 */
class TopicLog {
  constructor(file) {
    this.file = file;
  }

  /** Appends one record; resolves with its offset, the record's name for `read`. */
  append(payload) {
    return this.file.append(encodeFrame(payload));
  }

  /**
   * Up to `limit` records from `from` on, and `next`, the offset to continue from. A frame that fails its
   * checks (a record a crash cut short: appends that were never acknowledged) is skipped: a bad payload
   * by the length its intact header gives, a bad header by moving on to the next 8-byte boundary.
   */
  async read(from, limit) {
    const size = this.file.size;
    const header = Buffer.alloc(HEADER);
    const records = [];
    let at = Math.ceil(from / ALIGN) * ALIGN;
    while (records.length < limit && at + HEADER <= size) {
      await this.file.read(header, at);
      const length = decodeHeader(header);
      if (length < 0 || at + frameLength(length) > size) {
        at += ALIGN;
        continue;
      }
      const payload = Buffer.alloc(length);
      await this.file.read(payload, at + HEADER);
      if (payloadIntact(header, payload)) records.push({ offset: at, payload });
      at += frameLength(length);
    }
    return { records, next: Math.max(at, from) };
  }

  close() {
    this.file.close();
  }
}

module.exports = { TopicLog };
