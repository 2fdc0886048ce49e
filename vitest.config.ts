import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Needs a real OpenStack: npm run test:openstack.
    exclude: ['test/openstack/**', 'node_modules/**'],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    // At least two test files at once, even on two cores (vitest's default there is one): most
    // of the suite's time is spent waiting on child processes, servers and PostgreSQL.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    minWorkers: 1,
    // A worker keeps its modules from one test file to the next instead of loading them afresh
    // for each: a fifth of the suite's CPU went to that (5.4 -> 4.3 CPU-minutes). Tests share
    // no state through modules (each makes its own store, server and world).
    isolate: false,
  },
});
