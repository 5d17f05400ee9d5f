/** Where a progress bar is drawn (process.stderr, or a test's stand-in). */
export interface ProgressStream {
  readonly isTTY?: boolean;
  write(text: string): boolean;
}

export interface ProgressOptions {
  readonly stream?: ProgressStream;
  /** `--quiet`: no bar. */
  readonly quiet?: boolean;
  readonly now?: () => number;
}

export interface Progress {
  /** The callback to hand to an operation, or undefined when no bar is drawn (the operation skips the calls). */
  readonly report: ((done: number, total: number) => void) | undefined;
  /** Erases the bar. */
  end(): void;
}

/** At most ten redraws a second: a fast operation's callback may fire thousands of times. */
const MIN_INTERVAL_MS = 100;
/** An operation over sooner than this shows no bar at all. */
const FIRST_DRAW_MS = 250;
const BAR_WIDTH = 30;

/** renderBar -- `label [#######.......]  45%`. */
export function renderBar(label: string, done: number, total: number): string {
  const fraction = total > 0 ? Math.min(Math.max(done / total, 0), 1) : 1;
  const filled = Math.round(fraction * BAR_WIDTH);
  const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
  return `${label} [${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${percent}`;
}

/**
 * progressBar -- a bar on a terminal's stderr, from a quarter of a second into the operation; nothing when
 * stderr is not a terminal (a log file or a pipe would fill with carriage returns) or with `--quiet`.
 */
export function progressBar(label: string, options: ProgressOptions = {}): Progress {
  const stream = options.stream ?? process.stderr;
  if (options.quiet || stream.isTTY !== true) return { report: undefined, end: () => {} };
  const now = options.now ?? Date.now;
  let last = now() + FIRST_DRAW_MS - MIN_INTERVAL_MS;
  let drawn = false;
  return {
    report(done, total) {
      const t = now();
      if (t - last < MIN_INTERVAL_MS) return;
      last = t;
      drawn = true;
      stream.write(`\r${renderBar(label, done, total)}\x1b[K`);
    },
    end() {
      if (drawn) stream.write('\r\x1b[K');
      drawn = false;
    },
  };
}
