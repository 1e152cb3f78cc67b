/**
 * Task runners: parallel() runs task bodies on worker threads (CPU-bound bodies at the same time, every body style,
 * failures, retries, timeouts, cancellation, what cannot cross a thread) with orchestration in this thread; and
 * sequential() serialises task runs whatever the caller does. Scripts run as child processes, as users run them.
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { threadId } from "node:worker_threads"
import { SqlClient } from "@effect/sql"
import { describe, expect, it, it as vitestIt, layer } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Scope } from "effect"
import { OrionClient } from "../../src/client/orion-client.js"
import { concurrent, flow, parallel, sequential, task } from "../../src/index.js"
import { ResultStore } from "../../runtime/results.js"
import { RunLogs } from "../../runtime/run-logs.js"
import { moduleOfStack, toModuleUrl } from "../../src/sdk/task-registry.js"
import { databases, tempDir } from "../support/databases.js"
import { flowRunIdOf, sdkLayer, stateNames, taskRunsOf } from "../support/sdk.js"
import * as T from "../fixtures/parallel-tasks.js"

/** The task runs of a flow run by name, with their state names. */
const runsByName = (flowRunId: string) =>
  Effect.map(taskRunsOf(flowRunId), (runs) => Object.fromEntries(runs.map((r) => [r.name, r])))

const logsOf = (flowRunId: string) =>
  Effect.gen(function*() {
    yield* Effect.flatMap(RunLogs, (logs) => logs.flush)
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ level: number; message: string; task_run_id: string | null }>`SELECT level, message, task_run_id FROM log WHERE flow_run_id = ${flowRunId}`
    return rows.map((r) => ({ ...r, level: Number(r.level) }))
  })

/** Polls until `file` exists (a worker thread's body wrote it). */
const fileAppears = (file: string) =>
  Effect.gen(function*() {
    while (!fs.existsSync(file)) yield* Effect.sleep("20 millis")
  }).pipe(Effect.timeoutFail({ duration: "30 seconds", onTimeout: () => new Error(`${file} never appeared`) }))

describe.each(databases)("parallel task runner on $name", (db) => {
  layer(sdkLayer(db), { excludeTestServices: true })((it) => {
    it.effect("CPU-bound bodies run at the same time, each on a worker thread of its own", () =>
      Effect.gen(function*() {
        const barrier = new Int32Array(new SharedArrayBuffer(4))
        const f = flow({ name: "cpu-parallel", taskRunner: parallel({ workers: 2 }) }, async () =>
          Promise.all([T.cpuHeavy(barrier, 2, 3_000), T.cpuHeavy(barrier, 2, 3_000)]))
        const [a, b] = yield* f()
        // Each counted itself in and then saw the other: they were running at once, not one after the other.
        expect([a!.together, b!.together]).toEqual([true, true])
        expect(a!.threadId).not.toBe(threadId)
        expect(b!.threadId).not.toBe(threadId)
        expect(a!.threadId).not.toBe(b!.threadId)
        expect(a!.start).toBeLessThan(b!.end)
        expect(b!.start).toBeLessThan(a!.end)
        expect(a!.digest).toBe(T.burn(3_000))
      }), 60_000)

    it.effect("Effect, async and sync bodies: values back, results stored, states Completed, log lines in the run's logs", () =>
      Effect.gen(function*() {
        const f = flow({ name: "body-styles", taskRunner: parallel({ workers: 2 }), serializer: "v8" }, async () => {
          const [effect, async, sync, helped] = await Promise.all([T.effectBody(21), T.asyncBody("orion"), T.syncBody([1, 2, 3]), T.viaHelper(1)])
          return { effect, async, sync, helped }
        })
        const state = yield* f.run()
        expect(state.type).toBe("COMPLETED")
        const flowRunId = flowRunIdOf(state)
        const store = yield* ResultStore
        const { effect, async, sync, helped } = (yield* store.retrieve(state.data)) as {
          helped: number
          effect: { threadId: number; double: number }
          async: { threadId: number; upper: string; taskName: string }
          sync: { threadId: number; sum: number; when: string }
        }
        expect(effect.double).toBe(42)
        expect(helped).toBe(2) // created by a helper module, found by its `module` option
        expect(async).toMatchObject({ upper: "ORION", taskName: "async-body" })
        expect(sync.sum).toBe(6)
        for (const t of [effect.threadId, async.threadId, sync.threadId]) expect(t).not.toBe(threadId)

        const runs = yield* runsByName(flowRunId)
        for (const name of ["effect-body-0", "async-body-0", "sync-body-0"]) {
          expect(yield* stateNames("task_run", runs[name]!.id)).toEqual(["Pending", "Running", "Completed"])
        }
        // Stored by the main thread with each task's serializer: the Date crossed the thread and the v8 serializer kept it.
        expect(yield* store.retrieve(runs["sync-body-0"]!.state!.data)).toMatchObject({ sum: 6, when: new Date(0) })
        expect(yield* store.retrieve(runs["effect-body-0"]!.state!.data)).toEqual(effect)

        const logs = yield* logsOf(flowRunId)
        expect(logs).toContainEqual({ level: 20, message: "effect body got 21", task_run_id: runs["effect-body-0"]!.id })
        expect(logs).toContainEqual({ level: 30, message: "async body got orion", task_run_id: runs["async-body-0"]!.id })
      }), 60_000)

    it.effect("failures: a throwing body, a failing Effect, a result or argument that cannot cross, a task made after import", () =>
      Effect.gen(function*() {
        const late = T.makeLateTask()
        const f = flow({ name: "parallel-failures", taskRunner: parallel({ workers: 2 }) }, async () => {
          const futures = await Promise.all([T.throws.submit(), T.failsEffect.submit(), T.returnsFunction.submit(), T.takesAnything.submit(() => 1), late.submit()])
          await Promise.all(futures.map((future) => future.wait()))
        })
        const state = yield* f.run()
        expect(state).toMatchObject({ type: "FAILED", message: "5/5 states failed." })
        const runs = yield* runsByName(flowRunIdOf(state))
        const messages = Object.fromEntries(Object.entries(runs).map(([name, run]) => [name, run.state!.message]))
        expect(messages["throws-0"]).toBe("Task run encountered an exception: the worker body broke")
        expect(messages["fails-effect-0"]).toBe("Task run encountered an exception: the Effect body failed")
        expect(messages["returns-function-0"]).toMatch(/^Task run encountered an exception: The result of task 'returns-function' cannot be sent back from its worker thread: .*could not be cloned.*structured-cloneable/)
        expect(messages["takes-anything-0"]).toMatch(/^Task run encountered an exception: The arguments of task 'takes-anything' cannot be sent to a worker thread: .*could not be cloned/)
        expect(messages["late-task-0"]).toMatch(/Task 'late-task' is not defined when file:.*parallel-tasks\.ts is imported.*top level of a module/)
        for (const run of Object.values(runs)) expect(run.state!.type).toBe("FAILED")
      }), 60_000)

    it.effect("retries: a body failing twice on its worker is retried by the main thread and completes", () =>
      Effect.gen(function*() {
        const f = flow({ name: "parallel-retries", taskRunner: parallel({ workers: 1 }) }, () => T.flaky())
        const state = yield* f.run()
        expect(state.type).toBe("COMPLETED")
        const [run] = yield* taskRunsOf(flowRunIdOf(state))
        expect(yield* stateNames("task_run", run!.id)).toEqual(["Pending", "Running", "AwaitingRetry", "Retrying", "AwaitingRetry", "Retrying", "Completed"])
        const value = (yield* Effect.flatMap(ResultStore, (s) => s.retrieve(run!.state!.data))) as { attempts: number; threadId: number }
        expect(value.attempts).toBe(3)
        expect(value.threadId).not.toBe(threadId)
      }), 60_000)

    it.effect("a body past its timeout ends TimedOut, a worker that exits fails its task run; either worker is replaced", () =>
      Effect.gen(function*() {
        const f = flow({ name: "parallel-timeout", taskRunner: parallel({ workers: 1, abortGrace: "100 millis" }) }, async () => {
          const first = await T.whereAmI()
          const spun = await (await T.spinTimed.submit(60_000)).wait()
          const second = await T.whereAmI()
          const exited = await (await T.exitsWorker.submit()).wait()
          const third = await T.whereAmI()
          return { threads: [first, second, third], spun: spun.name, exited: { name: exited.name, message: exited.message } }
        })
        const started = performance.now()
        const { threads, spun, exited } = yield* f()
        expect(spun).toBe("TimedOut")
        expect(exited).toEqual({
          name: "Failed",
          message: "Task run encountered an exception: The worker thread running task 'exits-worker' stopped (exit code 3); a new worker thread takes its place."
        })
        // One worker at most, yet three threads: the busy one was terminated, the exited one replaced.
        expect(new Set(threads).size).toBe(3)
        expect(performance.now() - started).toBeLessThan(30_000)
      }), 60_000)

    it.effect("cancelling the flow run aborts its parallel bodies: the signal fires in the worker, a deaf body's worker is terminated", () =>
      Effect.gen(function*() {
        const dir = tempDir("orion-parallel-cancel-")
        const marker = path.join(dir, "aborted")
        const spinning = path.join(dir, "spinning")
        const f = flow({ name: "parallel-cancel", taskRunner: parallel({ workers: 2, abortGrace: "1 second" }) }, async () => {
          await Promise.all([T.awaitAbort(marker), T.spin(600_000, spinning)])
        })
        const controller = new AbortController()
        const fiber = yield* Effect.fork(f.run({ signal: controller.signal }))
        yield* fileAppears(`${marker}.started`)
        yield* fileAppears(spinning)
        const aborted = performance.now()
        controller.abort()
        const state = yield* Fiber.join(fiber)
        expect(performance.now() - aborted).toBeLessThan(15_000)
        expect(state.type).toBe("CANCELLED")
        expect(fs.readFileSync(marker, "utf8")).toBe("The run was cancelled.")
        const runs = yield* taskRunsOf(flowRunIdOf(state))
        expect(runs.map((r) => r.state!.type).sort()).toEqual(["CANCELLED", "CANCELLED"])
        expect((yield* Effect.flatMap(OrionClient, (c) => c.readFlowRun(flowRunIdOf(state)))).state!.name).toBe("Cancelled")
      }), 60_000)
  })
})

describe("where a task is defined", () => {
  vitestIt("the module is read from the first frame of a stack, in the forms V8, tsx and vitest print", () => {
    expect(moduleOfStack("Error\n    at file:///work/app/tasks.ts:3:20")).toBe("file:///work/app/tasks.ts")
    expect(moduleOfStack("Error\n    at <anonymous> (/work/app/tasks.ts:3:20)")).toBe("file:///work/app/tasks.ts")
    expect(moduleOfStack("Error\n    at makeTasks (file:///work/app/my%20tasks.ts:3:20)\n    at file:///work/app/main.ts:1:1")).toBe("file:///work/app/my%20tasks.ts")
    expect(moduleOfStack("Error\n    at async /work/app/tasks.ts?v=123:3:20")).toBe("file:///work/app/tasks.ts")
    expect(moduleOfStack("Error\n    at [eval]:1:1")).toBeUndefined()
    expect(moduleOfStack(undefined)).toBeUndefined()
  })

  vitestIt("task() records its caller's module, or the module it is given", () => {
    expect(toModuleUrl(new URL("file:///work/app/tasks.ts"))).toBe("file:///work/app/tasks.ts")
    expect(toModuleUrl("relative/tasks.ts")).toBeUndefined()
    expect(() => task({ name: "bad-module", module: "tasks.ts" }, () => 1)).toThrow(/`module` must be a file URL/)
  })
})

/** Records how many bodies run at once: a body that sees another one running records the overlap. */
const overlapProbe = () => {
  let running = 0
  let maxRunning = 0
  const order: Array<number> = []
  const t = task({ name: "probe" }, async (i: number) => {
    order.push(i)
    maxRunning = Math.max(maxRunning, ++running)
    await new Promise((resolve) => setTimeout(resolve, 15))
    running--
    return i
  })
  return { t, order, maxRunning: () => maxRunning }
}

describe.each(databases)("sequential task runner on $name", (db) => {
  layer(sdkLayer(db), { excludeTestServices: true })((it) => {
    it.effect("Promise.all in an async flow: one task run at a time, in call order", () =>
      Effect.gen(function*() {
        const { t, order, maxRunning } = overlapProbe()
        const f = flow({ name: "sequential-promise-all", taskRunner: sequential() }, async () => Promise.all([t(0), t(1), t(2), t(3)]))
        expect(yield* f()).toEqual([0, 1, 2, 3])
        expect(order).toEqual([0, 1, 2, 3])
        expect(maxRunning()).toBe(1)
      }))

    it.effect("Effect.all with unbounded concurrency in an Effect flow: still one at a time, in call order", () =>
      Effect.gen(function*() {
        const { t, order, maxRunning } = overlapProbe()
        const f = flow({ name: "sequential-effect-all", taskRunner: sequential() }, () =>
          Effect.all([t(0), t(1), t(2), t(3), t(4)], { concurrency: "unbounded" }))
        expect(yield* f()).toEqual([0, 1, 2, 3, 4])
        expect(order).toEqual([0, 1, 2, 3, 4])
        expect(maxRunning()).toBe(1)
      }))
  })
})

/** Runs a fixture script as a user would (`node --import tsx`), on its own ORION_HOME. */
const runScript = (script: string): Promise<{ readonly code: number | null; readonly stdout: string; readonly stderr: string }> => {
  const env: Record<string, string | undefined> = { ...process.env, ORION_HOME: tempDir("orion-parallel-script-") }
  delete env.ORION_DATABASE_URL
  delete env.ORION_API_URL
  delete env.ORION_RESULTS_DIR
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join("test", "fixtures", script)], { cwd: path.resolve(import.meta.dirname, "../.."), env })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d) => { stdout += d })
    child.stderr.on("data", (d) => { stderr += d })
    const timer = setTimeout(() => child.kill("SIGKILL"), 55_000)
    child.on("error", reject)
    child.on("close", (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

describe("parallel task runner from scripts", () => {
  vitestIt("under `node --import tsx`, worker threads load the TypeScript task module and every body style runs there", async () => {
    const { code, stdout, stderr } = await runScript("parallel-script.ts")
    expect(code, stderr).toBe(0)
    const line = JSON.parse(stdout.split("\n").find((l) => l.startsWith("{"))!) as {
      main: number
      value: { effect: { threadId: number; double: number }; async: { threadId: number; upper: string }; where: number }
    }
    expect(line.value.effect.double).toBe(42)
    expect(line.value.async.upper).toBe("TS")
    for (const t of [line.value.effect.threadId, line.value.async.threadId, line.value.where]) expect(t).not.toBe(line.main)
    expect(stderr).toContain("effect body got 21") // Effect.log and getRunLogger() in a worker echo to the console too
    expect(stderr).toContain("WARNING orion.task_runs.async-body - async body got ts")
  }, 60_000)

  vitestIt("a task whose module runs a flow when imported: the flow does not run again in the worker, the task run Fails saying why", async () => {
    const { code, stdout, stderr } = await runScript("parallel-flow-at-import.ts")
    expect(code, stderr).toBe(0)
    // Only the main thread's flow run printed its end: the worker's import stopped at the flow call.
    expect(stdout.match(/flow run /g)).toHaveLength(1)
    expect(stdout).toContain("thread 0: flow run Failed: 1/1 states failed.")
    expect(stdout).toContain("task run Failed: Task run encountered an exception: Task 'square-here' could not be loaded in a worker thread")
    expect(stdout).toContain("Flow 'flow-at-import' was started in a worker thread of a parallel() task runner")
    expect(stdout).toContain("move the tasks for parallel() to a module of their own that runs no flows")
  }, 60_000)
})

describe("concurrent task runner slots", () => {
  it.effect("a submit beyond the limit waits for a slot; one interrupted while waiting leaves no slot taken", () =>
    Effect.scoped(Effect.gen(function*() {
      const runner = yield* concurrent({ limit: 1 }).make
      const gate = yield* Deferred.make<void>()
      const ran: Array<string> = []
      const first = yield* runner.submit(Effect.void, Effect.zipRight(Deferred.await(gate), Effect.sync(() => ran.push("first"))))
      // The only slot is taken: this submit waits, then is interrupted while waiting.
      const waiting = yield* Effect.fork(runner.submit(Effect.void, Effect.sync(() => ran.push("interrupted"))))
      yield* Effect.sleep("20 millis")
      expect(waiting.unsafePoll()).toBeNull()
      yield* Fiber.interrupt(waiting)
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.await(first)
      // The slot came back: the next submit starts and runs.
      const next = yield* runner.submit(Effect.void, Effect.sync(() => ran.push("next")))
      yield* Fiber.await(next)
      expect(ran).toEqual(["first", "next"])
    })))
})

describe("sequential task runner line", () => {
  it.effect("runs in submission order, one at a time; each submit returns once its run has handed the turn on", () =>
    Effect.scoped(Effect.gen(function*() {
      const runner = yield* sequential().make
      const gates = yield* Effect.all([Deferred.make<void>(), Deferred.make<void>(), Deferred.make<void>()])
      const log: Array<string> = []
      const submits = yield* Effect.forEach([0, 1, 2], (i) =>
        Effect.fork(runner.submit(Effect.sync(() => log.push(`ready ${i}`)), Effect.zipRight(Deferred.await(gates[i]!), Effect.sync(() => log.push(`ran ${i}`))))))
      yield* Effect.sleep("20 millis")
      expect(log).toEqual(["ready 0"])
      expect(submits.map((s) => s.unsafePoll())).toEqual([null, null, null])
      yield* Deferred.succeed(gates[2]!, undefined) // the last one may go, but only in its turn
      yield* Effect.sleep("10 millis")
      expect(log).toEqual(["ready 0"])
      yield* Deferred.succeed(gates[0]!, undefined)
      const first = yield* Fiber.join(submits[0]!)
      yield* Fiber.await(first)
      yield* Effect.sleep("10 millis")
      expect(log).toEqual(["ready 0", "ran 0", "ready 1"])
      yield* Deferred.succeed(gates[1]!, undefined)
      yield* Fiber.await(yield* Fiber.join(submits[2]!))
      expect(log).toEqual(["ready 0", "ran 0", "ready 1", "ran 1", "ready 2", "ran 2"])
    })))

  it.effect("closing the runner's scope while runs wait: no waiting run starts, and every submit returns", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const runner = yield* Effect.provideService(sequential().make, Scope.Scope, scope)
      const gate = yield* Deferred.make<void>()
      const ran: Array<string> = []
      const holder = yield* Effect.fork(runner.submit(Effect.void, Effect.zipRight(Deferred.await(gate), Effect.sync(() => ran.push("holder")))))
      const waiting = yield* Effect.forEach(["b", "c"], (name) => Effect.fork(runner.submit(Effect.sync(() => ran.push(`ready ${name}`)), Effect.sync(() => ran.push(name)))))
      yield* Effect.sleep("20 millis")
      yield* Scope.close(scope, Exit.void)
      for (const submit of [holder, ...waiting]) expect(Exit.isSuccess(yield* Fiber.await(submit))).toBe(true)
      yield* Deferred.succeed(gate, undefined)
      yield* Effect.sleep("10 millis")
      expect(ran).toEqual([])
    }))
})
