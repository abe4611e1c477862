import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    reporters: ['default', './test/summary-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          setupFiles: ['test/setup/fast-check.ts'],
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          setupFiles: ['test/setup/fast-check.ts'],
          sequence: { groupOrder: 1 },
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          sequence: { groupOrder: 2 },
          // Brings the real control plane up once (cached build) and shares it between files.
          globalSetup: ['test/e2e/global-setup.ts'],
          // Routes of three hops: the fake kubelet stops pods at a tenth of real time (30 s -> 3 s,
          // Kafka's 90 s -> 9 s), and a hop waits for every old pod to be gone.
          testTimeout: 420_000,
          hookTimeout: 300_000,
          // Two cores: files in parallel contend with the apiserver for CPU.
          maxWorkers: 2,
        },
      },
    ],
  },
});
