import type { DirectAccessOptions, DirectAccessResult } from '../../../lib/device/types';
import { MemoryDevice } from '../../../lib/testing';

/** Thrown by a DeadlineDevice used after its deadline: the code under test is looping. */
export class FuzzTimeout extends Error {
  override readonly name = 'FuzzTimeout';
}

/** CPU time this process has used, in ms: unlike the wall clock it does not run on while a busy host
 * keeps the process waiting, so only work done by the case counts against its deadline. */
export function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/**
 * DeadlineDevice -- a MemoryDevice holding a copy of an image that refuses every access after a
 * deadline in CPU time, so that a pool which loops over corrupt metadata fails the case instead of
 * hanging the run (every loop over metadata reads or persists through the device).
 */
export class DeadlineDevice extends MemoryDevice {
  private deadline = Infinity;

  /** Hold a copy of `image`, and refuse access after `ms` more of CPU time (one device serves case after case). */
  load(image: Uint8Array, ms: number): void {
    this.bytes.set(image);
    this.deadline = cpuMs() + ms;
    this.quietUntil = performance.now() + ms;
  }

  override directAccess(pgoff: number, nrPages: number, options?: DirectAccessOptions): DirectAccessResult {
    this.tick();
    return super.directAccess(pgoff, nrPages, options);
  }

  override copySafe(offset: number, target: Uint8Array): void {
    this.tick();
    super.copySafe(offset, target);
  }

  override flush(offset: number, length: number): void {
    this.tick();
    super.flush(offset, length);
  }

  override copy(offset: number, src: ArrayBufferView, flags?: number): void {
    this.tick();
    super.copy(offset, src, flags);
  }

  override fill(offset: number, value: number, length: number, flags?: number): void {
    this.tick();
    super.fill(offset, value, length, flags);
  }

  /** Wall-clock time before which the CPU clock is not read (a case cannot use more CPU than wall time on its thread). */
  private quietUntil = 0;

  /** Reading the CPU clock is a system call: it is read only once the wall clock says the deadline may have passed. */
  private tick(): void {
    const now = performance.now();
    if (now < this.quietUntil) return;
    if (cpuMs() > this.deadline) throw new FuzzTimeout('the pool was still working on the image past the deadline');
    this.quietUntil = now + 20;
  }
}
