import { defineConfig } from "vitest/config";

// Two projects: pure unit tests, and tests against the real testbed (cluster,
// Prometheus, meshsim), which a global setup brings up once per run.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
        },
      },
      {
        test: {
          name: "testbed",
          include: ["test/integration/**/*.test.ts", "test/e2e/**/*.test.ts"],
          globalSetup: ["test/setup/testbed.ts"],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          // Two cores: test files share the cluster, each in its own namespace.
          maxWorkers: 2,
        },
      },
    ],
  },
});
