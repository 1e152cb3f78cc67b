/**
 * A scoped pool of worker threads for the parallel task runner: jobs wait in a queue, each worker runs one at a time,
 * a worker that dies (or ignores an abort) is replaced by a new one, and closing the scope terminates them all.
 */
import { fileURLToPath } from "node:url"
import { Worker } from "node:worker_threads"
import { Duration, Effect, Exit, type Scope } from "effect"
import type { LogCreate } from "../src/domain/log.js"
import { cloneableHint, describeError, type FromWorker, type ToWorker, type WorkerRunInfo } from "./worker-protocol.js"

export interface WorkerPoolOptions {
  /** How many worker threads at most (started as jobs arrive). */
  readonly size: number
  /** How long an aborted body may take to end before its worker is terminated and replaced (default 1 s). */
  readonly abortGrace?: Duration.DurationInput
}

/** One task body to run on a worker thread. */
export interface WorkerJob {
  /** The file URL of the module that defines the task. */
  readonly module: string
  readonly task: string
  readonly key: string
  readonly args: ReadonlyArray<unknown>
  readonly run: WorkerRunInfo
  /** Receives the body's log lines. */
  readonly onLog: (entry: LogCreate) => void
  /** Why the job is being aborted, asked when it is interrupted (the run's timeout, or a cancellation). */
  readonly abortReason: () => string
}

export interface WorkerPool {
  readonly size: number
  /** Runs the body on a free worker (waiting for one); interrupting it aborts the body. Fails with a message saying what went wrong. */
  readonly run: (job: WorkerJob) => Effect.Effect<unknown, Error>
}

// The worker starts from plain JS that registers tsx when Orion itself runs from TypeScript (a checkout), or when the
// script that started the process is TypeScript, whose task modules the workers will import (see worker-bootstrap.mjs).
const here = fileURLToPath(import.meta.url)
const orionFromSource = here.endsWith(".ts")
const typescript = orionFromSource || /\.[cm]?tsx?$/.test(process.argv[1] ?? "")
const bootstrap = new URL("./worker-bootstrap.mjs", import.meta.url)
const entry = new URL(`./worker-entry${orionFromSource ? ".ts" : ".js"}`, import.meta.url).href

/** Makes a pool alive for the current scope. */
export const make = (options: WorkerPoolOptions): Effect.Effect<WorkerPool, never, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(Effect.sync(() => new Pool(Math.max(1, Math.floor(options.size)), Duration.toMillis(Duration.decode(options.abortGrace ?? "1 second")))), (pool) =>
      Effect.promise(() => pool.close())),
    (pool): WorkerPool => ({
      size: pool.size,
      run: (job) =>
        Effect.async<unknown, Error>((resume) => {
          const ticket = pool.submit(job, (exit) => resume(exit))
          return Effect.sync(() => pool.cancel(ticket))
        })
    })
  )

interface Ticket {
  readonly id: number
  readonly job: WorkerJob
  readonly settle: (exit: Exit.Exit<unknown, Error>) => void
  /** queued → running → done; or aborting, once interrupted while running (its worker is not free until the body ends). */
  state: "queued" | "running" | "aborting" | "done"
}

interface Slot {
  readonly worker: Worker
  ticket: Ticket | undefined
  lastError: unknown
  graceTimer: ReturnType<typeof setTimeout> | undefined
  /** Called when the worker's job ends or the worker exits (closing waits on aborted bodies this way). */
  onFree: (() => void) | undefined
}

class Pool {
  private readonly slots = new Set<Slot>()
  private readonly idle: Array<Slot> = []
  private readonly queue: Array<Ticket> = []
  private nextId = 1
  private closed = false

  constructor(readonly size: number, private readonly abortGraceMillis: number) {}

  submit(job: WorkerJob, settle: Ticket["settle"]): Ticket {
    const ticket: Ticket = { id: this.nextId++, job, settle, state: "queued" }
    if (this.closed) {
      ticket.state = "done"
      settle(Exit.fail(new Error(`Task '${job.task}' was not run: its flow run's worker threads have been shut down.`)))
      return ticket
    }
    this.queue.push(ticket)
    this.dispatch()
    return ticket
  }

  /** The job's fiber was interrupted: drop it from the queue, or abort its body (terminating the worker if it lingers). */
  cancel(ticket: Ticket): void {
    if (ticket.state === "queued") {
      ticket.state = "done"
      const at = this.queue.indexOf(ticket)
      if (at >= 0) this.queue.splice(at, 1)
      return
    }
    if (ticket.state !== "running") return
    ticket.state = "aborting"
    const slot = [...this.slots].find((s) => s.ticket === ticket)
    if (slot === undefined) return
    this.post(slot, { _tag: "Abort", id: ticket.id, reason: ticket.job.abortReason() })
    slot.graceTimer = setTimeout(() => void slot.worker.terminate(), this.abortGraceMillis)
    slot.graceTimer.unref()
  }

  /** Terminates every worker; bodies being aborted (a cancelled flow run) first get their grace period to end. */
  async close(): Promise<void> {
    this.closed = true
    for (const ticket of this.queue.splice(0)) {
      ticket.state = "done"
      ticket.settle(Exit.fail(new Error(`Task '${ticket.job.task}' was not run: its flow run ended first.`)))
    }
    await Promise.all([...this.slots].map(async (slot) => {
      if (slot.ticket?.state === "aborting") await new Promise<void>((resolve) => (slot.onFree = resolve))
      if (slot.graceTimer !== undefined) clearTimeout(slot.graceTimer)
      await slot.worker.terminate()
    }))
  }

  /** Starts queued jobs on idle workers, starting new workers up to the pool's size. */
  private dispatch(): void {
    while (this.queue.length > 0 && !this.closed) {
      const slot = this.idle.pop() ?? (this.slots.size < this.size ? this.spawn() : undefined)
      if (slot === undefined) return
      this.start(slot, this.queue.shift()!)
    }
  }

  private start(slot: Slot, ticket: Ticket): void {
    const { job } = ticket
    try {
      slot.worker.postMessage({ _tag: "Run", id: ticket.id, module: job.module, task: job.task, key: job.key, args: job.args, run: job.run } satisfies ToWorker)
    } catch (e) {
      this.idle.push(slot)
      ticket.state = "done"
      ticket.settle(Exit.fail(new Error(`The arguments of task '${job.task}' cannot be sent to a worker thread: ${describeError(e)}. ${cloneableHint}`)))
      return
    }
    ticket.state = "running"
    slot.ticket = ticket
  }

  private post(slot: Slot, message: ToWorker): void {
    try {
      slot.worker.postMessage(message)
    } catch {
      void slot.worker.terminate()
    }
  }

  private spawn(): Slot {
    const worker = new Worker(bootstrap, { workerData: { typescript, entry }, name: "orion-task-worker" })
    const slot: Slot = { worker, ticket: undefined, lastError: undefined, graceTimer: undefined, onFree: undefined }
    worker.on("message", (message: FromWorker) => this.received(slot, message))
    worker.on("messageerror", (error) => this.finish(slot, Exit.fail(new Error(`The result of task '${slot.ticket?.job.task}' could not be received from its worker thread: ${describeError(error)}`))))
    worker.on("error", (error) => {
      slot.lastError = error
    })
    worker.on("exit", (code) => this.exited(slot, code))
    this.slots.add(slot)
    return slot
  }

  private received(slot: Slot, message: FromWorker): void {
    const ticket = slot.ticket
    if (ticket === undefined || ticket.id !== message.id) return
    switch (message._tag) {
      case "Log":
        ticket.job.onLog(message.entry)
        return
      case "Done":
        return this.finish(slot, Exit.succeed(message.value))
      case "Failed":
        return this.finish(slot, Exit.fail(new Error(message.message)))
    }
  }

  /** The worker's job ended: report it (unless it was aborted) and give the worker the next job. */
  private finish(slot: Slot, exit: Exit.Exit<unknown, Error>): void {
    const ticket = slot.ticket
    if (ticket === undefined) return
    slot.ticket = undefined
    if (slot.graceTimer !== undefined) clearTimeout(slot.graceTimer)
    slot.graceTimer = undefined
    if (ticket.state === "running") ticket.settle(exit)
    ticket.state = "done"
    slot.onFree?.()
    if (this.closed) return
    this.idle.push(slot)
    this.dispatch()
  }

  /** A worker ended (crashed, exited, or terminated after ignoring an abort): its job fails, a new worker takes its place. */
  private exited(slot: Slot, code: number): void {
    this.slots.delete(slot)
    const at = this.idle.indexOf(slot)
    if (at >= 0) this.idle.splice(at, 1)
    if (slot.graceTimer !== undefined) clearTimeout(slot.graceTimer)
    const ticket = slot.ticket
    slot.ticket = undefined
    if (ticket !== undefined && ticket.state === "running") {
      const why = slot.lastError !== undefined ? `: ${describeError(slot.lastError)}` : ` (exit code ${code})`
      ticket.settle(Exit.fail(new Error(`The worker thread running task '${ticket.job.task}' stopped${why}; a new worker thread takes its place.`)))
    }
    if (ticket !== undefined) ticket.state = "done"
    slot.onFree?.()
    this.dispatch()
  }
}
