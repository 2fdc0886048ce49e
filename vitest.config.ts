import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

const WORKERS = Math.max(3, availableParallelism() - 1);

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Needs a real OpenStack: npm run test:openstack.
    exclude: ['test/openstack/**', 'node_modules/**'],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    // More test files at once than there are cores (three on two): much of the suite waits on
    // child processes, PostgreSQL and real-time leases rather than computing. As many workers are
    // kept from start to end: with isolate off, a worker stopped while others still run ends
    // with an unhandled "Terminating worker thread" from the pool.
    maxWorkers: WORKERS,
    minWorkers: WORKERS,
    // A worker keeps its modules from one test file to the next instead of loading them afresh
    // for each: a fifth of the suite's CPU went to that (5.4 -> 4.3 CPU-minutes). Tests share
    // no state through modules (each makes its own store, server and world).
    isolate: false,
  },
});
