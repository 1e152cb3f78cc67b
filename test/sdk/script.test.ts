/** A plain script's view: `await f.run()` with no services provided uses the process-wide local runtime under ORION_HOME. */
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import { Effect } from "effect"
import { flow, Orion, task } from "../../src/index.js"
import { tempDir } from "../support/databases.js"

// Each test file runs in its own process: this home (and its SQLite database) is this file's alone.
const home = tempDir("orion-script-")
process.env.ORION_HOME = home

describe("flows run from plain async code", () => {
  afterAll(() => Orion.shutdown())

  it("await flow.run() and await flow(): the local database under ORION_HOME, large results under its storage", async () => {
    const double = task({ name: "double" }, (n: number) => Effect.succeed(n * 2))
    const plusOne = task({ name: "plus-one" }, async (n: number) => n + 1)
    const etl = flow({ name: "script-etl" }, async ({ n }: { n: number }) => plusOne(await double(n)))
    const state = await etl.run({ n: 4 })
    expect(state).toMatchObject({ type: "COMPLETED", name: "Completed" })
    expect(await etl({ n: 5 })).toBe(11)
    expect(fs.existsSync(path.join(home, "orion.db"))).toBe(true)
    expect(fs.existsSync(path.join(home, "storage"))).toBe(false) // small results stay in their states
    const wide = flow({ name: "script-wide" }, async () => "w".repeat(10_000))
    expect(await wide()).toBe("w".repeat(10_000))
    expect(fs.readdirSync(path.join(home, "storage")).length).toBeGreaterThan(0)
  })

  it("an AbortSignal cancels a flow run started from async code; run() resolves to the Cancelled state", async () => {
    let aborted = false
    const stuck = task({ name: "stuck" }, () => Effect.never.pipe(Effect.onInterrupt(() => Effect.sync(() => void (aborted = true)))))
    const f = flow({ name: "script-abort" }, () => stuck())
    const controller = new AbortController()
    setTimeout(() => controller.abort(), 50)
    const state = await f.run({ signal: controller.signal })
    expect(state.type).toBe("CANCELLED")
    expect(aborted).toBe(true)
  })

  it("a failed flow called directly rejects with FlowRunFailed", async () => {
    const f = flow({ name: "script-fails" }, async () => {
      throw new Error("bad input")
    })
    await expect(f()).rejects.toMatchObject({ _tag: "FlowRunFailed", state: "Failed" })
  })
})
