import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DaxDevice } from '../../lib/device/types';
import { PAGE_SIZE } from '../../lib/iomap/constants';
import { runModel } from './support/model';
import { seedFrom } from './support/prng';

type Opener = (file: string, size: number) => DaxDevice & { close(): void };

/** The native Device, when the addon is built; the DAX layer must behave the same on it. */
async function nativeOpener(): Promise<Opener | null> {
  try {
    const { Device } = await import('../../lib/device/device.js');
    return (file, size) => Device.open(file, { create: true, size });
  } catch {
    return null;
  }
}

const SEED = seedFrom('PMEMDAX_MODEL_SEED');

describe('conformance: the DAX layer over the native Device', () => {
  it(`runs the model-based sequence on a mapped file with zero divergences (seed ${SEED})`, async (ctx) => {
    const opener = await nativeOpener();
    if (opener === null) {
      ctx.skip('the native addon is not built');
      return;
    }
    const dir = process.platform === 'linux' ? '/dev/shm' : tmpdir();
    const file = path.join(dir, `pmemdax-dax-conformance-${process.pid}.img`);
    let device: (DaxDevice & { close(): void }) | undefined;
    try {
      const counts = await runModel(SEED, 3000, {
        files: 3,
        maxFileSize: 32 * PAGE_SIZE,
        device: () => {
          device = opener(file, 16 * 1024 * 1024);
          return device;
        },
      });
      expect(counts.get('write') ?? 0).toBeGreaterThan(0);
    } catch (e) {
      console.error(`conformance model failed; replay with PMEMDAX_MODEL_SEED=${SEED}`);
      throw e;
    } finally {
      device?.close();
      rmSync(file, { force: true });
    }
  }, 60_000);
});
