import { defineConfig } from "vitest/config";

// Integration tests run twice: against a server with one shard (the default) and with four
// (LATTICEKV_SHARDS, read by test/helpers/server.ts), so every command is checked both
// where parse and execute share one kernel and where the host splits and joins across shards.
export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Integration tests start real server processes; keep parallelism modest on 2 cores.
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: "unit", include: ["test/**/*.test.ts"], exclude: ["test/integration/**"] } },
      { extends: true, test: { name: "shards-1", include: ["test/integration/**/*.test.ts"], env: { LATTICEKV_SHARDS: "1" } } },
      { extends: true, test: { name: "shards-4", include: ["test/integration/**/*.test.ts"], env: { LATTICEKV_SHARDS: "4" } } },
    ],
  },
});
