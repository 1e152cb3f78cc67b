/** Futures, waitFor, tracked inputs, upstream failures, map fan-out and subflows, as recorded in Orion. */
import { SqlClient } from "@effect/sql"
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { OrionClient } from "../../src/client/orion-client.js"
import { flow, getRunContext, type State, task, TaskRunFailed, unmapped } from "../../src/index.js"
import { databases } from "../support/databases.js"
import { flowRunIdOf, sdkLayer, stateNames, taskRunsOf } from "../support/sdk.js"

describe.each(databases)("futures, mapping and subflows on $name", (db) => {
  layer(sdkLayer(db), { excludeTestServices: true })((it) => {
    it.effect("a future gives the task run's id, final state, result and current state", () =>
      Effect.gen(function*() {
        const t = task({ name: "future-task" }, async (n: number) => n * 10)
        const f = flow({ name: "futures" }, () =>
          Effect.gen(function*() {
            const future = yield* t.submit(4)
            const id = yield* future.taskRunId
            const final: State = yield* future.wait()
            const value = yield* future.result()
            const now = yield* future.state()
            return { id, final: final.name, value, now: now?.name }
          }))
        const out = yield* f()
        expect(out).toMatchObject({ final: "Completed", value: 40, now: "Completed" })
        const run = yield* Effect.flatMap(OrionClient, (c) => c.readTaskRun(out.id))
        expect(run.name).toBe("future-task-0")
      }))

    it.effect("a future of a failed run: wait() gives Failed, result() fails with TaskRunFailed naming the run", () =>
      Effect.gen(function*() {
        const bad = task({ name: "bad" }, () => Effect.fail(new Error("no good")))
        let error: unknown
        const f = flow({ name: "failed-future" }, () =>
          Effect.gen(function*() {
            const future = yield* bad.submit()
            const state = yield* future.wait()
            error = yield* Effect.flip(future.result())
            return { state: [state.type, state.message], id: yield* future.taskRunId }
          }))
        const { state, id } = yield* f()
        expect(state).toEqual(["FAILED", "Task run encountered an exception: no good"])
        expect(error).toBeInstanceOf(TaskRunFailed)
        expect(error).toMatchObject({ task: "bad", task_run_id: id, state: "Failed" })
      }))

    it.effect("waitFor: the run starts after its upstream ends, and records it under task_inputs.wait_for", () =>
      Effect.gen(function*() {
        const times: Record<string, number> = {}
        const first = task({ name: "first" }, async () => {
          await new Promise((r) => setTimeout(r, 40))
          times.firstEnd = performance.now()
        })
        const second = task({ name: "second" }, async () => {
          times.secondStart = performance.now()
        })
        const f = flow({ name: "wait-for" }, () =>
          Effect.gen(function*() {
            const a = yield* first.submit()
            yield* second.with({ waitFor: [a] })()
          }))
        const state = yield* f.run()
        expect(state.type).toBe("COMPLETED")
        expect(times.secondStart).toBeGreaterThanOrEqual(times.firstEnd!)
        const [a, b] = yield* taskRunsOf(flowRunIdOf(state))
        expect(a!.name).toBe("first-0")
        expect(b!.task_inputs).toEqual({ wait_for: [{ input_type: "task_run", id: a!.id }] })
        expect(a!.task_inputs).toEqual({})
      }))

    it.effect("tracked inputs: a future or a task's result passed as an argument records an edge to its task run", () =>
      Effect.gen(function*() {
        const extract = task({ name: "extract" }, (n: number) => Effect.succeed(Array.from({ length: n }, (_, i) => i)))
        const count = task({ name: "count" }, (rows: ReadonlyArray<number>, label: string) => Effect.succeed(`${label}:${rows.length}`))
        const f = flow({ name: "tracked" }, () =>
          Effect.gen(function*() {
            const future = yield* extract.submit(3)
            const viaFuture = yield* count(future, "future")
            const rows = yield* extract(2)
            const viaResult = yield* count(rows, "result")
            const plain = yield* count([1], "plain")
            return [viaFuture, viaResult, plain]
          }))
        const state = yield* f.run()
        expect(state.type).toBe("COMPLETED")
        const runs = yield* taskRunsOf(flowRunIdOf(state))
        const byName = Object.fromEntries(runs.map((r) => [r.name, r]))
        expect(byName["count-0"]!.task_inputs).toEqual({ "0": [{ input_type: "task_run", id: byName["extract-0"]!.id }] })
        expect(byName["count-1"]!.task_inputs).toEqual({ "0": [{ input_type: "task_run", id: byName["extract-1"]!.id }] })
        expect(byName["count-2"]!.task_inputs).toEqual({})
        expect(yield* f()).toEqual(["future:3", "result:2", "plain:1"])
      }))

    it.effect("an upstream run that failed: the downstream run is NotReady and its body never runs", () =>
      Effect.gen(function*() {
        let ran = false
        const up = task({ name: "up" }, async (): Promise<number> => {
          throw new Error("upstream broke")
        })
        const down = task({ name: "down" }, (n: number) => {
          ran = true
          return n
        })
        const f = flow({ name: "not-ready" }, () =>
          Effect.gen(function*() {
            yield* down.submit(yield* up.submit())
          }))
        const state = yield* f.run()
        expect(ran).toBe(false)
        // One failed, one not final (NotReady): spec §7.9 counts the failures.
        expect(state).toMatchObject({ type: "FAILED", message: "1/2 states failed." })
        const [u, d] = yield* taskRunsOf(flowRunIdOf(state))
        expect(d!.state).toMatchObject({ type: "PENDING", name: "NotReady", message: `Upstream task run '${u!.id}' did not reach a 'COMPLETED' state.` })
      }))

    it.effect("map over 1,000 elements: every result in order, 1,000 task runs with distinct dynamic keys", () =>
      Effect.gen(function*() {
        const scale = task({ name: "scale" }, (x: number, factor: number) => Effect.succeed(x * factor))
        const xs = Array.from({ length: 1000 }, (_, i) => i)
        let id = ""
        const values = yield* flow({ name: "fan-out" }, () =>
          Effect.gen(function*() {
            const ctx = yield* getRunContext
            if (ctx._tag === "FlowRun") id = ctx.flowRunId
            return yield* scale.map(xs, unmapped(3))
          }))()
        expect(values).toEqual(xs.map((x) => x * 3))
        const sql = yield* SqlClient.SqlClient
        const rows = yield* sql<{ dynamic_key: string; state_name: string }>`SELECT dynamic_key, state_name FROM task_run WHERE flow_run_id = ${id}`
        expect(rows).toHaveLength(1000)
        expect(new Set(rows.map((r) => r.dynamic_key)).size).toBe(1000)
        expect(rows.every((r) => r.state_name === "Completed")).toBe(true)
      }), 60_000)

    it.effect("map rejects mapped arguments of different lengths", () =>
      Effect.gen(function*() {
        const add = task({ name: "add2" }, (a: number, b: number) => a + b)
        const error = yield* Effect.flip(flow({ name: "bad-map" }, () => add.map([1, 2], [1]))())
        expect(error).toMatchObject({ _tag: "FlowRunFailed" })
        expect(error.message).toContain("different lengths (2, 1)")
      }))

    it.effect("a subflow is a child flow run whose parent_task_run_id is a placeholder task run of the parent", () =>
      Effect.gen(function*() {
        const leaf = task({ name: "leaf" }, (n: number) => n + 1)
        const child = flow({ name: "child" }, ({ n }: { n: number }) =>
          Effect.gen(function*() {
            return (yield* leaf(n)) * 2
          }))
        const parent = flow({ name: "parent", tags: ["family"] }, async () => {
          const a = await child({ n: 1 })
          const b = await child({ n: 2 })
          return a + b
        })
        const state = yield* parent.run()
        expect(state.type).toBe("COMPLETED")
        const parentId = flowRunIdOf(state)
        const client = yield* OrionClient
        const placeholders = yield* taskRunsOf(parentId)
        expect(placeholders.map((p) => [p.name, p.dynamic_key, p.state_name])).toEqual([["child-0", "0", "Completed"], ["child-1", "1", "Completed"]])
        const children = yield* client.readFlowRuns({ flow_runs: { parent_task_run_id: { any_: placeholders.map((p) => p.id) } }, limit: 10, offset: 0, sort: "ID_DESC" })
        expect(children).toHaveLength(2)
        for (const c of children) {
          expect(c.state?.type).toBe("COMPLETED")
          expect(c.tags).toContain("family")
          expect(placeholders.map((p) => p.id)).toContain(c.parent_task_run_id)
          expect((yield* taskRunsOf(c.id)).map((t) => t.name)).toEqual(["leaf-0"])
        }
        expect(yield* stateNames("task_run", placeholders[0]!.id)).toContain("Completed")
        expect(yield* parent()).toBe(4 + 6)
      }))

    it.effect("a failing subflow: its placeholder task run mirrors Failed with the child's message, the parent fails", () =>
      Effect.gen(function*() {
        const child = flow({ name: "child-fails" }, async () => {
          throw new Error("child broke")
        })
        const parent = flow({ name: "parent-of-failing" }, async () => {
          await child().catch(() => undefined)
        })
        const state = yield* parent.run()
        expect(state).toMatchObject({ type: "FAILED", message: "1/1 states failed." })
        const [placeholder] = yield* taskRunsOf(flowRunIdOf(state))
        expect(placeholder!.state).toMatchObject({ type: "FAILED", message: "Flow run encountered an exception: child broke" })
      }))
  })
})
