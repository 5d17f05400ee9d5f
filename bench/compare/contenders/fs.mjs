// fs.mjs -- the Node fs contender: positioned writeSync + fdatasync, readSync, and the promise API for the
// concurrent clients. What a server reaches for first.
import {
  closeSync, fdatasyncSync, fstatSync, mkdirSync, openSync, readSync, writeSync,
} from 'node:fs';
import { open as openHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { MiB } from '../../common/data.mjs';

export const name = 'fs';

export function describe() {
  return { api: 'fs.writeSync + fs.fdatasyncSync; fs.readSync; FileHandle.write + datasync / read for the async clients' };
}

export function prepare(dir, dataBytes, chunk) {
  mkdirSync(dir, { recursive: true });
  const fd = openSync(join(dir, 'data'), 'w+');
  for (let k = 0; k < dataBytes / MiB; k++) writeSync(fd, chunk(k), 0, MiB, k * MiB);
  fdatasyncSync(fd);
  closeSync(fd);
}

export async function open(dir) {
  const fd = openSync(join(dir, 'data'), 'r+');
  const handle = await openHandle(join(dir, 'data'), 'r+');
  const appenders = [];
  return {
    slots: (size, dataBytes) => dataBytes / size,
    write(size, index, buf) {
      writeSync(fd, buf, 0, size, index * size);
      fdatasyncSync(fd);
    },
    read(size, index, buf) {
      readSync(fd, buf, 0, size, index * size);
    },
    async writeAsync(size, index, buf) {
      await handle.write(buf, 0, size, index * size);
      await handle.datasync();
    },
    async readAsync(size, index, buf) {
      await handle.read(buf, 0, size, index * size);
    },
    appender(size) {
      const afd = openSync(join(dir, `append-${size}`), 'a');
      appenders.push(afd);
      return (buf) => {
        writeSync(afd, buf, 0, size);
        fdatasyncSync(afd);
      };
    },
    warm(_size, dataBytes) {
      const buf = Buffer.alloc(MiB);
      for (let at = 0; at < dataBytes; at += MiB) readSync(fd, buf, 0, MiB, at);
    },
    info: () => ({ granularity: 'page (fdatasync)' }),
    async close() {
      for (const afd of appenders) closeSync(afd);
      await handle.close();
      closeSync(fd);
    },
  };
}

/** `count` records of `size` bytes appended in durable batches of `batch` records. */
export function fillRecords(dir, count, size, batch, records) {
  const fd = openSync(join(dir, 'records'), 'w');
  for (let i = 0; i < count; i += batch) {
    const n = Math.min(batch, count - i);
    writeSync(fd, records(i, n), 0, n * size);
    fdatasyncSync(fd);
  }
  closeSync(fd);
}

/** Open the record file and read its last record; returns the record's first byte. */
export function reopen(dir, count, size) {
  const fd = openSync(join(dir, 'records'), 'r');
  const buf = Buffer.alloc(size);
  if (fstatSync(fd).size !== count * size) throw new Error('record file has the wrong size');
  readSync(fd, buf, 0, size, (count - 1) * size);
  closeSync(fd);
  return buf[0];
}
