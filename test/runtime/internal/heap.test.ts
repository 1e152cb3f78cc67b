/** The heap tuning of Orion's processes: which V8 flags are set, and when the process's own choice wins. */
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { ConfigProvider, Effect, Exit } from "effect"
import { describe, expect, it } from "vitest"
import { heapFlags } from "../../../runtime/internal/heap.js"
import { heapGrowingPercent } from "../../../src/settings.js"
import { cleanEnv } from "../../support/env.js"

describe("heapFlags", () => {
  const off = "--no-allocation-site-pretenuring"
  const cases: ReadonlyArray<[string, number, ReadonlyArray<string>, string | undefined, ReadonlyArray<string>]> = [
    ["default 50", 50, [], undefined, ["--heap-growing-percent=50", off]],
    ["another value", 120, ["--enable-source-maps"], "--max-old-space-size=512", ["--heap-growing-percent=120", off]],
    ["0 keeps V8's own growth policy", 0, [], undefined, [off]],
    ["node started with its own growth flag", 50, ["--heap-growing-percent=200"], undefined, [off]],
    ["its own growth flag, underscores", 50, ["--heap_growing_percent=10"], undefined, [off]],
    ["its own growth flag in NODE_OPTIONS", 50, [], "--enable-source-maps --heap-growing-percent=300", [off]],
    ["node started with pretenuring on", 50, ["--allocation-site-pretenuring"], undefined, ["--heap-growing-percent=50"]],
    ["pretenuring off in NODE_OPTIONS, underscores", 0, [], "--no_allocation_site_pretenuring", []]
  ]
  it.each(cases)("%s", (_name, percent, execArgv, nodeOptions, expected) => {
    expect(heapFlags(percent, execArgv, nodeOptions)).toEqual(expected)
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

describe("whose heap Orion tunes", () => {
  const fixture = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "fixtures", "heap-flags.ts")
  const flagsSet = (mode: "script" | "server", env: Record<string, string>) =>
    new Promise<Array<string>>((resolve, reject) => {
      const home = fs.mkdtempSync(path.join(os.tmpdir(), "orion-heap-"))
      execFile(process.execPath, ["--import", "tsx", fixture, mode], { env: cleanEnv({ ORION_HOME: home, ...env }) }, (error, stdout, stderr) => {
        fs.rmSync(home, { recursive: true, force: true })
        if (error !== null) reject(new Error(`${error.message}\n${stderr}`))
        else resolve(JSON.parse(stdout.trim().split("\n").at(-1)!) as Array<string>)
      })
    })
  const off = "--no-allocation-site-pretenuring"

  it("a user's script that runs a flow keeps its V8 flags", async () => {
    expect(await flagsSet("script", {})).toEqual([])
  })
  it("a user's script asking with ORION_TUNE_HEAP=true is tuned", async () => {
    expect(await flagsSet("script", { ORION_TUNE_HEAP: "true", ORION_HEAP_GROWING_PERCENT: "70" })).toEqual(["--heap-growing-percent=70", off])
  })
  it("a process Orion starts (orion start) is tuned, unless ORION_TUNE_HEAP=false", async () => {
    expect(await flagsSet("server", {})).toEqual(["--heap-growing-percent=50", off])
    expect(await flagsSet("server", { ORION_TUNE_HEAP: "false" })).toEqual([])
  })
})
