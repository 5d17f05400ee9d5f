import { defineConfig } from 'vitest/config';

// Native code and signal handlers do not belong in worker threads: every project runs in forked processes.
// Tests live by layer (test/<layer>); the suffix picks the environment: .native (the addon on the host),
// .pmem (inside the QEMU guest), none (pure TypeScript).
export default defineConfig({
  test: {
    pool: 'forks',
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: ['test/**/*.native.test.ts', 'test/**/*.pmem.test.ts', 'test/package/**'] } },
      { extends: true, test: { name: 'native', include: ['test/**/*.native.test.ts'], testTimeout: 30_000, globalSetup: ['test/support/build-dist.ts'] } },
      // The package as a user installs it (npm pack, then an offline install with compilers hidden).
      { extends: true, test: { name: 'package', include: ['test/package/**/*.test.ts'], testTimeout: 120_000, hookTimeout: 300_000 } },
      { extends: true, test: { name: 'pmem', include: ['test/**/*.pmem.test.ts'], testTimeout: 120_000 } },
    ],
  },
});
