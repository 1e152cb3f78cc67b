/** flow() and task() written as Effects, as async functions and mixed; parameter validation; tasks outside flows. */
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { OrionClient } from "../../src/client/orion-client.js"
import { flow, NotInFlow, ParameterValidationError, task } from "../../src/index.js"
import { databases } from "../support/databases.js"
import { flowRunIdOf, sdkLayer, stateNames, taskRunsOf } from "../support/sdk.js"

const settle = <A>(promise: PromiseLike<A>) => Effect.promise(() => Promise.resolve(promise).then((value) => ({ value }), (error: unknown) => ({ error })))

describe.each(databases)("flow and task styles on $name", (db) => {
  layer(sdkLayer(db), { excludeTestServices: true })((it) => {
    it.effect("Effect-style flow and tasks: the result, one task run per call, each Pending → Running → Completed", () =>
      Effect.gen(function*() {
        const double = task({ name: "double" }, (n: number) => Effect.succeed(n * 2))
        const add = task({ name: "add" }, (a: number, b: number) => Effect.succeed(a + b))
        const f = flow({ name: "effect-style" }, ({ n }: { n: number }) =>
          Effect.gen(function*() {
            const a = yield* double(n)
            const b = yield* double(a)
            return yield* add(a, b)
          }))
        const state = yield* f.run({ n: 3 })
        expect(state).toMatchObject({ type: "COMPLETED", name: "Completed" })
        const id = flowRunIdOf(state)
        expect(yield* stateNames("flow_run", id)).toEqual(["Pending", "Running", "Completed"])
        const runs = yield* taskRunsOf(id)
        expect(runs.map((r) => r.name)).toEqual(["double-0", "double-1", "add-0"])
        for (const r of runs) expect(yield* stateNames("task_run", r.id)).toEqual(["Pending", "Running", "Completed"])
        expect(yield* f({ n: 3 })).toBe(18)
        const stored = yield* Effect.flatMap(OrionClient, (c) => c.readFlowRun(id))
        expect(stored.parameters).toEqual({ n: 3 })
      }))

    it.effect("async-style flow and tasks: awaited calls and Promise.all", () =>
      Effect.gen(function*() {
        const inc = task({ name: "inc" }, async (n: number) => n + 1)
        const f = flow({ name: "async-style" }, async ({ n }: { n: number }) => {
          const a = await inc(n)
          const [b, c] = await Promise.all([inc(a), inc(a + 10)])
          return b + c
        })
        const state = yield* f.run({ n: 1 })
        expect(state.type).toBe("COMPLETED")
        const runs = yield* taskRunsOf(flowRunIdOf(state))
        expect(runs.map((r) => r.state_name)).toEqual(["Completed", "Completed", "Completed"])
        expect(runs.map((r) => r.dynamic_key).sort()).toEqual(["0", "1", "2"])
        expect(yield* f({ n: 1 })).toBe(3 + 13)
      }))

    it.effect("mixed: an async flow awaits Effect tasks, an Effect flow yields async tasks and plain functions", () =>
      Effect.gen(function*() {
        const effectTask = task({ name: "effect-task" }, (s: string) => Effect.succeed(s.toUpperCase()))
        const asyncTask = task({ name: "async-task" }, async (s: string) => `${s}!`)
        const plainTask = task({ name: "plain-task" }, (s: string) => s.length)
        const asyncFlow = flow({ name: "async-calls-effect" }, async () => asyncTask(await effectTask("a")))
        const effectFlow = flow({ name: "effect-calls-async" }, () =>
          Effect.gen(function*() {
            const shout = yield* asyncTask(yield* effectTask("b"))
            return [shout, yield* plainTask(shout)] as const
          }))
        expect(yield* asyncFlow()).toBe("A!")
        expect(yield* effectFlow()).toEqual(["B!", 2])
      }))

    it.effect("parameters are decoded by the flow's Schema and stored in their encoded form", () =>
      Effect.gen(function*() {
        const f = flow({ name: "typed-params", parameters: Schema.Struct({ n: Schema.NumberFromString, when: Schema.optional(Schema.String) }) },
          ({ n }) => Effect.succeed(n + 1))
        expect(yield* f({ n: "41" })).toBe(42)
        const state = yield* f.run({ n: "1" })
        const run = yield* Effect.flatMap(OrionClient, (c) => c.readFlowRun(flowRunIdOf(state)))
        expect(run.parameters).toEqual({ n: "1" })
      }))

    it.effect("invalid parameters: a ParameterValidationError naming the field, a flow run Failed that never ran", () =>
      Effect.gen(function*() {
        let ran = false
        const f = flow({ name: "strict-params", parameters: Schema.Struct({ count: Schema.Number }) }, ({ count }) =>
          Effect.sync(() => {
            ran = true
            return count
          }))
        const error = yield* Effect.flip(f.run({ count: "three" } as never))
        expect(error).toBeInstanceOf(ParameterValidationError)
        const invalid = error as ParameterValidationError
        expect(invalid.message).toContain("count")
        expect(invalid.flow).toBe("strict-params")
        expect(invalid.flow_run_id).not.toBeNull()
        expect(ran).toBe(false)
        expect(yield* stateNames("flow_run", invalid.flow_run_id!)).toEqual(["Pending", "Failed"])
        const run = yield* Effect.flatMap(OrionClient, (c) => c.readFlowRun(invalid.flow_run_id!))
        expect(run.state?.message).toContain("count")
        const unknownField = yield* Effect.flip(f({ count: 1, extra: true } as never))
        expect(unknownField).toBeInstanceOf(ParameterValidationError)
        expect((unknownField as ParameterValidationError).message).toContain("extra")
      }))

    it.effect("a task called outside a flow is NotInFlow, in both styles", () =>
      Effect.gen(function*() {
        const t = task({ name: "lonely" }, (n: number) => n)
        const viaEffect = yield* Effect.flip(t(1))
        expect(viaEffect).toBeInstanceOf(NotInFlow)
        expect(viaEffect.message).toContain("'lonely' was called outside a flow")
        const viaAwait = yield* settle(t(1))
        expect("error" in viaAwait && viaAwait.error).toBeInstanceOf(NotInFlow)
        expect(yield* Effect.flip(t.submit(1))).toBeInstanceOf(NotInFlow)
        expect(yield* Effect.flip(t.map([1, 2]))).toBeInstanceOf(NotInFlow)
      }))

    it.effect("a task called inside a task is NotInFlow: the outer task fails saying so, in both styles", () =>
      Effect.gen(function*() {
        const inner = task({ name: "inner" }, (n: number) => n)
        const outerEffect = task({ name: "outer-effect" }, (n: number) => inner(n))
        const outerAsync = task({ name: "outer-async" }, async (n: number) => await inner(n))
        const f = flow({ name: "nested-tasks" }, () =>
          Effect.gen(function*() {
            yield* outerEffect.submit(1)
            yield* outerAsync.submit(2)
          }))
        const state = yield* f.run()
        expect(state).toMatchObject({ type: "FAILED", message: "2/2 states failed." })
        const runs = yield* taskRunsOf(flowRunIdOf(state))
        expect(runs.map((r) => r.name).sort()).toEqual(["outer-async-0", "outer-effect-0"])
        for (const r of runs) {
          expect(r.state?.type).toBe("FAILED")
          expect(r.state?.message).toContain("'inner' was called inside task 'outer-")
        }
      }))

    it.effect("a flow called inside a task is NotInFlow too: subflows are called from flow bodies", () =>
      Effect.gen(function*() {
        const sub = flow({ name: "sub-in-task" }, () => Effect.succeed(1))
        const t = task({ name: "calls-flow" }, () => sub())
        const state = yield* flow({ name: "flow-in-task" }, () => t.submit()).run()
        const [run] = yield* taskRunsOf(flowRunIdOf(state))
        expect(run!.state?.message).toBe(
          "Task run encountered an exception: NotInFlow: Flow 'sub-in-task' was called inside task 'calls-flow'. Call subflows from the flow body.")
      }))
  })
})
