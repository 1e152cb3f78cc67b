/** Results and final states: stored result files, unserializable results, and a flow's state from its return value (spec §7.9). */
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { OrionClient } from "../../src/client/orion-client.js"
import { flow, task } from "../../src/index.js"
import { ResultStore } from "../../runtime/results.js"
import { databases, tempDir } from "../support/databases.js"
import { flowRunIdOf, sdkLayer, taskRunsOf } from "../support/sdk.js"

describe.each(databases)("results and final states on $name", (db) => {
  const resultsDir = path.join(tempDir(), "results")
  layer(sdkLayer(db, { resultsDir }), { excludeTestServices: true })((it) => {
    it.effect("a small result is kept in its Completed state; a large one is a file under the results directory", () =>
      Effect.gen(function*() {
        const small = task({ name: "produce-small" }, () => Effect.succeed({ rows: [1, 2, 3], label: "ok" }))
        const smallState = yield* flow({ name: "inline-results" }, () => small.submit()).run()
        const [smallRun] = yield* taskRunsOf(flowRunIdOf(smallState))
        expect(smallRun!.state!.data).toEqual({ encoding: "json", blob: JSON.stringify({ rows: [1, 2, 3], label: "ok" }) })
        expect(yield* Effect.flatMap(ResultStore, (store) => store.retrieve(smallRun!.state!.data!))).toEqual({ rows: [1, 2, 3], label: "ok" })

        const rows = Array.from({ length: 2000 }, (_, i) => i)
        const t = task({ name: "produce" }, () => Effect.succeed({ rows, label: "ok" }))
        const state = yield* flow({ name: "stored-results" }, () => t.submit()).run()
        const [run] = yield* taskRunsOf(flowRunIdOf(state))
        const data = run!.state!.data!
        expect(data.encoding).toBe("file")
        expect(path.dirname(data.blob)).toBe(resultsDir)
        expect(JSON.parse(fs.readFileSync(data.blob, "utf8"))).toEqual({ encoding: "json", blob: JSON.stringify({ rows, label: "ok" }) })
        expect(yield* Effect.flatMap(ResultStore, (store) => store.retrieve(data))).toEqual({ rows, label: "ok" })
        // The flow returned a future: its state is the future's, its result the task's result.
        expect(state).toMatchObject({ type: "COMPLETED", message: "All states completed." })
      }))

    it.effect("a flow's own result is stored too, and a task returning nothing stores nothing", () =>
      Effect.gen(function*() {
        const nothing = task({ name: "nothing" }, async () => {})
        const state = yield* flow({ name: "flow-result" }, async () => {
          await nothing()
          return [1, "two", { three: 3 }]
        }).run()
        expect(state.type).toBe("COMPLETED")
        expect(yield* Effect.flatMap(ResultStore, (store) => store.retrieve(state.data))).toEqual([1, "two", { three: 3 }])
        const [run] = yield* taskRunsOf(flowRunIdOf(state))
        expect(run!.state).toMatchObject({ type: "COMPLETED", data: null })
      }))

    it.effect("persistResult: false stores no result (the caller still gets the value); with a cache key it is refused at definition", () =>
      Effect.gen(function*() {
        const big = "b".repeat(10_000)
        const unstored = task({ name: "unstored", persistResult: false }, async (n: number) => `${big}${n}`)
        const f = flow({ name: "unstored-flow", persistResult: false }, async () => (await unstored(1)).length)
        const state = yield* f.run()
        expect(state).toMatchObject({ type: "COMPLETED", data: null })
        expect(yield* Effect.promise(() => f())).toBe(10_001)
        const [run] = yield* taskRunsOf(flowRunIdOf(state))
        expect(run!.state).toMatchObject({ type: "COMPLETED", data: null })
        expect(fs.existsSync(resultsDir) ? fs.readdirSync(resultsDir).filter((n) => fs.readFileSync(path.join(resultsDir, n), "utf8").includes(big)) : []).toEqual([])
        expect(() => task({ name: "cached-unstored", persistResult: false, cacheKey: () => "k" }, async () => 1))
          .toThrow("task 'cached-unstored': a cached run hands back its stored result, so `cacheKey` needs the result stored")
      }))

    it.effect("a result the serializer cannot store fails the task run with a message saying what and where", () =>
      Effect.gen(function*() {
        const circular: Record<string, unknown> = { name: "loop" }
        circular.self = circular
        const fn = task({ name: "returns-function" }, () => ({ callback: () => 1 }))
        const big = task({ name: "returns-bigint" }, () => ({ total: 10n }))
        const loop = task({ name: "returns-circular" }, () => circular)
        const bigAsV8 = task({ name: "bigint-v8", serializer: "v8" }, () => ({ total: 10n }))
        const f = flow({ name: "unserializable" }, () =>
          Effect.gen(function*() {
            yield* fn.submit()
            yield* big.submit()
            yield* loop.submit()
            return String((yield* bigAsV8()).total)
          }))
        const state = yield* f.run()
        expect(state.type).toBe("COMPLETED")
        const byName = Object.fromEntries((yield* taskRunsOf(flowRunIdOf(state))).map((r) => [r.name, r.state!]))
        expect(byName["returns-function-0"]).toMatchObject({ type: "FAILED" })
        expect(byName["returns-function-0"]!.message).toMatch(/^The result of task 'returns-function' cannot be stored: \$\.callback is a function/)
        expect(byName["returns-bigint-0"]!.message).toMatch(/^The result of task 'returns-bigint' cannot be stored: \$\.total is a bigint.*"v8"/)
        expect(byName["returns-circular-0"]!.message).toMatch(/^The result of task 'returns-circular' cannot be stored: .*circular/i)
        expect(byName["bigint-v8-0"]).toMatchObject({ type: "COMPLETED" })
        expect(yield* Effect.flatMap(ResultStore, (store) => store.retrieve(byName["bigint-v8-0"]!.data))).toEqual({ total: 10n })
      }))

    it.effect("returning nothing: Failed with 'k/n states failed.' when task runs failed, the failing task's message kept", () =>
      Effect.gen(function*() {
        const ok = task({ name: "fine" }, (n: number) => n)
        const boom = task({ name: "explodes" }, async () => {
          throw new TypeError("wires crossed")
        })
        const f = flow({ name: "one-of-three-fails" }, () =>
          Effect.gen(function*() {
            yield* ok.submit(1)
            yield* boom.submit()
            yield* ok.submit(2)
          }))
        const state = yield* f.run()
        expect(state).toMatchObject({ type: "FAILED", name: "Failed", message: "1/3 states failed." })
        const failed = (yield* taskRunsOf(flowRunIdOf(state))).filter((r) => r.state_type === "FAILED")
        expect(failed.map((r) => r.state?.message)).toEqual(["Task run encountered an exception: TypeError: wires crossed"])
        const client = yield* OrionClient
        expect((yield* client.readFlowRun(flowRunIdOf(state))).state?.message).toBe("1/3 states failed.")
      }))

    it.effect("a flow that catches a task's failure and returns a value is Completed with that value", () =>
      Effect.gen(function*() {
        const boom = task({ name: "boom-caught" }, () => Effect.fail(new Error("nope")))
        const effectFlow = flow({ name: "recovers-effect" }, () =>
          boom().pipe(Effect.catchTag("TaskRunFailed", (e) => Effect.succeed(`recovered from ${e.state}`))))
        const asyncFlow = flow({ name: "recovers-async" }, async () => {
          try {
            await boom()
            return "unreachable"
          } catch (e) {
            return `caught ${(e as { _tag: string })._tag}`
          }
        })
        expect(yield* effectFlow()).toBe("recovered from Failed")
        expect(yield* asyncFlow()).toBe("caught TaskRunFailed")
        const state = yield* effectFlow.run()
        expect(state.type).toBe("COMPLETED")
        expect((yield* taskRunsOf(flowRunIdOf(state)))[0]!.state_type).toBe("FAILED")
      }))

    it.effect("a flow whose body throws is Failed with the error's message", () =>
      Effect.gen(function*() {
        const state = yield* flow({ name: "throws" }, async () => {
          throw new RangeError("out of range")
        }).run()
        expect(state).toMatchObject({ type: "FAILED", message: "Flow run encountered an exception: RangeError: out of range" })
        const error = yield* Effect.flip(flow({ name: "throws-direct" }, () => Effect.fail("plain string"))())
        expect(error).toMatchObject({ _tag: "FlowRunFailed", state: "Failed" })
        expect(error.message).toContain("plain string")
      }))
  })
})

describe("results under a folder that cannot be made", () => {
  const sqlite = databases.find((d) => d.name === "sqlite")!
  // Node's recursive mkdir never returns for such a path: the run used to hang, Running for good.
  layer(sdkLayer(sqlite, { resultsDir: "/proc/nonexistent/x" }), { excludeTestServices: true })((it) => {
    it.effect("a result too large to keep inline fails its task run and the flow run, with one message naming the folder", () =>
      Effect.gen(function*() {
        const big = task({ name: "big" }, async () => "x".repeat(10_000))
        const small = task({ name: "small" }, async () => 42)
        const state = yield* flow({ name: "unwritable-results" }, async () => (await small()) + (await big()).length).run()
        expect(state.type).toBe("FAILED")
        expect(state.message).toContain("The result of task 'big' could not be stored: cannot write a result under /proc/nonexistent/x")
        const runs = yield* taskRunsOf(flowRunIdOf(state))
        expect(runs.map((r) => [r.name.replace(/-\d+$/, ""), r.state!.type]).sort()).toEqual([["big", "FAILED"], ["small", "COMPLETED"]])
      }).pipe(Effect.timeout("20 seconds")))
  })
})
