/**
 * The messages between the parallel task runner's pool (main thread) and its worker threads: run a task body, abort
 * it; a log line, the outcome. Every message crosses by structured clone.
 */
import type { LogCreate } from "../src/domain/log.js"

/** Which run a body executes for: ids and names for its context and its log lines. */
export interface WorkerRunInfo {
  readonly flowRunId: string
  readonly flowName: string
  readonly taskRunId: string
  readonly taskName: string
  readonly tags: ReadonlyArray<string>
  /** The task run's span, when tracing: the worker's span of the body continues its trace. */
  readonly trace?: { readonly traceId: string; readonly spanId: string; readonly sampled: boolean }
}

/** Main → worker: import `module`, find the task `task` (with key `key`) there and run its body on `args`. */
export interface RunMessage {
  readonly _tag: "Run"
  readonly id: number
  readonly module: string
  readonly task: string
  readonly key: string
  readonly args: ReadonlyArray<unknown>
  readonly run: WorkerRunInfo
}

/** Main → worker: the run was cancelled or timed out; fire the body's AbortSignal (and interrupt an Effect body). */
export interface AbortMessage {
  readonly _tag: "Abort"
  readonly id: number
  readonly reason: string
}

export type ToWorker = RunMessage | AbortMessage

/** Worker → main: a log line of the body (getRunLogger() or Effect.log). */
export interface LogMessage {
  readonly _tag: "Log"
  readonly id: number
  readonly entry: LogCreate
}

/** Worker → main: the body returned this value. */
export interface DoneMessage {
  readonly _tag: "Done"
  readonly id: number
  readonly value: unknown
}

/** Worker → main: the body failed, or the task could not be loaded or its result not sent; `message` says which. */
export interface FailedMessage {
  readonly _tag: "Failed"
  readonly id: number
  readonly message: string
  readonly stack?: string | undefined
}

export type FromWorker = LogMessage | DoneMessage | FailedMessage

/** What `DataCloneError` and friends say, in a sentence. */
export const describeError = (e: unknown): string =>
  e instanceof Error ? e.message : typeof e === "string" ? e : String(e)

/** What structured clone accepts, for the messages that say something could not cross. */
export const cloneableHint =
  "Tasks on parallel() take and return structured-cloneable data: primitives, plain objects and arrays, Dates, Maps, Sets, typed arrays, Errors; not functions, symbols or class instances with methods."
