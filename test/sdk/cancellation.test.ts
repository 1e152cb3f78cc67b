/**
 * Timeouts and cancellation: a run past its timeout ends TimedOut; cancelling a running flow — by interrupting its
 * fiber, by its AbortSignal, or by a Cancelling state set from outside — interrupts its task runs promptly.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Deferred, type Duration, Effect, Fiber, Layer, Queue } from "effect"
import { OrionClient } from "../../src/client/orion-client.js"
import { type FlowRunFilterRequest, States, type Uuid } from "../../src/domain/index.js"
import { flow, runContext, task } from "../../src/index.js"
import { databases } from "../support/databases.js"
import { flowRunIdOf, sdkLayer, stateNames, taskRunsOf } from "../support/sdk.js"

/**
 * A flow with two task runs that never finish on their own — an Effect task (seeing cancellation in a finalizer) and an
 * async task (seeing its run's AbortSignal) — recording when each saw it.
 */
const stuckFlow = (name: string, options: { readonly cancelCheckInterval?: Duration.DurationInput } = {}) =>
  Effect.gen(function*() {
    const entered = { effect: yield* Deferred.make<Uuid>(), async: yield* Deferred.make<void>() }
    const seen: { effect?: number; async?: number } = {}
    const effectTask = task({ name: `${name}-effect-task` }, () =>
      Effect.gen(function*() {
        const ctx = runContext()
        yield* Deferred.succeed(entered.effect, ctx._tag === "TaskRun" ? ctx.flow.flowRunId : ctx.flowRunId)
        return yield* Effect.never
      }).pipe(Effect.onInterrupt(() => Effect.sync(() => void (seen.effect = performance.now())))))
    const asyncTask = task({ name: `${name}-async-task` }, async () => {
      const { signal } = runContext()
      await new Promise<never>((_, reject) => {
        signal.addEventListener("abort", () => {
          seen.async = performance.now()
          reject(signal.reason)
        })
        Deferred.unsafeDone(entered.async, Effect.void)
      })
    })
    const f = flow({ name, ...options }, async () => {
      const a = effectTask.submit()
      const b = asyncTask.submit()
      await Promise.all([a, b])
      await (await a).wait()
    })
    /** Waits until both task bodies run; returns the flow run id. */
    const started = Effect.zipLeft(Deferred.await(entered.effect), Deferred.await(entered.async))
    return { f, seen, started }
  })

/** Both task runs and the flow run ended Cancelled. */
const expectAllCancelled = (flowRunId: string) =>
  Effect.gen(function*() {
    const client = yield* OrionClient
    expect((yield* client.readFlowRun(flowRunId)).state).toMatchObject({ type: "CANCELLED", name: "Cancelled" })
    const runs = yield* taskRunsOf(flowRunId)
    expect(runs).toHaveLength(2)
    for (const run of runs) expect(run.state).toMatchObject({ type: "CANCELLED", name: "Cancelled" })
    expect(yield* stateNames("flow_run", flowRunId)).toEqual(["Pending", "Running", "Cancelled"])
  })

/**
 * "At once": no wait for a poll or a timer. Measured at a few ms on a quiet machine; the bound leaves room for a
 * loaded one (hundreds of ms seen with 20 processes on 2 cores) while staying below any polling interval in play.
 */
const promptMs = 1_000

describe.each(databases)("timeouts and cancellation on $name", (db) => {
  layer(sdkLayer(db), { excludeTestServices: true })((it) => {
    it.effect("a task past its timeout ends TimedOut with its signal aborted; the flow that waited on it ends Failed", () =>
      Effect.gen(function*() {
        let abortedBy: unknown
        const slow = task({ name: "too-slow", timeout: 0.05 }, async () => {
          const { signal } = runContext()
          await new Promise((resolve) => {
            const timer = setTimeout(resolve, 5_000)
            signal.addEventListener("abort", () => {
              abortedBy = signal.reason
              clearTimeout(timer)
              resolve(undefined)
            })
          })
          return "late"
        })
        const started = performance.now()
        const state = yield* flow({ name: "waits-for-slow" }, () => slow.submit()).run()
        expect(performance.now() - started).toBeLessThan(2_000)
        expect(state).toMatchObject({ type: "FAILED", message: "1/1 states failed." })
        const [run] = yield* taskRunsOf(flowRunIdOf(state))
        expect(run!.state).toMatchObject({ type: "FAILED", name: "TimedOut", message: "Task run exceeded its timeout of 50ms." })
        expect(String(abortedBy)).toContain("timeout")
      }))

    it.effect("a flow past its timeout ends TimedOut and its running task is cancelled", () =>
      Effect.gen(function*() {
        const { f, started } = yield* stuckFlow("timed-out-flow")
        // long enough for both task runs to start first, even on a loaded machine (`started` waits for them)
        const timed = flow({ name: "flow-timeout", timeout: "1 second" }, () => f())
        const fiber = yield* Effect.fork(timed.run())
        const flowRunId = yield* started
        const state = yield* Fiber.join(fiber)
        expect(state).toMatchObject({ type: "FAILED", name: "TimedOut", message: "Flow run exceeded its timeout of 1s." })
        // The subflow (and its task runs) inside the timed-out flow were interrupted with it.
        expect((yield* Effect.flatMap(OrionClient, (c) => c.readFlowRun(flowRunId))).state?.type).toBe("CANCELLED")
      }))

    it.effect("interrupting the flow's fiber interrupts its task runs at once; all end Cancelled", () =>
      Effect.gen(function*() {
        const { f, seen, started } = yield* stuckFlow("interrupted")
        const fiber = yield* Effect.fork(f.run())
        const flowRunId = yield* started
        const cancelledAt = performance.now()
        yield* Fiber.interrupt(fiber)
        expect(seen.effect! - cancelledAt).toBeLessThan(promptMs)
        expect(seen.async! - cancelledAt).toBeLessThan(promptMs)
        yield* expectAllCancelled(flowRunId)
      }))

    it.effect("aborting the AbortSignal given to run() cancels the flow run at once; run() returns the Cancelled state", () =>
      Effect.gen(function*() {
        const { f, seen, started } = yield* stuckFlow("aborted")
        const controller = new AbortController()
        const fiber = yield* Effect.fork(f.run({ signal: controller.signal }))
        const flowRunId = yield* started
        const cancelledAt = performance.now()
        controller.abort()
        const state = yield* Fiber.join(fiber)
        expect(seen.effect! - cancelledAt).toBeLessThan(promptMs)
        expect(seen.async! - cancelledAt).toBeLessThan(promptMs)
        expect(state).toMatchObject({ type: "CANCELLED", state_details: { flow_run_id: flowRunId } })
        yield* expectAllCancelled(flowRunId)
      }))

    it.effect("a Cancelling state set from outside is noticed by the flow's polling: tasks interrupted within the interval", () =>
      Effect.gen(function*() {
        const interval = 30
        const { f, seen, started } = yield* stuckFlow("cancelled-externally", { cancelCheckInterval: `${interval} millis` })
        const fiber = yield* Effect.fork(f.run())
        const flowRunId = yield* started
        const cancelledAt = performance.now()
        const answer = yield* Effect.flatMap(OrionClient, (c) => c.proposeState({ kind: "flow_run", id: flowRunId }, States.Cancelling(), { force: true }))
        expect(answer.status).toBe("ACCEPT")
        const state = yield* Fiber.join(fiber)
        expect(seen.effect! - cancelledAt).toBeLessThan(interval + promptMs)
        expect(seen.async! - cancelledAt).toBeLessThan(interval + promptMs)
        expect(state).toMatchObject({ type: "CANCELLED" })
        const client = yield* OrionClient
        expect((yield* client.readFlowRun(flowRunId)).state?.type).toBe("CANCELLED")
        expect(yield* stateNames("flow_run", flowRunId)).toEqual(["Pending", "Running", "Cancelling", "Cancelled"])
        for (const run of yield* taskRunsOf(flowRunId)) expect(run.state?.type).toBe("CANCELLED")
      }))

    it.effect("many running flows share one look for cancel requests per interval: one read per tick, and only the run asked is cancelled", () =>
      Effect.gen(function*() {
        const interval = 40
        let reads = 0
        const counting = Layer.effect(OrionClient, Effect.map(OrionClient, (client) => ({
          ...client,
          readFlowRun: (id: string) => Effect.suspend(() => (reads++, client.readFlowRun(id))),
          readFlowRuns: (request: FlowRunFilterRequest) => Effect.suspend(() => (reads++, client.readFlowRuns(request)))
        })))
        const release = yield* Deferred.make<void>()
        const running = yield* Queue.unbounded<Uuid>()
        const waits = flow({ name: "watched-together", cancelCheckInterval: `${interval} millis` }, () =>
          Effect.gen(function*() {
            const ctx = runContext()
            yield* Queue.offer(running, ctx._tag === "FlowRun" ? ctx.flowRunId : ctx.flow.flowRunId)
            yield* Deferred.await(release)
            return "done"
          }))
        // One client for all 20 runs, as a process has.
        const fibers = yield* Effect.forEach(Array.from({ length: 20 }), () => Effect.fork(waits.run())).pipe(Effect.provide(counting))
        const ids = yield* Effect.forEach(fibers, () => Queue.take(running))
        reads = 0
        yield* Effect.flatMap(OrionClient, (c) => c.proposeState({ kind: "flow_run", id: ids[7]! }, States.Cancelling(), { force: true }))
        yield* Effect.sleep(`${interval * 5} millis`)
        yield* Deferred.succeed(release, undefined)
        const states = yield* Effect.forEach(fibers, Fiber.join)
        // 20 runs watched for ~5 intervals: a read per run per interval would be ~100.
        expect(reads).toBeLessThanOrEqual(8)
        const client = yield* OrionClient
        const final = yield* Effect.forEach(ids, (id) => Effect.map(client.readFlowRun(id), (r) => r.state?.type))
        expect(final.filter((t) => t === "CANCELLED")).toHaveLength(1)
        expect(final[7]).toBe("CANCELLED")
        expect(states.filter((s) => s.type === "COMPLETED")).toHaveLength(19)
      }))

    it.effect("a cancel request that arrives as the body ends, before the watcher sees it: the run ends Cancelled, not stuck Cancelling", () =>
      Effect.gen(function*() {
        const entered = yield* Deferred.make<Uuid>()
        const release = yield* Deferred.make<void>()
        // The watcher looks once an hour: only the end of the body can meet the request.
        const f = flow({ name: "cancelled-as-it-ends", cancelCheckInterval: "1 hour" }, () =>
          Effect.gen(function*() {
            const ctx = runContext()
            yield* Deferred.succeed(entered, ctx._tag === "FlowRun" ? ctx.flowRunId : ctx.flow.flowRunId)
            yield* Deferred.await(release)
            return "done"
          }))
        const fiber = yield* Effect.fork(f.run())
        const flowRunId = yield* Deferred.await(entered)
        const client = yield* OrionClient
        expect((yield* client.proposeState({ kind: "flow_run", id: flowRunId }, States.Cancelling())).status).toBe("ACCEPT")
        yield* Deferred.succeed(release, undefined)
        const state = yield* Fiber.join(fiber)
        expect(state).toMatchObject({ type: "CANCELLED", message: "The run was cancelled as it ended." })
        expect(yield* stateNames("flow_run", flowRunId)).toEqual(["Pending", "Running", "Cancelling", "Cancelled"])
      }))

    it.effect("a flow run waiting an hour to retry, cancelled: it ends Cancelled at once, not at its retry time", () =>
      Effect.gen(function*() {
        const client = yield* OrionClient
        const entered = yield* Deferred.make<Uuid>()
        const f = flow({ name: "cancelled-awaiting-retry", retries: 1, retryDelay: 3600, cancelCheckInterval: "30 millis" }, () =>
          Effect.gen(function*() {
            const ctx = runContext()
            yield* Deferred.succeed(entered, ctx._tag === "FlowRun" ? ctx.flowRunId : ctx.flow.flowRunId)
            return yield* Effect.fail(new Error("fails once, then waits an hour to retry"))
          }))
        const fiber = yield* Effect.fork(f.run())
        const flowRunId = yield* Deferred.await(entered)
        while ((yield* client.readFlowRun(flowRunId)).state_name !== "AwaitingRetry") yield* Effect.sleep("20 millis")
        const answer = yield* client.proposeState({ kind: "flow_run", id: flowRunId }, States.Cancelling())
        expect(answer).toMatchObject({ status: "REJECT", state: { type: "CANCELLED" } })
        const state = yield* Fiber.join(fiber).pipe(Effect.timeout("10 seconds"))
        expect(state).toMatchObject({ type: "CANCELLED" })
        expect(yield* stateNames("flow_run", flowRunId)).toEqual(["Pending", "Running", "AwaitingRetry", "Cancelled"])
      }))
  })
})
