import { defineConfig } from 'vitest/config';

// The integration suite against a real OpenStack (whatever the OS_* variables name).
export default defineConfig({
  test: {
    include: ['test/openstack/**/*.test.ts'],
    testTimeout: 15 * 60_000,
    hookTimeout: 5 * 60_000,
    fileParallelism: false,
  },
});
