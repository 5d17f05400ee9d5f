/**
 * The hashed wait table of docs/semantics.md §3.2: 4096 queues shared by every mapping, keyed by
 * (mapping id, entry start). A wake compares the full key, so collisions in a bucket never wake the
 * wrong task. Waiters are exclusive, except those of the memory-failure paths, which may never take
 * the lock and so must not consume a wakeup: as in Linux, a wake-one releases every non-exclusive
 * waiter it passes on the way to the first exclusive one.
 */
const BUCKETS = 4096;

interface Waiter {
  readonly mapping: number;
  readonly key: number;
  readonly exclusive: boolean;
  readonly wake: () => void;
}

const table: Waiter[][] = Array.from({ length: BUCKETS }, () => []);

function bucket(mapping: number, key: number): Waiter[] {
  // Fold the high part of large indices in before mixing; only the distribution depends on it.
  const k = (key | 0) ^ ((key / 4294967296) | 0);
  return table[(Math.imul(mapping ^ k, 0x9e3779b1) >>> 20) & (BUCKETS - 1)] as Waiter[];
}

/** waitExclusive -- sleep until woken on (mapping, key). The wakeup hands over nothing: re-check. */
export function waitExclusive(mapping: number, key: number): Promise<void> {
  return new Promise<void>((resolve) => {
    bucket(mapping, key).push({ mapping, key, exclusive: true, wake: resolve });
  });
}

/** waitShared -- sleep without claiming the wakeup: the next wake-one also wakes an exclusive waiter. */
export function waitShared(mapping: number, key: number): Promise<void> {
  return new Promise<void>((resolve) => {
    bucket(mapping, key).push({ mapping, key, exclusive: false, wake: resolve });
  });
}

/**
 * wakeOne -- WAKE_NEXT: release waiters on (mapping, key) in order up to and including the first
 * exclusive one. True if an exclusive waiter was woken.
 */
export function wakeOne(mapping: number, key: number): boolean {
  const q = bucket(mapping, key);
  for (let i = 0; i < q.length; ) {
    const w = q[i] as Waiter;
    if (w.mapping === mapping && w.key === key) {
      q.splice(i, 1);
      w.wake();
      if (w.exclusive) return true;
    } else {
      i++;
    }
  }
  return false;
}

/** wakeAll -- WAKE_ALL: release every waiter on (mapping, key); returns how many. */
export function wakeAll(mapping: number, key: number): number {
  const q = bucket(mapping, key);
  let woken = 0;
  for (let i = 0; i < q.length; ) {
    const w = q[i] as Waiter;
    if (w.mapping === mapping && w.key === key) {
      q.splice(i, 1);
      w.wake();
      woken++;
    } else {
      i++;
    }
  }
  return woken;
}

/** waitersOn -- how many tasks sleep on (mapping, key) right now (for assertions and tests). */
export function waitersOn(mapping: number, key: number): number {
  let n = 0;
  for (const w of bucket(mapping, key)) if (w.mapping === mapping && w.key === key) n++;
  return n;
}
