let readerGone = false;

function isEpipe(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'EPIPE';
}

/**
 * guardStdout -- a reader that stops early (`pmemdax cat … | head`) is not an error: later writes are
 * dropped. Without a listener the EPIPE 'error' event would end the process with a stack trace.
 */
export function guardStdout(): void {
  process.stdout.on('error', (error) => {
    if (!isEpipe(error)) throw error;
    readerGone = true;
  });
}

/** True once stdout's reader has gone away. */
export function stdoutClosed(): boolean {
  return readerGone;
}

/** writeOut -- writes text or bytes to stdout; resolves when they were handed over, false if the reader has gone. */
export function writeOut(chunk: string | Uint8Array): Promise<boolean> {
  if (readerGone) return Promise.resolve(false);
  return new Promise((resolve, reject) => {
    process.stdout.write(chunk, (error) => {
      if (error === null || error === undefined) resolve(true);
      else if (isEpipe(error)) {
        readerGone = true;
        resolve(false);
      } else reject(error);
    });
  });
}

/** printJson -- a value as indented JSON and a newline. */
export function printJson(value: unknown): Promise<boolean> {
  return writeOut(`${JSON.stringify(value, null, 2)}\n`);
}

/** printLines -- lines of text, each ended by a newline (nothing for none). */
export function printLines(lines: readonly string[]): Promise<boolean> {
  return lines.length === 0 ? Promise.resolve(true) : writeOut(`${lines.join('\n')}\n`);
}
