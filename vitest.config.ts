import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    environment: "node",
    pool: "forks",
    poolOptions: { forks: { execArgv: ["--experimental-eventsource"] } },
    testTimeout: 30_000,
    hookTimeout: 60_000
  }
})
