/** What the exit hook needs of a pool: its closing, and its path for a failure message. */
export interface ExitClosable {
  closeSync(): void;
  readonly info: { readonly path: string };
}

/**
 * The pools of this thread open for writing, held strongly: an open pool holds its lock and its pending
 * changes, and a pool the program dropped without closing still has both. Keeping it until exit means
 * the exit commits its changes, where garbage collection would only have lost them.
 */
const open = new Set<ExitClosable>();

/**
 * 'exit' runs when the thread ends normally (process.exit(), the event loop running dry, a worker's
 * own exit) and also after an uncaught exception. One listener serves every pool, and only while
 * one is open.
 */
function onExit(): void {
  const pools = [...open];
  open.clear();
  stopListening();
  for (const pool of pools) {
    try {
      pool.closeSync();
    } catch (e) {
      // Nothing is lost that a crash would not lose: the next open recovers the last commit.
      process.stderr.write(`pmemdax: pool '${pool.info.path}' could not be closed at exit: ${(e as Error).message}\n`);
      if (!process.exitCode) process.exitCode = 1;
    }
  }
}

/**
 * An uncaught exception (or an unhandled rejection, which Node treats as one) may have left a pool's
 * state half-changed, and Node holds the process state undefined after one. The pools open at that
 * moment are not committed at exit: they end as in a crash, at their last commit. The program may still
 * close them itself (an 'uncaughtException' handler that judges them sound); pools opened later are
 * tracked anew.
 */
function onUncaught(): void {
  open.clear();
  stopListening();
}

function stopListening(): void {
  process.off('exit', onExit);
  process.off('uncaughtExceptionMonitor', onUncaught);
}

/** A pool opened for writing: commit and close it if the thread ends normally before `close`. */
export function trackOpenPool(pool: ExitClosable): void {
  if (open.size === 0) {
    process.on('exit', onExit);
    process.on('uncaughtExceptionMonitor', onUncaught);
  }
  open.add(pool);
}

/** A pool closed (or abandoned after a failed open): nothing is left to do at exit. */
export function untrackPool(pool: ExitClosable): void {
  if (!open.delete(pool) || open.size > 0) return;
  stopListening();
}
