/** Task and flow retries through the orchestrator: the states they pass through, and the delays between attempts. */
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { OrionClient } from "../../src/client/orion-client.js"
import type { State } from "../../src/domain/index.js"
import { flow, task } from "../../src/index.js"
import { databases } from "../support/databases.js"
import { flowRunIdOf, sdkLayer, stateNames, taskRunsOf } from "../support/sdk.js"

/** A body that fails its first `failures` calls, then returns the number of calls so far. */
const flaky = (failures: number) => {
  let calls = 0
  return {
    calls: () => calls,
    body: async () => {
      calls++
      if (calls <= failures) throw new Error(`attempt ${calls} failed`)
      return calls
    }
  }
}

const states = (kind: "flow_run" | "task_run", id: string) => Effect.flatMap(OrionClient, (c) => c.readStates({ kind, id: id as never }))

/** For each AwaitingRetry state: the delay it asked for (ms) and whether the next run started no earlier. */
const retryDelays = (history: ReadonlyArray<State>) =>
  history.flatMap((s, i) => {
    if (s.name !== "AwaitingRetry") return []
    const at = s.state_details.scheduled_time!.getTime()
    const next = history[i + 1]
    // A state is stamped a millisecond after its predecessor when both fall in the same millisecond, while its
    // scheduled time counts from the orchestrator's clock: delays are compared to the nearest 10 ms.
    return [{ delayMs: Math.round((at - s.timestamp.getTime()) / 10) * 10, startedOnTime: next !== undefined && next.timestamp.getTime() >= at }]
  })

describe.each(databases)("retries on $name", (db) => {
  layer(sdkLayer(db), { excludeTestServices: true })((it) => {
    it.effect("a task that fails twice and then succeeds: AwaitingRetry and Retrying twice, then Completed with its value", () =>
      Effect.gen(function*() {
        const body = flaky(2)
        const t = task({ name: "flaky-task", retries: 2, retryDelay: 0.05 }, body.body)
        const f = flow({ name: "retrying-task" }, () => t())
        const state = yield* f.run()
        expect(state.type).toBe("COMPLETED")
        expect(body.calls()).toBe(3)
        const [run] = yield* taskRunsOf(flowRunIdOf(state))
        const history = yield* states("task_run", run!.id)
        expect(history.map((s) => s.name)).toEqual(["Pending", "Running", "AwaitingRetry", "Retrying", "AwaitingRetry", "Retrying", "Completed"])
        expect(history[2]!.message).toContain("attempt 1 failed")
        expect(retryDelays(history)).toEqual([{ delayMs: 50, startedOnTime: true }, { delayMs: 50, startedOnTime: true }])
        expect(run!.run_count).toBe(3)
      }))

    it.effect("a task out of retries ends Failed with the last error's message", () =>
      Effect.gen(function*() {
        const body = flaky(5)
        const t = task({ name: "hopeless", retries: 1, retryDelay: 0.01 }, body.body)
        const f = flow({ name: "retries-exhausted" }, () => t.submit())
        const state = yield* f.run()
        expect(state).toMatchObject({ type: "FAILED", message: "1/1 states failed." })
        const [run] = yield* taskRunsOf(flowRunIdOf(state))
        expect(yield* stateNames("task_run", run!.id)).toEqual(["Pending", "Running", "AwaitingRetry", "Retrying", "Failed"])
        expect(run!.state?.message).toBe("Task run encountered an exception: attempt 2 failed")
        expect(body.calls()).toBe(2)
      }))

    it.effect("a list of retry delays: retry i waits the i-th, the last one repeating", () =>
      Effect.gen(function*() {
        const t = task({ name: "listed-delays", retries: 3, retryDelay: [0.02, 0.06] }, flaky(3).body)
        const state = yield* flow({ name: "delay-list" }, () => t()).run()
        expect(state.type).toBe("COMPLETED")
        const [run] = yield* taskRunsOf(flowRunIdOf(state))
        expect(retryDelays(yield* states("task_run", run!.id))).toEqual([
          { delayMs: 20, startedOnTime: true }, { delayMs: 60, startedOnTime: true }, { delayMs: 60, startedOnTime: true }
        ])
      }))

    it.effect("exponential backoff doubles the delay on each retry", () =>
      Effect.gen(function*() {
        const t = task({ name: "backoff", retries: 3, retryDelay: { exponential: 0.02 } }, flaky(3).body)
        const state = yield* flow({ name: "exponential" }, () => t()).run()
        expect(state.type).toBe("COMPLETED")
        const [run] = yield* taskRunsOf(flowRunIdOf(state))
        expect(retryDelays(yield* states("task_run", run!.id))).toEqual([
          { delayMs: 20, startedOnTime: true }, { delayMs: 40, startedOnTime: true }, { delayMs: 80, startedOnTime: true }
        ])
      }))

    it.effect("a flow retry runs the flow body again: failed task runs run again, completed ones are not re-run", () =>
      Effect.gen(function*() {
        let steady = 0
        const once = task({ name: "steady" }, () => ++steady)
        const body = flaky(1)
        const shaky = task({ name: "shaky" }, body.body)
        let attempts = 0
        const f = flow({ name: "retried-flow", retries: 1, retryDelay: 0.05 }, async () => {
          attempts++
          return (await once()) + (await shaky())
        })
        const state = yield* f.run()
        expect(state.type).toBe("COMPLETED")
        expect(attempts).toBe(2)
        expect(body.calls()).toBe(2)
        expect(steady).toBe(1)
        const id = flowRunIdOf(state)
        const history = yield* states("flow_run", id)
        expect(history.map((s) => s.name)).toEqual(["Pending", "Running", "AwaitingRetry", "Retrying", "Completed"])
        expect(retryDelays(history)).toEqual([{ delayMs: 50, startedOnTime: true }])
        const runs = yield* taskRunsOf(id)
        expect(runs.map((r) => [r.name, r.state_name])).toEqual([["steady-0", "Completed"], ["shaky-0", "Completed"]])
        // The reset also resets the run count, so the task run's retries start afresh: it runs as "Running" again.
        expect(yield* stateNames("task_run", runs[1]!.id)).toEqual(["Pending", "Running", "Failed", "AwaitingRetry", "Running", "Completed"])
        expect(yield* stateNames("task_run", runs[0]!.id)).toEqual(["Pending", "Running", "Completed"])
      }))

    it.effect("a flow without retries that fails ends Failed, its failed task run left Failed", () =>
      Effect.gen(function*() {
        const boom = task({ name: "boom" }, () => Effect.fail(new Error("kaput")))
        const state = yield* flow({ name: "no-flow-retries" }, () => boom()).run()
        expect(state.type).toBe("FAILED")
        expect(state.message).toContain("kaput")
        const [run] = yield* taskRunsOf(flowRunIdOf(state))
        expect(yield* stateNames("task_run", run!.id)).toEqual(["Pending", "Running", "Failed"])
      }))
  })
})
