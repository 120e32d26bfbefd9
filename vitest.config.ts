import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/setup/tmp-root.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          // Real servers, started once for both folders: test/integration (features) and
          // test/reliability (faults, fuzzing, secrets, concurrency; heavier under DBFERRY_STRESS=1).
          include: ['test/integration/**/*.test.ts', 'test/reliability/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/setup/tmp-root.ts', 'test/setup/global-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
