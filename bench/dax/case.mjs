// One benchmark contender in its own process: prints one JSON line {name, ns, bytes}.
// Usage: node bench/dax/case.mjs <case> <device: "memory" | path> <dist dir>
import { createRequire } from 'node:module';
import path from 'node:path';

const [, , name, deviceArg, distArg] = process.argv;
const require = createRequire(import.meta.url);
const dist = path.resolve(distArg);
const dax = require(path.join(dist, 'dax/index.js'));
// The memory device and MemFs need no addon; only a path as the device loads the native Device.
const testing = { ...require(path.join(dist, 'testing/memory-device.js')), ...require(path.join(dist, 'testing/memfs.js')) };

const FILE_BYTES = 64 * 1024 * 1024;
const DEVICE_BYTES = FILE_BYTES * 3 + 16 * 1024 * 1024;

/** The device factory: the in-memory device, or a native Device over a file or device path. */
function openDevice(arg) {
  if (arg === 'memory') return new testing.MemoryDevice(DEVICE_BYTES);
  const { Device } = require(path.join(dist, 'device/device.js'));
  return Device.open(arg, { create: true, size: DEVICE_BYTES });
}

/** Time `fn(i)` for about `ms` milliseconds after a warm-up; returns ns per call. */
async function measure(fn, ms = 500) {
  const run = async (limit) => {
    let n = 0;
    const t0 = process.hrtime.bigint();
    const end = t0 + BigInt(limit) * 1_000_000n;
    let now = t0;
    while (now < end) {
      for (let k = 0; k < 256; k++) await fn(n++);
      now = process.hrtime.bigint();
    }
    return Number(now - t0) / n;
  };
  await run(200);
  return run(ms);
}

/** The same synchronous loop without an await per call, for the sync contenders. */
function measureSync(fn, ms = 500) {
  const run = (limit) => {
    let n = 0;
    const t0 = process.hrtime.bigint();
    const end = t0 + BigInt(limit) * 1_000_000n;
    let now = t0;
    while (now < end) {
      for (let k = 0; k < 256; k++) fn(n++);
      now = process.hrtime.bigint();
    }
    return Number(now - t0) / n;
  };
  run(200);
  return run(ms);
}

const device = openDevice(deviceArg);
const fs = new testing.MemFs(device);
const file = fs.create('/bench');
// Allocate the whole file up front so that every measured write is a steady-state overwrite.
await fs.write(file, 0, new Uint8Array(FILE_BYTES).fill(1));
await fs.fsync(file);
const base = file.blockAt(0) * 4096;

const [kind, sizeName] = name.split(':');
const bytes = sizeName === '1m' ? 1024 * 1024 : 4096;
const slots = FILE_BYTES / bytes;
const buf = new Uint8Array(bytes).fill(7);
let ns;
switch (kind) {
  case 'copy':
    ns = measureSync((i) => device.copy(base + (i % slots) * bytes, buf));
    break;
  case 'write-sync':
    ns = measureSync((i) => dax.daxWriteSync(file, (i % slots) * bytes, buf, fs.ops));
    break;
  case 'write':
    ns = await measure((i) => dax.daxWrite(file, (i % slots) * bytes, buf, fs.ops));
    break;
  case 'copy-safe':
    ns = measureSync((i) => device.copySafe(base + (i % slots) * bytes, buf));
    break;
  case 'read':
    ns = measureSync((i) => dax.daxRead(file, (i % slots) * bytes, buf, fs.ops));
    break;
  case 'grab': {
    const m = file.mapping;
    ns = await measure(async (i) => {
      const e = await dax.grabMappingEntry(m, i & 4095, 0);
      dax.unlockEntry(m, e);
    });
    break;
  }
  default:
    throw new Error(`unknown case ${name}`);
}
process.stdout.write(`${JSON.stringify({ name, ns, bytes: kind === 'grab' ? 0 : bytes })}\n`);
device.close?.();
