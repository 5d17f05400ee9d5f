/** A small seeded PRNG (mulberry32), so a failing run can be replayed from its seed. */
export class Prng {
  private s: number;

  constructor(seed: number) {
    this.s = seed >>> 0;
  }

  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let v = 0;
    for (let i = 0; i < n; i++) {
      if ((i & 3) === 0) v = (this.next() * 4294967296) >>> 0;
      // Never all zeros, so data is distinguishable from holes.
      out[i] = (v & 0xff) | 1;
      v >>>= 8;
    }
    return out;
  }
}

/** The seed for this run: from the environment variable `name` when set, else random. */
export function seedFrom(name: string): number {
  const env = process.env[name];
  if (env !== undefined && env !== '') return Number(env) >>> 0;
  return (Math.random() * 4294967296) >>> 0;
}
