/** The heap tuning of Orion's processes: which V8 flag is set, and when the process's own choice wins. */
import { ConfigProvider, Effect, Exit } from "effect"
import { describe, expect, it } from "vitest"
import { heapFlag } from "../../runtime/heap.js"
import { heapGrowingPercent } from "../../src/settings.js"

describe("heapFlag", () => {
  const cases: ReadonlyArray<[string, number, ReadonlyArray<string>, string | undefined, string | undefined]> = [
    ["default 50", 50, [], undefined, "--heap-growing-percent=50"],
    ["another value", 120, ["--enable-source-maps"], "--max-old-space-size=512", "--heap-growing-percent=120"],
    ["0 keeps V8's own policy", 0, [], undefined, undefined],
    ["node started with its own flag", 50, ["--heap-growing-percent=200"], undefined, undefined],
    ["its own flag, underscores", 50, ["--heap_growing_percent=10"], undefined, undefined],
    ["its own flag in NODE_OPTIONS", 50, [], "--enable-source-maps --heap-growing-percent=300", undefined]
  ]
  it.each(cases)("%s", (_name, percent, execArgv, nodeOptions, expected) => {
    expect(heapFlag(percent, execArgv, nodeOptions)).toBe(expected)
  })
})

describe("ORION_HEAP_GROWING_PERCENT", () => {
  const read = (env: Record<string, string>) =>
    Effect.runSyncExit(Effect.withConfigProvider(heapGrowingPercent, ConfigProvider.fromMap(new Map(Object.entries(env)))))
  it("defaults to 50 and accepts integers ≥ 0", () => {
    expect(read({})).toEqual(Exit.succeed(50))
    expect(read({ ORION_HEAP_GROWING_PERCENT: "0" })).toEqual(Exit.succeed(0))
    expect(read({ ORION_HEAP_GROWING_PERCENT: "200" })).toEqual(Exit.succeed(200))
  })
  it.each(["-1", "1.5", "lots"])("rejects %s with a message naming the setting", (value) => {
    const exit = read({ ORION_HEAP_GROWING_PERCENT: value })
    expect(Exit.isFailure(exit)).toBe(true)
    expect(String(Exit.isFailure(exit) ? exit.cause : "")).toMatch(/ORION_HEAP_GROWING_PERCENT/)
  })
})
