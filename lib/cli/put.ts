import { randomBytes } from 'node:crypto';
import { createReadStream, fstatSync, openSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { bytesOf } from '../device/validate';
import { errnoError, internalError, isErrnoError, type ErrnoCode } from '../errors';
import { Pool, type PoolFile } from '../pool';
import { QUIET_OPTION, type Command } from './command';
import { ExitCode } from './exit';
import { progressBar, type Progress } from './progress';

const CHUNK = 1024 * 1024;

interface Source {
  readonly stream: Readable;
  /** Bytes to come, when known (a regular file). */
  readonly total: number | undefined;
}

/** openSource -- opened before the pool is touched, so a missing input file changes nothing. */
function openSource(input: string | undefined): Source {
  if (input === undefined || input === '-') return { stream: process.stdin, total: undefined };
  const fd = openSync(input, 'r');
  const st = fstatSync(fd);
  return { stream: createReadStream(input, { fd, highWaterMark: CHUNK }), total: st.isFile() ? st.size : undefined };
}

async function copyIn(source: Source, file: PoolFile, progress: Progress): Promise<void> {
  let pos = 0;
  for await (const chunk of source.stream) {
    // A stream with an encoding set would yield strings: refuse them rather than write their UTF-16 units.
    const bytes = bytesOf(chunk, 'chunk');
    for (let off = 0; off < bytes.length;) {
      const n = file.writeSync(bytes.subarray(off), pos + off);
      if (n <= 0) throw internalError(`pool file '${file.name}' accepted no bytes at offset ${pos + off}`);
      off += n;
    }
    pos += bytes.length;
    if (source.total !== undefined) progress.report?.(pos, source.total);
  }
  await file.fsync();
}

/** An error that names the temporary file is told about the name the user gave instead. */
function aboutName(error: unknown, temp: string, name: string): unknown {
  if (!isErrnoError(error) || error.path === undefined || !error.path.endsWith(`:${temp}`)) return error;
  const path = `${error.path.slice(0, -temp.length)}${name}`;
  return errnoError(error.code as ErrnoCode, error.syscall, error.offset === undefined ? { path } : { path, offset: error.offset });
}

function removeTemp(pool: Pool, temp: string): void {
  try {
    if (pool.exists(temp)) pool.unlink(temp);
  } catch {
    // The copy's failure is the error to report; a `.pmemdax-put.*` name left behind says what it is.
  }
}

export const put: Command = {
  name: 'put',
  synopsis: '<pool> <name> [file|-]',
  summary: 'store a file (or stdin) under name, creating or replacing it atomically',
  details: 'The data is written to a temporary name (.pmemdax-put.*), synced, then renamed over name: ' +
    'durable when the command exits 0, and name is either the old file or the new one after a crash.',
  options: { quiet: QUIET_OPTION },
  positional: [2, 3],
  paths: [0, 2],
  async run(args) {
    const [path, name, input] = args.positional as [string, string, string | undefined];
    const source = openSource(input);
    using pool = Pool.open(path);
    // exists() rejects a name the pool cannot hold (too long, empty, NUL) before any data is written.
    pool.exists(name);
    const temp = `.pmemdax-put.${process.pid}.${randomBytes(4).toString('hex')}`;
    const progress = progressBar(`writing ${name}`, { quiet: args.flags.has('quiet') });
    try {
      {
        using file = pool.open(temp, { create: true, exclusive: true });
        await copyIn(source, file, progress);
      }
      pool.rename(temp, name);
    } catch (error) {
      removeTemp(pool, temp);
      throw aboutName(error, temp, name);
    } finally {
      progress.end();
      source.stream.destroy();
    }
    return ExitCode.OK;
  },
};
