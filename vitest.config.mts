import { defineConfig } from 'vitest/config';

// Native code and signal handlers do not belong in worker threads: every project runs in forked processes.
export default defineConfig({
  test: {
    pool: 'forks',
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts', 'test/dax/**/*.test.ts', 'test/pool/**/*.test.ts'], exclude: ['test/pool/**/*.native.test.ts'] } },
      { extends: true, test: { name: 'native', include: ['test/native/**/*.test.ts', 'test/pool/**/*.native.test.ts', 'test/examples/**/*.native.test.ts'], testTimeout: 30_000, globalSetup: ['test/support/build-dist.ts'] } },
      // The package as a user installs it (npm pack, then an offline install with compilers hidden).
      { extends: true, test: { name: 'package', include: ['test/package/**/*.test.ts'], testTimeout: 120_000, hookTimeout: 300_000 } },
      { extends: true, test: { name: 'pmem', include: ['test/pmem/**/*.test.ts'], testTimeout: 120_000 } },
    ],
  },
});
