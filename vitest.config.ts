import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Native addons (node-datachannel) and worker pools behave best in child processes.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    execArgv: ['--expose-gc'],
  },
});
