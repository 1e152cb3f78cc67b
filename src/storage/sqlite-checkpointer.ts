/**
 * Moves SQLite's WAL checkpoints off the writer's thread: a worker thread with its own connection copies committed
 * WAL pages into the database file every 250 ms (PASSIVE: it never blocks a writer or a reader), so a commit on the
 * main thread never pays for a checkpoint. The writer's own automatic checkpoint stays on at a high mark as a safety
 * net, should the worker fall behind or stop.
 *
 * A busy writer never lets a PASSIVE checkpoint finish the log (it commits while the worker copies), and SQLite starts
 * the WAL over only once every frame is in the database file; left alone, the log grew to the safety net and the
 * writer's own checkpoint — copying what the worker had not, and two `fsync`s of megabytes — stalled a commit for
 * 50–60 ms every ~400 commits (a third of all commit time in a sequential flow). So the worker catches up with a few
 * PASSIVE rounds, each shorter than the last, and then copies the last few frames with a FULL checkpoint, which holds
 * the write lock for that short copy and its two small `fsync`s (1–7 ms); the writer's next transaction then starts
 * the WAL over. A sequential flow's commit went from 207–214 to 161–168 µs on average (BEGIN from 16 to 25–33 µs).
 */
import { createRequire } from "node:module"
import { Worker } from "node:worker_threads"
import { Effect, type Scope } from "effect"

/** WAL pages after which the writer checkpoints itself (only reached if the worker cannot keep up: a sequential flow
 * writes ~9,000 in the worker's 250 ms). */
export const safetyNetPages = 20_000

/** How long after the database opens the worker starts: a process that is done sooner never starts it. */
export const startAfterMs = 1_000

/** A PASSIVE round shorter than this leaves little behind it: the worker then finishes the log under the write lock. */
const finishAfterMs = 2
/** How often the finishing checkpoint tries for the write lock, 0.2 ms apart, before leaving it to the next round. */
const finishAttempts = 25

/** The worker's code: open the file, checkpoint on a timer while there is something to copy, close on request. */
const workerSource = `
const { parentPort, workerData } = require("node:worker_threads")
const Sqlite = require(workerData.driver)
const db = new Sqlite(workerData.filename)
db.pragma("busy_timeout = 1000")
const run = (mode) => {
  try {
    const [row] = db.pragma("wal_checkpoint(" + mode + ")")
    return row
  } catch (e) {
    return { busy: 1, log: -1, checkpointed: -1, error: String(e && e.message || e) }
  }
}
let finished = 0
const pause = new Int32Array(new SharedArrayBuffer(4))
const checkpoint = () => {
  // A PASSIVE round copies the frames committed before it began; a busy writer commits more meanwhile, so each round
  // is shorter than the last. Rounds go on while they take long (up to four).
  let began = performance.now()
  let row = run("PASSIVE")
  for (let round = 0; round < 4 && row.log > 0 && performance.now() - began > workerData.finishAfterMs; round++) {
    began = performance.now()
    row = run("PASSIVE")
  }
  if (row.log <= 0 || row.log === finished) return row
  // Then the last few frames under the write lock, waiting at most a few ms for it (or for readers of older
  // snapshots): the log is then wholly in the database file, and the next write transaction starts it over.
  // SQLite's own busy wait sleeps whole milliseconds: try without it, between two of the writer's transactions.
  db.pragma("busy_timeout = 0")
  let full = run("FULL")
  for (let attempt = 0; attempt < workerData.finishAttempts && full.busy !== 0; attempt++) {
    Atomics.wait(pause, 0, 0, 0.2)
    full = run("FULL")
  }
  db.pragma("busy_timeout = 1000")
  if (full.busy === 0 && full.log >= 0) finished = full.log
  return full.log >= 0 ? full : row
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
  /** Whether the worker has been started (it starts `startAfterMs` after `start`, or on the first `checkpoint`). */
  readonly started: () => boolean
}

/**
 * Starts the checkpointer for `filename` (a WAL-mode database file), stopped — with a last checkpoint — with the scope.
 * The worker thread itself starts `startAfterMs` later (or at the first `checkpoint`): a short script ends before it
 * and never pays for a thread; SQLite checkpoints its WAL when the script's connection closes.
 */
export const start = (filename: string, everyMs = 250, startAfterMs = 0): Effect.Effect<Checkpointer, never, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(
      Effect.sync(() => {
        let running: { readonly worker: Worker; readonly exited: Promise<void> } | undefined
        const launch = () => {
          if (running !== undefined) return running
          clearTimeout(timer)
          const driver = createRequire(import.meta.url).resolve("better-sqlite3")
          const worker = new Worker(workerSource, { eval: true, workerData: { filename, driver, everyMs, finishAfterMs, finishAttempts } })
          worker.unref()
          // A failing checkpointer only loses the speed-up: the writer's own checkpoints take over.
          worker.on("error", () => undefined)
          running = { worker, exited: new Promise<void>((resolve) => worker.once("exit", () => resolve())) }
          return running
        }
        const timer = setTimeout(launch, startAfterMs)
        timer.unref()
        if (startAfterMs <= 0) launch()
        return { launch, stop: () => clearTimeout(timer), running: () => running }
      }),
      ({ running, stop }) =>
        Effect.async<void>((resume) => {
          stop()
          const it = running()
          if (it === undefined) return resume(Effect.void)
          const timer = setTimeout(() => void it.worker.terminate().finally(() => resume(Effect.void)), 2_000)
          void it.exited.then(() => {
            clearTimeout(timer)
            resume(Effect.void)
          })
          it.worker.postMessage("close")
        })
    ),
    ({ launch, running }): Checkpointer => ({
      checkpoint: Effect.async<CheckpointResult>((resume) => {
        const { worker } = launch()
        worker.once("message", (result: CheckpointResult) => resume(Effect.succeed(result)))
        worker.postMessage("checkpoint")
      }),
      started: () => running() !== undefined
    })
  )
