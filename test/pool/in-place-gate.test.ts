import { expect, it } from 'vitest';
import type { Allocator } from '../../lib/pool/alloc';
import type { Claims } from '../../lib/pool/claims';
import { InPlaceGate, type InPlaceStores } from '../../lib/pool/in-place-gate';

// The gate's state machine against a stand-in for the device's watch (the test plays it on the slots), as the
// native watch sees it: STATE 0 free, 1 held, 2 revoked, 3 releasing; WRITING; GATHERED.
const STATE = 0;
const WRITING = 1;
const GATHERED = 2;

/** Claims as the gate uses them: `claimed` says whether a reader holds one, `watched` whether a watch runs. */
function fakeClaims(claimed: () => boolean, watched: boolean): { claims: Claims; locked: () => boolean } {
  let locked = false;
  const claims = {
    inPlace(on: boolean): boolean {
      locked = on;
      return true;
    },
    anyBefore: claimed,
    watchInPlace: (): boolean => watched,
    unwatchInPlace: (): void => undefined,
  } as unknown as Claims;
  return { claims, locked: () => locked };
}

function gateWithWatch(): { gate: InPlaceGate; slots: Int32Array; locked: () => boolean } {
  const { claims, locked } = fakeClaims(() => false, true);
  const stores: InPlaceStores = { storeNow: () => undefined, gathered: null };
  const gate = new InPlaceGate(claims, {} as Allocator, stores);
  return { gate, slots: stores.gathered as Int32Array, locked };
}

it('a job that lands while a decision in place is open does not let the lock go: the decision and its store keep it', () => {
  const { gate, slots, locked } = gateWithWatch();
  try {
    expect(gate.copying()).toBe(false);
    const gen = gate.handed();
    expect(slots[GATHERED]).toBe(1);
    gate.wrote();
    // A path that decides in place and tells no one it is done (a zero range): WRITING stays until the run ends.
    expect(gate.copying()).toBe(false);
    expect(slots[WRITING]).toBe(1);
    // The watch sees a claim; the job lands before the run ends.
    Atomics.compareExchange(slots, STATE, 1, 2);
    gate.landed(gen);
    expect(slots[STATE]).toBe(2);
    expect(locked()).toBe(true);
    // The decision made before the claim still stands (the lock cannot go under it); it is done, then the lock goes.
    expect(gate.copying()).toBe(false);
    gate.wrote();
    expect(gate.copying()).toBe(true);
  } finally {
    gate.close();
  }
  expect(locked()).toBe(false);
  expect(slots[STATE]).toBe(0);
});

it('once the watch let the lock go, decisions copy until the gate takes the lock again, and none is in place with it free', () => {
  const { gate, slots, locked } = gateWithWatch();
  try {
    expect(gate.copying()).toBe(false);
    gate.wrote();
    // The watch: revoked, stores made, released.
    Atomics.store(slots, STATE, 2);
    Atomics.store(slots, STATE, 3);
    Atomics.store(slots, STATE, 0);
    // Within ASK_MS of a refusal the gate copies; a decision in place only ever comes with the lock held.
    for (let i = 0; i < 1000; i++) {
      const inPlace = !gate.copying();
      if (inPlace) expect(slots[STATE] === 1 && locked()).toBe(true);
      gate.wrote();
    }
  } finally {
    gate.close();
  }
});

it('a run that copied copies to its end, though the reader left and the lock could be taken: no write is part copied, part in place', async () => {
  let claimed = true;
  const { claims, locked } = fakeClaims(() => claimed, false);
  const gate = new InPlaceGate(claims, {} as Allocator, null);
  try {
    // A write's first blocks: a reader holds a claim, the gate tries the lock, sees the claim and copies.
    expect(gate.copying()).toBe(true);
    expect(locked()).toBe(false);
    // The reader closes, and longer than the gate waits between tries (2 ms) passes within the same write.
    claimed = false;
    for (const until = performance.now() + 5; performance.now() < until; );
    expect(gate.copying()).toBe(true);
    expect(locked()).toBe(false);
    // The next run (the next write) takes the lock and writes in place.
    await Promise.resolve();
    expect(gate.copying()).toBe(false);
    expect(locked()).toBe(true);
  } finally {
    gate.close();
  }
  expect(locked()).toBe(false);
});
