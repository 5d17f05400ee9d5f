import { describe, expect, it } from 'vitest';
import { CopyFlags } from '../../lib/device/types';
import { LINE_SIZE, SimulatedCrash, StrictMemoryDevice, memoryDeviceFromImage } from '../../lib/testing';

const SIZE = 64 * 1024;
const always = (): number => 0;
const never = (): number => 0.999;

/** Store through a directAccess view, as the pool's in-place writes do. */
function store(d: StrictMemoryDevice, offset: number, data: Uint8Array): void {
  d.directAccess(0, SIZE / 4096).view.set(data, offset);
}

const bytes = (n: number, v: number): Uint8Array => new Uint8Array(n).fill(v);

describe('StrictMemoryDevice', () => {
  it('a store that was never persisted can be lost, and can survive', () => {
    const d = new StrictMemoryDevice(SIZE);
    store(d, 100, bytes(10, 7));
    expect(d.crashImage(never).subarray(100, 110)).toEqual(bytes(10, 0));
    expect(d.crashImage(always).subarray(100, 110)).toEqual(bytes(10, 7));
  });

  it('a persisted store is never lost', () => {
    const d = new StrictMemoryDevice(SIZE);
    store(d, 100, bytes(10, 7));
    d.persist(100, 10);
    for (let i = 0; i < 20; i++) expect(d.crashImage().subarray(100, 110)).toEqual(bytes(10, 7));
    expect(d.crashImage(never).subarray(100, 110)).toEqual(bytes(10, 7));
    expect(d.unsettledLines()).toEqual([]);
  });

  it('a flush without a drain may be lost', () => {
    const d = new StrictMemoryDevice(SIZE);
    store(d, 4096, bytes(64, 3));
    d.flush(4096, 64);
    expect(d.unsettledLines()).toEqual([4096 / LINE_SIZE]);
    expect(d.crashImage(never).subarray(4096, 4160)).toEqual(bytes(64, 0));
    d.drain();
    expect(d.crashImage(never).subarray(4096, 4160)).toEqual(bytes(64, 3));
  });

  it('a drain makes durable what was flushed, not what was stored after the flush', () => {
    const d = new StrictMemoryDevice(SIZE);
    store(d, 0, bytes(64, 1));
    d.flush(0, 64);
    store(d, 0, bytes(64, 2));
    d.drain();
    expect(d.media.subarray(0, 64)).toEqual(bytes(64, 1));
    const seen = new Set<number>();
    for (let i = 0; i < 50; i++) seen.add(d.crashImage().at(0) ?? -1);
    expect([...seen].sort()).toEqual([1, 2]);
  });

  it('lines are atomic: an image never mixes two versions of one line', () => {
    const d = new StrictMemoryDevice(SIZE);
    store(d, 0, bytes(LINE_SIZE * 8, 9));
    for (let i = 0; i < 50; i++) {
      const img = d.crashImage();
      for (let line = 0; line < 8; line++) {
        const part = img.subarray(line * LINE_SIZE, (line + 1) * LINE_SIZE);
        expect(part.every((b) => b === part[0])).toBe(true);
      }
    }
  });

  it('copy and fill are durable on return; NOFLUSH leaves them visible only, NODRAIN flushed but unfenced', () => {
    const d = new StrictMemoryDevice(SIZE);
    d.copy(0, bytes(100, 4));
    d.fill(200, 5, 100);
    expect(d.crashImage(never).subarray(0, 100)).toEqual(bytes(100, 4));
    expect(d.crashImage(never).subarray(200, 300)).toEqual(bytes(100, 5));
    const drains = d.drains;
    d.copy(1000, bytes(10, 6), CopyFlags.NOFLUSH);
    d.fill(2000, 8, 10, CopyFlags.NODRAIN);
    expect(d.drains).toBe(drains);
    expect(d.bytes.subarray(1000, 1010)).toEqual(bytes(10, 6));
    expect(d.crashImage(never).subarray(1000, 1010)).toEqual(bytes(10, 0));
    expect(d.crashImage(never).subarray(2000, 2010)).toEqual(bytes(10, 0));
    d.drain();
    // The drain fences the NODRAIN fill; the NOFLUSH copy was never written back.
    expect(d.crashImage(never).subarray(2000, 2010)).toEqual(bytes(10, 8));
    expect(d.crashImage(never).subarray(1000, 1010)).toEqual(bytes(10, 0));
  });

  it('crashAt(n) interrupts the n-th drain before it applies and freezes the device', () => {
    const d = new StrictMemoryDevice(SIZE);
    d.copy(0, bytes(64, 1));
    d.crashAt(2);
    d.copy(64, bytes(64, 2));
    expect(() => d.copy(128, bytes(64, 3))).toThrow(SimulatedCrash);
    expect(d.crashed).toBe(true);
    expect(d.crashedAt).toBe(d.drains);
    expect(d.media.subarray(64, 128)).toEqual(bytes(64, 2));
    expect(d.media.subarray(128, 192)).toEqual(bytes(64, 0));
    // The interrupted copy's line may or may not have reached the media.
    expect(d.crashImage(always).subarray(128, 192)).toEqual(bytes(64, 3));
    expect(d.crashImage(never).subarray(128, 192)).toEqual(bytes(64, 0));
    // The power is gone: later stores change nothing a crash image can show.
    expect(() => d.persist(0, 64)).toThrow(SimulatedCrash);
    store(d, 256, bytes(64, 4));
    expect(d.crashImage(always).subarray(256, 320)).toEqual(bytes(64, 0));
  });

  it('onDrain sees each drain before it applies, without stopping the device', () => {
    const d = new StrictMemoryDevice(SIZE);
    const images: Uint8Array[] = [];
    d.onDrain = () => images.push(d.crashImage(never));
    d.copy(0, bytes(64, 1));
    d.copy(64, bytes(64, 2));
    expect(images.map((img) => [img[0], img[64]])).toEqual([[0, 0], [1, 0]]);
    expect(d.crashed).toBe(false);
  });

  it('crashImageInto fills a reused buffer as crashImage would; reset starts over from an image', () => {
    const d = new StrictMemoryDevice(SIZE);
    d.copy(0, bytes(64, 1));
    store(d, 64, bytes(64, 2));
    const buf = new Uint8Array(SIZE).fill(9);
    d.crashImageInto(buf, never);
    expect(buf).toEqual(d.crashImage(never));
    d.crashAt(1);
    expect(() => d.drain()).toThrow(SimulatedCrash);
    d.reset(buf);
    expect(d.crashed).toBe(false);
    expect(d.drains).toBe(0);
    expect(d.unsettledLines()).toEqual([]);
    expect(d.media.subarray(0, 128)).toEqual(buf.subarray(0, 128));
    d.persist(0, 64);
    expect(d.drains).toBe(1);
  });

  it('a device made from an image holds it as both CPU view and media', () => {
    const d = new StrictMemoryDevice(SIZE);
    store(d, 10, bytes(5, 2));
    const img = d.crashImage(always);
    expect(memoryDeviceFromImage(img).bytes.subarray(10, 15)).toEqual(bytes(5, 2));
    const s = StrictMemoryDevice.fromImage(img);
    expect(s.media.subarray(10, 15)).toEqual(bytes(5, 2));
    expect(s.unsettledLines()).toEqual([]);
  });

  describe('with { persistAsync: true }', () => {
    it('reports page granularity and offers persistAsync; a plain device does neither', () => {
      const plain = new StrictMemoryDevice(SIZE);
      expect(plain.info).toBeUndefined();
      expect(plain.persistAsync).toBeUndefined();
      const d = new StrictMemoryDevice(SIZE, { persistAsync: true });
      expect(d.info?.granularity).toBe('page');
      expect(typeof d.persistAsync).toBe('function');
      expect(StrictMemoryDevice.fromImage(new Uint8Array(SIZE), { persistAsync: true }).info?.granularity).toBe('page');
    });

    it('the stores become durable only when the promise resolves, after a macrotask', async () => {
      const d = new StrictMemoryDevice(SIZE, { persistAsync: true, random: () => 0.1 });
      store(d, 100, bytes(10, 7));
      store(d, 8192, bytes(64, 8));
      const drains = d.drains;
      let resolved = false;
      const p = d.persistAsync?.(new Float64Array([100, 10, 8192, 64])).then(() => {
        resolved = true;
      });
      await Promise.resolve();
      expect(resolved).toBe(false);
      expect(d.drains).toBe(drains);
      expect(d.crashImage(never).subarray(100, 110)).toEqual(bytes(10, 0));
      await p;
      expect(d.drains).toBe(drains + 1);
      expect(d.crashImage(never).subarray(100, 110)).toEqual(bytes(10, 7));
      expect(d.crashImage(never).subarray(8192, 8256)).toEqual(bytes(64, 8));
      expect(d.persistsInFlight).toBe(0);
    });

    it('waits a timer or an immediate as its random source says', async () => {
      for (const r of [0.2, 0.6, 0.9]) {
        const d = new StrictMemoryDevice(SIZE, { persistAsync: true, random: () => r });
        store(d, 0, bytes(64, 1));
        await d.persistAsync?.(Float64Array.of(0, 64));
        expect(d.media.subarray(0, 64)).toEqual(bytes(64, 1));
      }
    });

    it('a crash armed for its drain rejects it with SimulatedCrash, leaving the stores unfenced', async () => {
      const d = new StrictMemoryDevice(SIZE, { persistAsync: true });
      store(d, 0, bytes(64, 5));
      d.crashAt(1);
      await expect(d.persistAsync?.(Float64Array.of(0, 64))).rejects.toBeInstanceOf(SimulatedCrash);
      expect(d.crashed).toBe(true);
      expect(d.crashImage(never).subarray(0, 64)).toEqual(bytes(64, 0));
      expect(d.crashImage(always).subarray(0, 64)).toEqual(bytes(64, 5));
      // The power is already gone for a persist asked for after the crash.
      await expect(d.persistAsync?.(Float64Array.of(0, 64))).rejects.toBeInstanceOf(SimulatedCrash);
    });

    it('refuses ranges that are not pairs inside the device', async () => {
      const d = new StrictMemoryDevice(SIZE, { persistAsync: true });
      await expect(d.persistAsync?.(Float64Array.of(0))).rejects.toThrow(RangeError);
      await expect(d.persistAsync?.(Float64Array.of(SIZE - 10, 64))).rejects.toThrow(RangeError);
    });
  });
});
