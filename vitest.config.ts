import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Needs a real OpenStack: npm run test:openstack.
    exclude: ['test/openstack/**', 'node_modules/**'],
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
