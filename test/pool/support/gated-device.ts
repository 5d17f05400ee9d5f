import { StrictMemoryDevice } from '../../../lib/testing';

/**
 * A StrictMemoryDevice at page granularity whose persistAsync jobs wait until the test releases them
 * (then flush and drain): a test can stop a group commit at each of its phases. Promise writes store on
 * the thread (no store jobs), so the first job of a commit is its data's write-back.
 */
export class GatedDevice extends StrictMemoryDevice {
  /** The jobs waiting, oldest first. */
  readonly gates: (() => void)[] = [];

  constructor(size: number) {
    super(size, { persistAsync: true, storeJobs: false });
    Object.defineProperty(this, 'persistAsync', {
      value: (ranges: Float64Array): Promise<void> => {
        const taken = Array.from(ranges);
        return new Promise<void>((resolve) => {
          this.gates.push(() => {
            for (let i = 0; i < taken.length; i += 2) this.flush(taken[i] as number, taken[i + 1] as number);
            this.drain();
            resolve();
          });
        });
      },
    });
  }
  /** Release every job, also those started meanwhile, for a few turns of the event loop. */
  async releaseAll(): Promise<void> {
    for (let k = 0; k < 50; k++) {
      for (const g of this.gates.splice(0)) g();
      await new Promise((r) => setImmediate(r));
    }
  }
  /** Release the oldest job (waiting a little for one to start), then let its continuations run. */
  async releaseOne(): Promise<void> {
    for (let k = 0; k < 5 && this.gates.length === 0; k++) await new Promise((r) => setImmediate(r));
    this.gates.shift()?.();
    for (let k = 0; k < 3; k++) await new Promise((r) => setImmediate(r));
  }
}
