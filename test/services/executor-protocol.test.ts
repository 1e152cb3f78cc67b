/** The IPC messages between an agent and its executors decode from what the other side sends, and nothing else does. */
import { describe, expect, it } from "vitest"
import { fromExecutor, toExecutor } from "../../services/executor-protocol.js"

describe("executor protocol", () => {
  it("decodes each message as sent (JSON over IPC)", () => {
    const wire = (m: unknown) => JSON.parse(JSON.stringify(m)) as unknown
    expect(toExecutor(wire({ _tag: "Run", id: "r1" }))).toEqual({ _tag: "Run", id: "r1" })
    expect(toExecutor(wire({ _tag: "Retire" }))).toEqual({ _tag: "Retire" })
    expect(toExecutor(wire({ _tag: "Preload", paths: ["/a.ts"] }))).toEqual({ _tag: "Preload", paths: ["/a.ts"] })
    expect(fromExecutor(wire({ _tag: "Stale", id: "r1", reason: "changed" }))).toEqual({ _tag: "Stale", id: "r1", reason: "changed" })
    expect(fromExecutor(wire({ _tag: "Ended", id: "r1", state: "COMPLETED", reusable: true, rss: 1 }))).toEqual({ _tag: "Ended", id: "r1", state: "COMPLETED", reusable: true, rss: 1 })
    expect(fromExecutor(wire({ _tag: "Ended", id: "r1", state: null, reusable: false, rss: 1 }))).toMatchObject({ state: null })
  })

  it("refuses anything else: unknown tags, missing fields, the other direction's messages", () => {
    expect(toExecutor({ run: "r1" })).toBeUndefined()
    expect(toExecutor({ _tag: "Run" })).toBeUndefined()
    expect(toExecutor({ _tag: "Ended", id: "r1", state: null, reusable: true, rss: 1 })).toBeUndefined()
    expect(fromExecutor({ _tag: "Run", id: "r1" })).toBeUndefined()
    expect(fromExecutor({ _tag: "Ended", id: "r1", reusable: "yes", state: null, rss: 1 })).toBeUndefined()
    expect(fromExecutor(null)).toBeUndefined()
  })
})
