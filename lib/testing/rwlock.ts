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
