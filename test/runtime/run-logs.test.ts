/** Run log shipping: Effect.log in a run becomes Log rows (real client, both databases); batching, back-pressure, failures. */
import { describe, expect, it } from "@effect/vitest"
import { Cause, ConfigProvider, Deferred, Effect, Fiber, FiberRef, HashSet, Layer, Logger, LogLevel } from "effect"
import { layerOnDatabase } from "../../src/client/local.js"
import { OrionClient, OrionUnavailable } from "../../src/client/orion-client.js"
import { type Log, type LogCreate, newUuid, ObjectNotFound, type Uuid } from "../../src/domain/index.js"
import { LogRepository } from "../../src/storage/repositories/index.js"
import { EventBus } from "../../runtime/event-bus.js"
import * as RunLogsModule from "../../runtime/run-logs.js"
import { layerWith, loggerLayer, MAX_MESSAGE_LENGTH, RunLogs, type RunLogsOptions } from "../../runtime/run-logs.js"
import { databases } from "../support/databases.js"
import { flowRunCreate, taskRunCreate } from "../support/orchestrator.js"

const quiet = Logger.remove(Logger.defaultLogger)

/** The service's own console-side warnings, captured (and the default console logger removed to keep test output quiet). */
const captureWarnings = () => {
  const warnings: Array<string> = []
  const logger = Logger.make(({ logLevel, message }) => {
    if (logLevel._tag === "Warning") warnings.push((Array.isArray(message) ? message : [message]).join(" "))
  })
  return { warnings, layer: Layer.merge(quiet, Logger.add(logger)) }
}

const line = (flowRunId: Uuid, message: string, level = 20): LogCreate =>
  ({ name: "test", level, message, timestamp: new Date(), flow_run_id: flowRunId, task_run_id: null })

/** An OrionClient for tests that only ships logs, through `createLogs`. */
const logsOnlyClient = (createLogs: ClientService["createLogs"]) => {
  const unused = () => Effect.dieMessage("not used by run logs")
  return Layer.succeed(OrionClient, OrionClient.of({
    ensureFlow: unused, readFlow: unused, readDeployment: unused, createFlowRun: unused, readFlowRun: unused, readFlowRuns: unused, createTaskRun: unused,
    readTaskRun: unused, readTaskRuns: unused, proposeState: unused, readStates: unused, slotWait: unused, heartbeat: unused, createLogs
  }))
}
type ClientService = OrionClient["Type"]

const withRunLogs = <A, E, R>(options: Partial<RunLogsOptions>, body: (logs: RunLogs["Type"]) => Effect.Effect<A, E, R>) =>
  Effect.flatMap(RunLogs, body).pipe(Effect.provide(layerWith(options)))

describe.each(databases)("run logs through the local client on $name", (db) => {
  /** The real local client on a fresh database, wrapped to record each createLogs call's size; plus the log repository to read back. */
  const provide = <A, E>(calls: Array<number>, e: Effect.Effect<A, E, OrionClient | LogRepository>) => {
    const counted = Layer.effect(OrionClient, Effect.map(OrionClient, (client) => ({
      ...client,
      createLogs: (batch: ReadonlyArray<LogCreate>) => Effect.zipRight(Effect.sync(() => calls.push(batch.length)), client.createLogs(batch))
    }))).pipe(Layer.provide(layerOnDatabase), Layer.provide(EventBus.layer))
    return Effect.provide(e, Layer.mergeAll(counted, LogRepository.Default).pipe(Layer.provideMerge(db.layer()), Layer.provideMerge(quiet)))
  }

  const newRun = Effect.gen(function*() {
    const client = yield* OrionClient
    const flow = yield* client.ensureFlow({ name: `flow-${newUuid()}`, tags: [] })
    const run = yield* client.createFlowRun(flowRunCreate(flow.id))
    const task = yield* client.createTaskRun(taskRunCreate(run.id, { task_key: "t" }))
    return { flowRunId: run.id, taskRunId: task.id }
  })

  const logsOf = (flowRunId: Uuid) =>
    Effect.flatMap(LogRepository, (repo) => repo.filter({ logs: { flow_run_id: { any_: [flowRunId] } }, sort: "TIMESTAMP_ASC", limit: 10_000, offset: 0 }))
  const allLogs = Effect.flatMap(LogRepository, (repo) => repo.filter({ logs: null, sort: "TIMESTAMP_ASC", limit: 10_000, offset: 0 }))
  const byMessage = (logs: ReadonlyArray<Log>) => [...logs].sort((a, b) => a.message.localeCompare(b.message))

  it.live("Effect.log inside an annotated run fiber becomes Log rows with the right level, name, ids and message", () => {
    const calls: Array<number> = []
    return provide(calls, Effect.gen(function*() {
      const { flowRunId, taskRunId } = yield* newRun
      yield* withRunLogs({ batchInterval: "1 hour" }, (logs) => Effect.gen(function*() {
        const run = Effect.gen(function*() {
          yield* Effect.log("starting", 3, { rows: 2 })
          yield* Effect.logTrace("trace detail")
          yield* Effect.logDebug("debug detail")
          yield* Effect.logWarning("careful").pipe(Effect.annotateLogs("orion.task_run_id", taskRunId))
          yield* Effect.logError("failed", Cause.fail(new Error("boom")))
          yield* Effect.logFatal("fatal").pipe(Effect.annotateLogs("orion.logger", "my.logger"))
          const child = yield* Effect.fork(Effect.log("from a child fiber"))
          yield* Fiber.join(child)
        }).pipe(Effect.annotateLogs("orion.flow_run_id", flowRunId), Logger.withMinimumLogLevel(LogLevel.All))
        yield* run
        yield* Effect.log("not part of any run")
        yield* Effect.log("a malformed run id").pipe(Effect.annotateLogs("orion.flow_run_id", "not-a-uuid"))
        yield* logs.flush
      }).pipe(Effect.provide(loggerLayer)))

      const stored = byMessage(yield* logsOf(flowRunId))
      expect(stored.map((l) => [l.message.split("\n")[0], l.level, l.name, l.task_run_id])).toEqual([
        ["careful", 30, "orion.task_runs", taskRunId],
        ["debug detail", 10, "orion.flow_runs", null],
        ["failed", 40, "orion.flow_runs", null],
        ["fatal", 50, "my.logger", null],
        ["from a child fiber", 20, "orion.flow_runs", null],
        ["starting 3 {\"rows\":2}", 20, "orion.flow_runs", null],
        ["trace detail", 10, "orion.flow_runs", null]
      ])
      expect(stored.find((l) => l.message.startsWith("failed"))!.message).toContain("Error: boom")
      expect(stored.every((l) => l.flow_run_id === flowRunId && l.timestamp instanceof Date)).toBe(true)
      expect((yield* allLogs).length).toBe(7) // unannotated and malformed lines were ignored
      expect(calls).toEqual([7])
    }))
  })

  it.live("many lines go in few createLogs calls, each at most the batch size", () => {
    const calls: Array<number> = []
    return provide(calls, Effect.gen(function*() {
      const { flowRunId } = yield* newRun
      yield* withRunLogs({ batchInterval: "1 hour", batchSize: 500 }, (logs) => Effect.gen(function*() {
        for (let i = 0; i < 1200; i++) logs.unsafeLog(line(flowRunId, `sync ${i}`))
        yield* logs.flush
        expect(calls).toEqual([500, 500, 200])
        calls.length = 0
        yield* Effect.forEach(Array.from({ length: 1200 }, (_, i) => i), (i) => Effect.log(`effect ${i}`), { discard: true }).pipe(
          Effect.annotateLogs("orion.flow_run_id", flowRunId),
          Effect.provide(loggerLayer)
        )
        yield* logs.flush
      }))
      expect(calls.length).toBeLessThanOrEqual(5)
      expect(calls.every((n) => n <= 500)).toBe(true)
      expect(calls.reduce((a, b) => a + b, 0)).toBe(1200)
      expect((yield* logsOf(flowRunId)).length).toBe(2400)
    }))
  })

  it.live("the interval ships waiting lines without a flush", () => {
    const calls: Array<number> = []
    return provide(calls, Effect.gen(function*() {
      const { flowRunId } = yield* newRun
      yield* withRunLogs({ batchInterval: "100 millis" }, (logs) => Effect.gen(function*() {
        logs.unsafeLog(line(flowRunId, "a"))
        yield* logs.log(line(flowRunId, "b"))
        const stored = yield* logsOf(flowRunId).pipe(
          Effect.delay("50 millis"),
          Effect.repeat({ until: (ls) => ls.length === 2 }),
          Effect.timeout("5 seconds")
        )
        expect(stored.map((l) => l.message).sort()).toEqual(["a", "b"])
      }))
      expect(calls).toEqual([2])
    }))
  })

  it.live("closing the layer's scope stores what is still waiting", () => {
    const calls: Array<number> = []
    return provide(calls, Effect.gen(function*() {
      const { flowRunId } = yield* newRun
      yield* withRunLogs({ batchInterval: "1 hour" }, (logs) => Effect.sync(() => {
        for (let i = 0; i < 42; i++) logs.unsafeLog(line(flowRunId, `line ${i}`))
      }))
      expect(calls).toEqual([42])
      expect((yield* logsOf(flowRunId)).length).toBe(42)
    }))
  })

  it.live("a message over 1 MB is truncated with a marker, not rejected", () => {
    const calls: Array<number> = []
    return provide(calls, Effect.gen(function*() {
      const { flowRunId } = yield* newRun
      yield* withRunLogs({}, (logs) => Effect.zipRight(logs.log(line(flowRunId, "x".repeat(2_500_000))), logs.flush))
      const [stored] = yield* logsOf(flowRunId)
      expect(stored!.message.length).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH)
      expect(stored!.message).toMatch(/^x{900000}/)
      expect(stored!.message).toMatch(/\[truncated: 1500000 more characters; messages are limited to 1 MB\]$/)
    }))
  })
})

describe("run logs under pressure (a client that only takes logs)", () => {
  const runId = newUuid()

  it.live("loggerLayer adds the run logger and keeps the console logger", () =>
    Effect.gen(function*() {
      const before = yield* FiberRef.get(FiberRef.currentLoggers)
      const after = yield* FiberRef.get(FiberRef.currentLoggers).pipe(Effect.provide(loggerLayer))
      expect([...before]).toContain(Logger.defaultLogger)
      expect([...after]).toContain(Logger.defaultLogger)
      expect(HashSet.size(after)).toBe(HashSet.size(before) + 1)
    }).pipe(Effect.provide(layerWith({})), Effect.provide(logsOnlyClient(() => Effect.void))))

  it.live("unsafeLog never blocks while the client is stalled; over the bound the oldest lines are dropped and counted", () => {
    const batches: Array<ReadonlyArray<LogCreate>> = []
    const { warnings, layer } = captureWarnings()
    return Effect.gen(function*() {
      const started = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const client = logsOnlyClient((batch) => Effect.gen(function*() {
        yield* Deferred.succeed(started, undefined)
        yield* Deferred.await(release)
        batches.push(batch)
      }))
      yield* withRunLogs({ batchInterval: "1 hour", batchSize: 10, maxBufferedLines: 100 }, (logs) => Effect.gen(function*() {
        for (let i = 0; i < 10; i++) logs.unsafeLog(line(runId, `line ${i}`))
        yield* Deferred.await(started) // the first batch is now stuck in the client
        const t0 = performance.now()
        for (let i = 10; i < 1010; i++) logs.unsafeLog(line(runId, `line ${i}`))
        yield* Effect.forEach(Array.from({ length: 10 }), () => logs.log(line(runId, "via log")), { discard: true })
        expect(performance.now() - t0).toBeLessThan(250)
        yield* Deferred.succeed(release, undefined)
        yield* logs.flush
      })).pipe(Effect.provide(client))

      expect(batches[0]!.map((l) => l.message)).toEqual(Array.from({ length: 10 }, (_, i) => `line ${i}`))
      const rest = batches.slice(1).flat()
      const warning = rest.filter((l) => l.name === "orion.run_logs")
      expect(warning).toHaveLength(1)
      expect(warning[0]).toMatchObject({ level: 30, flow_run_id: runId, task_run_id: null })
      expect(warning[0]!.message).toMatch(/^910 earlier log lines were dropped/)
      expect(rest.filter((l) => l.name !== "orion.run_logs").map((l) => l.message))
        .toEqual([...Array.from({ length: 90 }, (_, i) => `line ${920 + i}`), ...Array.from({ length: 10 }, () => "via log")])
      expect(batches.every((b) => b.length <= 10)).toBe(true)
      expect(warnings.some((w) => w.startsWith("dropped 910 run log lines"))).toBe(true)
    }).pipe(Effect.provide(layer))
  })

  it.live("a client that never answers cannot hold up closing: the final flush gives up after closeTimeout", () => {
    const { warnings, layer } = captureWarnings()
    return Effect.gen(function*() {
      const t0 = performance.now()
      yield* withRunLogs({ batchInterval: "1 hour", batchSize: 5, closeTimeout: "200 millis" }, (logs) => Effect.sync(() => {
        for (let i = 0; i < 12; i++) logs.unsafeLog(line(runId, `line ${i}`))
      })).pipe(Effect.provide(logsOnlyClient(() => Effect.never)))
      expect(performance.now() - t0).toBeLessThan(3000)
      expect(warnings.some((w) => w.startsWith("gave up storing") && w.includes("at shutdown"))).toBe(true)
    }).pipe(Effect.provide(layer))
  })

  it.live("a stalled upload times out and is retried", () => {
    const batches: Array<number> = []
    let attempts = 0
    return withRunLogs({ batchInterval: "1 hour", sendTimeout: "100 millis", retryDelay: "10 millis" }, (logs) =>
      Effect.zipRight(logs.log(line(runId, "once")), logs.flush)).pipe(
      Effect.provide(logsOnlyClient((batch) => Effect.suspend(() => ++attempts === 1 ? Effect.never : Effect.sync(() => batches.push(batch.length))))),
      Effect.provide(quiet),
      Effect.tap(() => {
        expect(attempts).toBe(2)
        expect(batches).toEqual([1])
      })
    )
  })

  it.live("failed uploads are retried with back-off, then reported on the console and dropped; shipping goes on", () => {
    const { warnings, layer } = captureWarnings()
    const stored: Array<string> = []
    let attempts = 0
    let failing = 2
    const client = logsOnlyClient((batch) => Effect.suspend(() => {
      attempts++
      if (failing > 0) {
        failing--
        return Effect.fail(new OrionUnavailable({ message: "database is locked" }))
      }
      stored.push(...batch.map((l) => l.message))
      return Effect.void
    }))
    return withRunLogs({ batchInterval: "1 hour", retries: 3, retryDelay: "10 millis" }, (logs) => Effect.gen(function*() {
      yield* logs.log(line(runId, "survives two failures"))
      yield* logs.flush
      expect([attempts, stored]).toEqual([3, ["survives two failures"]])

      failing = 100
      attempts = 0
      yield* logs.log(line(runId, "lost"))
      yield* logs.log(line(runId, "lost too"))
      yield* logs.flush
      expect(attempts).toBe(4) // the first try and three retries
      expect(warnings.filter((w) => w.startsWith("Orion could not store 2 run log lines; they are dropped"))).toHaveLength(1)

      failing = 0
      yield* logs.log(line(runId, "after the outage"))
      yield* logs.flush
      expect(stored).toEqual(["survives two failures", "after the outage"])
    })).pipe(Effect.provide(client), Effect.provide(layer))
  })

  it.live("a not-found answer is not retried", () => {
    let attempts = 0
    const client = logsOnlyClient(() => Effect.suspend(() => {
      attempts++
      return Effect.fail(new ObjectNotFound({ thing: "Flow run", id: runId }))
    }))
    return withRunLogs({ batchInterval: "1 hour", retryDelay: "10 millis" }, (logs) => Effect.zipRight(logs.log(line(runId, "x")), logs.flush)).pipe(
      Effect.provide(client),
      Effect.provide(quiet),
      Effect.tap(() => expect(attempts).toBe(1))
    )
  })

  it.live("the configured layer takes ORION_LOGGING_BATCH_SIZE; an invalid setting falls back to its default with a warning", () => {
    const { warnings, layer } = captureWarnings()
    const batches: Array<number> = []
    const env = new Map([["ORION_LOGGING_BATCH_SIZE", "3"], ["ORION_LOGGING_BATCH_INTERVAL", "soon"]])
    return Effect.gen(function*() {
      const logs = yield* RunLogs
      for (let i = 0; i < 3; i++) logs.unsafeLog(line(runId, `line ${i}`))
      yield* Effect.sleep("20 millis").pipe(Effect.repeat({ until: () => batches.length > 0 }), Effect.timeout("2 seconds"))
      expect(batches).toEqual([3]) // sent on reaching the batch size, with no flush and a 2 s interval
      expect(warnings.some((w) => w.includes("ORION_LOGGING_BATCH_INTERVAL") && w.includes("using 2"))).toBe(true)
    }).pipe(
      Effect.provide(RunLogsModule.layer.pipe(Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(env))))),
      Effect.provide(logsOnlyClient((batch) => Effect.sync(() => batches.push(batch.length)))),
      Effect.provide(layer)
    )
  })
})
