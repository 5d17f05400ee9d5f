// What the clients of the records service sent and what it acknowledged, and the checks of what a restarted
// service must still hold.
import { performance } from 'node:perf_hooks';

interface Put {
  readonly value: string;
  readonly sent: number;
  /** When the 200 arrived; null if none did. */
  acked: number | null;
  /** The latest the put can have taken effect: its 200, or the end of the process that served it. */
  bound: number;
}

export class Acknowledged {
  /** topic → every payload sent to it. */
  readonly attempted = new Map<string, Set<string>>();
  /** Appends answered 200. */
  readonly appends: { topic: string; offset: number; payload: string }[] = [];
  readonly puts = new Map<string, Put[]>();
  #open: Put[] = [];

  sendAppend(topic: string, payload: string): void {
    let set = this.attempted.get(topic);
    if (set === undefined) this.attempted.set(topic, (set = new Set()));
    set.add(payload);
  }

  ackAppend(topic: string, offset: number, payload: string): void {
    this.appends.push({ topic, offset, payload });
  }

  sendPut(key: string, value: string): Put {
    const put: Put = { value, sent: performance.now(), acked: null, bound: Infinity };
    const list = this.puts.get(key) ?? [];
    list.push(put);
    this.puts.set(key, list);
    this.#open.push(put);
    return put;
  }

  ackPut(put: Put): void {
    put.acked = performance.now();
    put.bound = put.acked;
  }

  /** The serving process has ended: the puts it never answered took effect before now or not at all. */
  processEnded(): void {
    const now = performance.now();
    for (const put of this.#open) if (put.acked === null) put.bound = now;
    this.#open = [];
  }

  /**
   * Problems with a key's final value: it must come from a put that no acknowledged put began after the
   * end of (so the last acknowledged one, one concurrent with it, or one sent later that may have landed),
   * and a key with an acknowledged put must have a value.
   */
  checkPut(key: string, value: string | null): string[] {
    const puts = this.puts.get(key) ?? [];
    const acked = puts.filter((p) => p.acked !== null);
    if (value === null) return acked.length > 0 ? [`${key}: missing after ${acked.length} acknowledged puts`] : [];
    const put = puts.find((p) => p.value === value);
    if (put === undefined) return [`${key}: holds ${value}, which was never put`];
    const later = acked.find((y) => y !== put && y.sent > put.bound);
    return later === undefined ? [] : [`${key}: holds ${value}, overwritten by the acknowledged ${later.value}`];
  }
}
