/**
 * Run log shipping (spec §11 "Logs API"): log lines of flow and task runs are buffered in memory and a background
 * fiber stores them in batches through `OrionClient.createLogs`, so logging never blocks or fails a run.
 */
import { Context, Deferred, Duration, Effect, Exit, FiberRef, HashMap, Layer, Logger, LogLevel, Option, Schedule } from "effect"
import type { LogCreate } from "../src/domain/log.js"
import { newUuid } from "../src/domain/primitives.js"
import type { Uuid } from "../src/domain/primitives.js"
import { OrionClient } from "../src/client/orion-client.js"
import { loggingBatchInterval, loggingBatchSize } from "../src/settings.js"
import { renderMessage } from "../src/log-format.js"

export class RunLogs extends Context.Tag("orion/RunLogs")<RunLogs, {
  /** Enqueues one log line; never blocks, never fails (over the buffer bound the oldest lines are dropped and counted). */
  readonly unsafeLog: (entry: LogCreate) => void
  readonly log: (entry: LogCreate) => Effect.Effect<void>
  /** Sends everything enqueued so far and waits for it to be stored (or given up on). */
  readonly flush: Effect.Effect<void>
}>() {}

export interface RunLogsOptions {
  /** Time between uploads (default 2 s, `ORION_LOGGING_BATCH_INTERVAL`). */
  readonly batchInterval: Duration.DurationInput
  /** Lines per upload; this many waiting lines trigger an upload at once (default 500, `ORION_LOGGING_BATCH_SIZE`). */
  readonly batchSize: number
  /** Lines kept while uploads lag; beyond this the oldest are dropped (default 10,000). */
  readonly maxBufferedLines: number
  /** Characters kept while uploads lag (default 32 M). */
  readonly maxBufferedChars: number
  /** Retries of a failed upload, with exponential back-off from `retryDelay` (defaults 4 and 250 ms). */
  readonly retries: number
  readonly retryDelay: Duration.DurationInput
  /** Time allowed for one upload attempt (default 30 s). */
  readonly sendTimeout: Duration.DurationInput
  /** Time allowed for the final flush when the layer closes (default 10 s). */
  readonly closeTimeout: Duration.DurationInput
}

export const defaultOptions: RunLogsOptions = {
  batchInterval: "2 seconds",
  batchSize: 500,
  maxBufferedLines: 10_000,
  maxBufferedChars: 32_000_000,
  retries: 4,
  retryDelay: "250 millis",
  sendTimeout: "30 seconds",
  closeTimeout: "10 seconds"
}

/** The longest message stored (the `LogCreate` bound); longer ones are cut and marked. */
export const MAX_MESSAGE_LENGTH = 1_000_000
/** Characters per upload, so a batch of long lines stays a reasonable request. */
const MAX_BATCH_CHARS = 4_000_000

const truncate = (message: string): string => {
  if (message.length <= MAX_MESSAGE_LENGTH) return message
  const marker = ` … [truncated: ${message.length - MAX_MESSAGE_LENGTH} more characters; messages are limited to 1 MB]`
  let cut = MAX_MESSAGE_LENGTH - marker.length
  const code = message.charCodeAt(cut - 1)
  if (code >= 0xd800 && code <= 0xdbff) cut-- // keep surrogate pairs whole
  return message.slice(0, cut) + marker
}

/** Makes an entry storable: message within bounds, integer level in 0..100, a valid timestamp. */
const sanitize = (entry: LogCreate): LogCreate => {
  const level = Number.isInteger(entry.level) && entry.level >= 0 && entry.level <= 100 ? entry.level : Math.min(100, Math.max(0, Math.round(entry.level) || 0))
  const timestamp = entry.timestamp instanceof Date && !Number.isNaN(entry.timestamp.getTime()) ? entry.timestamp : new Date()
  const message = typeof entry.message === "string" ? truncate(entry.message) : truncate(String(entry.message))
  // Each line gets its id here, once: a batch retried after a lost answer is then stored once, not twice.
  return { ...entry, id: entry.id ?? newUuid(), level, timestamp, message }
}

interface Dropped { count: number; last: Date }

/**
 * A sleep that does not keep the process alive (an unref'd timer): the sender waiting for its next round must not stop
 * a finished script from reaching "beforeExit", where the runtime is disposed and the last lines are flushed.
 */
const idleSleep = (duration: Duration.Duration): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    const timer = setTimeout(() => resume(Effect.void), Duration.toMillis(duration))
    timer.unref()
    return Effect.sync(() => clearTimeout(timer))
  })

/** Builds the service; the sending fiber lives in the current scope, whose close flushes what is left. */
export const make = (options: Partial<RunLogsOptions> = {}) =>
  Effect.gen(function*() {
    const o = { ...defaultOptions, ...options }
    const client = yield* OrionClient
    const interval = Duration.decode(o.batchInterval)

    // A queue with a moving head, so taking a batch does not shift the array.
    let items: Array<LogCreate> = []
    let head = 0
    let chars = 0
    let enqueued = 0 // lines ever accepted; the buffer holds the last size() of them
    const dropped = new Map<Uuid, Dropped>()
    let droppedSinceReport = 0
    let waiters: Array<Deferred.Deferred<void>> = []
    let closed = false
    const wake = yield* Effect.makeLatch(false)
    const size = () => items.length - head

    const dropOldest = () => {
      const line = items[head]!
      items[head++] = undefined as never
      chars -= line.message.length
      droppedSinceReport++
      const d = dropped.get(line.flow_run_id)
      if (d) {
        d.count++
        d.last = line.timestamp
      } else dropped.set(line.flow_run_id, { count: 1, last: line.timestamp })
    }

    const compact = () => {
      if (head > 1024 && head * 2 > items.length) {
        items = items.slice(head)
        head = 0
      }
    }

    const unsafeLog = (entry: LogCreate): void => {
      if (closed) return
      const line = sanitize(entry)
      items.push(line)
      enqueued++
      chars += line.message.length
      while (size() > 1 && (size() > o.maxBufferedLines || chars > o.maxBufferedChars)) dropOldest()
      compact()
      if (size() >= o.batchSize) wake.unsafeOpen()
    }

    /** One warning line per flow run whose lines were dropped, counting them. */
    const dropWarnings = (): Array<LogCreate> => {
      const lines = [...dropped].map(([flowRunId, d]): LogCreate => ({
        id: newUuid(),
        name: "orion.run_logs",
        level: 30,
        message: `${d.count} earlier log line${d.count === 1 ? " was" : "s were"} dropped: the log buffer was full because logs could not be stored fast enough`,
        timestamp: d.last,
        flow_run_id: flowRunId,
        task_run_id: null
      }))
      dropped.clear()
      return lines
    }

    const takeBatch = (): Array<LogCreate> => {
      const batch: Array<LogCreate> = dropWarnings()
      let batchChars = 0
      while (size() > 0 && batch.length < o.batchSize && (batch.length === 0 || batchChars + items[head]!.message.length <= MAX_BATCH_CHARS)) {
        const line = items[head]!
        items[head++] = undefined as never
        chars -= line.message.length
        batchChars += line.message.length
        batch.push(line)
      }
      compact()
      return batch
    }

    const send = (batch: ReadonlyArray<LogCreate>) =>
      client.createLogs(batch).pipe(
        Effect.timeoutFail({ duration: o.sendTimeout, onTimeout: () => ({ _tag: "Timeout" as const, message: `no answer within ${Duration.format(o.sendTimeout)}` }) }),
        Effect.retry({
          schedule: Schedule.exponential(o.retryDelay),
          times: o.retries,
          while: (e) => e._tag !== "ObjectNotFound"
        }),
        Effect.catchAllCause((cause) =>
          Effect.logWarning(`Orion could not store ${batch.length} run log line${batch.length === 1 ? "" : "s"}; they are dropped`, cause))
      )

    /** Sends every line enqueued before it started, then releases the flushes that were waiting when it started. */
    const drain = Effect.suspend(() => {
      wake.unsafeClose()
      const released = waiters
      waiters = []
      return Effect.gen(function*() {
        if (droppedSinceReport > 0) {
          yield* Effect.logWarning(`dropped ${droppedSinceReport} run log line${droppedSinceReport === 1 ? "" : "s"}: the log buffer (${o.maxBufferedLines} lines) was full`)
          droppedSinceReport = 0
        }
        const target = enqueued
        while (size() > 0 && enqueued - size() < target) yield* send(takeBatch())
      }).pipe(Effect.ensuring(Effect.sync(() => released.forEach((d) => Deferred.unsafeDone(d, Exit.void)))))
    })

    const sender = Effect.raceFirst(wake.await, idleSleep(interval)).pipe(
      Effect.zipRight(Effect.catchAllCause(drain, (cause) => Effect.logWarning("run log shipping hit an unexpected error", cause))),
      Effect.forever,
      // Its own warnings must go to the console only, never back into run logs.
      Effect.locally(FiberRef.currentLogAnnotations, HashMap.empty())
    )
    yield* Effect.forkScoped(sender)

    const flush: Effect.Effect<void> = Effect.suspend(() => {
      if (closed) return Effect.void
      return Effect.flatMap(Deferred.make<void>(), (d) => {
        waiters.push(d)
        wake.unsafeOpen()
        return Deferred.await(d)
      })
    })

    yield* Effect.addFinalizer(() =>
      Effect.interruptible(flush).pipe(
        Effect.timeout(o.closeTimeout),
        Effect.catchAll(() => Effect.logWarning(`gave up storing run logs at shutdown after ${Duration.format(o.closeTimeout)} (${size()} lines still waiting)`)),
        Effect.ensuring(Effect.sync(() => { closed = true })),
        Effect.locally(FiberRef.currentLogAnnotations, HashMap.empty())
      ))

    return RunLogs.of({ unsafeLog, log: (entry) => Effect.sync(() => unsafeLog(entry)), flush })
  })

/** Reads a setting, falling back to its default with a warning when it is set to something invalid. */
const setting = <A>(config: Effect.Effect<A, unknown>, fallback: A) =>
  Effect.catchAll(config, (e) => Effect.as(Effect.logWarning(`${String(e)}; using ${String(fallback)}`), fallback))

/** Run logs with explicit options (tests, embedding). */
export const layerWith = (options: Partial<RunLogsOptions>): Layer.Layer<RunLogs, never, OrionClient> => Layer.scoped(RunLogs, make(options))

/** Run logs with `ORION_LOGGING_BATCH_INTERVAL` and `ORION_LOGGING_BATCH_SIZE`. */
export const layer: Layer.Layer<RunLogs, never, OrionClient> = Layer.scoped(RunLogs, Effect.gen(function*() {
  const seconds = yield* setting(loggingBatchInterval, 2)
  const batchSize = yield* setting(loggingBatchSize, 500)
  return yield* make({ batchInterval: Duration.seconds(seconds), batchSize, maxBufferedLines: Math.max(defaultOptions.maxBufferedLines, batchSize * 4) })
}))

// ---------------------------------------------------------------------------------------------------------------
// The logger: Effect.log* inside a run becomes a run log.

const levels: Record<LogLevel.LogLevel["_tag"], number> = { All: 10, Trace: 10, Debug: 10, Info: 20, Warning: 30, Error: 40, Fatal: 50, None: 20 }

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const uuidAnnotation = (annotations: HashMap.HashMap<string, unknown>, key: string): Uuid | null => {
  const value = Option.getOrUndefined(HashMap.get(annotations, key))
  return typeof value === "string" && uuidPattern.test(value) ? (value.toLowerCase() as Uuid) : null
}

/** A logger that turns log lines annotated with "orion.flow_run_id" (and "orion.task_run_id", "orion.logger") into run logs. */
export const runLogger = (logs: RunLogs["Type"]): Logger.Logger<unknown, void> =>
  Logger.make(({ annotations, cause, date, logLevel, message }) => {
    const flowRunId = uuidAnnotation(annotations, "orion.flow_run_id")
    if (flowRunId === null) return
    const taskRunId = uuidAnnotation(annotations, "orion.task_run_id")
    const name = Option.getOrUndefined(HashMap.get(annotations, "orion.logger"))
    logs.unsafeLog({
      name: typeof name === "string" && name !== "" ? name : taskRunId === null ? "orion.flow_runs" : "orion.task_runs",
      level: levels[logLevel._tag],
      message: renderMessage(message, cause),
      timestamp: date,
      flow_run_id: flowRunId,
      task_run_id: taskRunId
    })
  })

/** Adds `runLogger` next to the loggers already installed (the console logger stays). */
export const loggerLayer: Layer.Layer<never, never, RunLogs> = Layer.unwrapEffect(Effect.map(RunLogs, (logs) => Logger.add(runLogger(logs))))
