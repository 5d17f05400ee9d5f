import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Device } from '../../../lib/device/device';
import { withEnv } from '../../support/scratch';
import { MemFs } from '../../../lib/testing/memfs';
import type { MemInode } from '../../../lib/testing/memfs-inode';
import { memFsFile } from '../../../lib/testing/memfs-file';
import type { DaxFile } from '../../../lib/vm/file';

/**
 * Where region tests put their device. `PMEMDAX_REGION_DEVICE` names one to use as it is (device-dax
 * in the pmem guest: `/dev/dax0.0`), or a directory to create device files in (an ext4/xfs `-o dax`
 * mount); by default a fresh file in /dev/shm.
 */
export const REGION_DEVICE = process.env.PMEMDAX_REGION_DEVICE ?? '/dev/shm';

export interface RegionBed {
  readonly device: Device;
  readonly fs: MemFs;
  /** A new file of the reference filesystem, made mappable. */
  file(size?: number): Promise<{ inode: MemInode; file: DaxFile }>;
  close(): void;
}

/**
 * A device of `size` bytes (or the whole named device) under a fresh MemFs; `env` is in force while
 * the device is opened (e.g. PMEMDAX_FORCE_GRANULARITY).
 */
export function regionBed(size = 32 * 1024 * 1024, path: string = REGION_DEVICE, env: Record<string, string> = {}): RegionBed {
  let dir: string | null = null;
  let device: Device;
  if (existsSync(path) && !statSync(path).isDirectory()) {
    device = withEnv(env, () => Device.open(path));
  } else {
    const d = mkdtempSync(join(path, 'pmemdax-region-'));
    dir = d;
    device = withEnv(env, () => Device.open(join(d, 'dev'), { create: true, size }));
  }
  const fs = new MemFs(device);
  const files: DaxFile[] = [];
  return {
    device,
    fs,
    async file(bytes = 0) {
      const inode = fs.create();
      if (bytes > 0) await fs.truncate(inode, bytes);
      const file = memFsFile(fs, inode);
      files.push(file);
      return { inode, file };
    },
    close() {
      for (const f of files) f.close();
      device.close();
      if (dir !== null) rmSync(dir, { recursive: true, force: true });
    },
  };
}
