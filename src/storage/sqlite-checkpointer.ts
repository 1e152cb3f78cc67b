/**
 * Moves SQLite's WAL checkpoints off the writer's thread: a worker thread with its own connection copies committed
 * WAL pages into the database file every few hundred milliseconds (PASSIVE: it never blocks a writer or a reader),
 * so a commit on the main thread never pays for a checkpoint. The writer's own automatic checkpoint stays on at a
 * high mark as a safety net, should the worker fall behind or stop.
 */
import { createRequire } from "node:module"
import { Worker } from "node:worker_threads"
import { Effect, type Scope } from "effect"

/** WAL pages after which the writer checkpoints itself (only reached if the worker cannot keep up). */
export const safetyNetPages = 10_000

/** The worker's code: open the file, checkpoint on a timer while there is something to copy, close on request. */
const workerSource = `
const { parentPort, workerData } = require("node:worker_threads")
const Sqlite = require(workerData.driver)
const db = new Sqlite(workerData.filename)
db.pragma("busy_timeout = 1000")
const checkpoint = () => {
  try {
    const [row] = db.pragma("wal_checkpoint(PASSIVE)")
    return row
  } catch (e) {
    return { busy: 1, log: -1, checkpointed: -1, error: String(e && e.message || e) }
  }
}
const timer = setInterval(checkpoint, workerData.everyMs)
parentPort.on("message", (m) => {
  if (m === "checkpoint") parentPort.postMessage(checkpoint())
  if (m === "close") {
    clearInterval(timer)
    checkpoint()
    db.close()
    parentPort.close()
  }
})
`

/** What one checkpoint did: WAL frames in the log, and how many of them are now in the database file. */
export interface CheckpointResult {
  readonly busy: number
  readonly log: number
  readonly checkpointed: number
}

export interface Checkpointer {
  /** Runs one checkpoint now, in the worker (for tests and for callers that want the file up to date). */
  readonly checkpoint: Effect.Effect<CheckpointResult>
}

/** Starts the checkpointer for `filename` (a WAL-mode database file), stopped — with a last checkpoint — with the scope. */
export const start = (filename: string, everyMs = 250): Effect.Effect<Checkpointer, never, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(
      Effect.sync(() => {
        const driver = createRequire(import.meta.url).resolve("better-sqlite3")
        const worker = new Worker(workerSource, { eval: true, workerData: { filename, driver, everyMs } })
        worker.unref()
        // A failing checkpointer only loses the speed-up: the writer's own checkpoints take over.
        worker.on("error", () => undefined)
        const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()))
        return { worker, exited }
      }),
      ({ exited, worker }) =>
        Effect.async<void>((resume) => {
          const timer = setTimeout(() => void worker.terminate().finally(() => resume(Effect.void)), 2_000)
          void exited.then(() => {
            clearTimeout(timer)
            resume(Effect.void)
          })
          worker.postMessage("close")
        })
    ),
    ({ worker }): Checkpointer => ({
      checkpoint: Effect.async<CheckpointResult>((resume) => {
        worker.once("message", (result: CheckpointResult) => resume(Effect.succeed(result)))
        worker.postMessage("checkpoint")
      })
    })
  )
