// The integrity matrix: every public method of a handle, in every state the handle can be in, settles to
// one documented outcome. A sync method answers or throws; an async one resolves or rejects (a throw from
// an async method, instead of a rejection, would be a finding of its own).

/** How a call ended: `ok`, `resolves`, `throws <code>` or `rejects <code>`. */
export async function outcome(call: () => unknown): Promise<string> {
  let result: unknown;
  try {
    result = call();
  } catch (e) {
    return `throws ${codeOf(e)}`;
  }
  if (!(result instanceof Promise)) return 'ok';
  try {
    await result;
    return 'resolves';
  } catch (e) {
    return `rejects ${codeOf(e)}`;
  }
}

function codeOf(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : String(e);
}

/** A handle in one state, made fresh for each call (a call such as close changes the state). */
export interface StateBed<T> {
  readonly subject: T;
  /** Releases what the bed made; must not fail whatever the call did. */
  cleanup(): void;
}

/** Runs every method against a fresh bed, returning method → outcome. */
export async function runMatrix<T>(make: () => Promise<StateBed<T>>, methods: Record<string, (subject: T) => unknown>): Promise<Record<string, string>> {
  const outcomes: Record<string, string> = {};
  for (const [name, call] of Object.entries(methods)) {
    const bed = await make();
    try {
      outcomes[name] = await outcome(() => call(bed.subject));
    } finally {
      bed.cleanup();
    }
  }
  return outcomes;
}

/**
 * The outcomes a table expects: `failing(name)` is the code a method fails with in this state (null: it
 * works); a method in `asyncMethods` rejects or resolves, any other throws or answers.
 */
export function expectedOutcomes(methods: Record<string, unknown>, asyncMethods: ReadonlySet<string>, failing: (name: string) => string | null): Record<string, string> {
  return Object.fromEntries(
    Object.keys(methods).map((name) => {
      const code = failing(name);
      const isAsync = asyncMethods.has(name);
      if (code === null) return [name, isAsync ? 'resolves' : 'ok'];
      return [name, `${isAsync ? 'rejects' : 'throws'} ${code}`];
    }),
  );
}
