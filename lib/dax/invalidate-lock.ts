/**
 * AsyncRwLock -- a readers/writer lock for async tasks, standing in for a filesystem's
 * `invalidate_lock` (faults share it; truncate, punch and remap hold it alone). Waiting writers block
 * new readers, so a writer is never starved.
 */
export class AsyncRwLock {
  private readers = 0;
  private writer = false;
  private readonly queue: { write: boolean; grant: () => void }[] = [];

  /** Take the lock shared; resolves to the release function. */
  async read(): Promise<() => void> {
    if (!this.writer && this.queue.length === 0) {
      this.readers++;
    } else {
      await new Promise<void>((grant) => this.queue.push({ write: false, grant }));
    }
    return () => this.releaseRead();
  }

  /** Take the lock exclusively; resolves to the release function. */
  async write(): Promise<() => void> {
    if (!this.writer && this.readers === 0 && this.queue.length === 0) {
      this.writer = true;
    } else {
      await new Promise<void>((grant) => this.queue.push({ write: true, grant }));
    }
    return () => this.releaseWrite();
  }

  private releaseRead(): void {
    this.readers--;
    this.dispatch();
  }

  private releaseWrite(): void {
    this.writer = false;
    this.dispatch();
  }

  /** Hand the lock to the waiters at the head: one writer, or every reader up to the next writer. */
  private dispatch(): void {
    if (this.writer) return;
    while (this.queue.length > 0) {
      const next = this.queue[0] as { write: boolean; grant: () => void };
      if (next.write) {
        if (this.readers > 0) return;
        this.queue.shift();
        this.writer = true;
        next.grant();
        return;
      }
      this.queue.shift();
      this.readers++;
      next.grant();
    }
  }
}

/**
 * Run `fn` holding the invalidate locks of `inodes` alone (in inode order, so two remaps never
 * deadlock): no fault can map a block between its entries being dropped and the block being freed.
 */
export async function withInvalidateLocks<T>(inodes: readonly { readonly ino: number; readonly invalidateLock: AsyncRwLock }[], fn: () => Promise<T>): Promise<T> {
  const unique = [...new Set(inodes)].sort((a, b) => a.ino - b.ino);
  const releases: (() => void)[] = [];
  try {
    for (const i of unique) releases.push(await i.invalidateLock.write());
    return await fn();
  } finally {
    for (const r of releases.reverse()) r();
  }
}
