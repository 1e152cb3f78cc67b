/**
 * How a worker thread finds a task again, since functions cannot be sent to it: `task()` records the module that
 * defined it (from the call stack) and, inside an Orion worker thread only, registers itself by name and task key.
 */
import * as path from "node:path"
import { pathToFileURL } from "node:url"

/** A task as the registry keeps it: enough for a worker thread to run its body. */
export interface RegisteredTask {
  readonly name: string
  readonly taskKey: string
  readonly body: (...args: Array<any>) => unknown
}

interface Registry {
  /** Set by the worker entry before it imports any user module: this thread runs parallel task bodies. */
  worker: boolean
  readonly byName: Map<string, Array<RegisteredTask>>
}

// One per thread, shared by every copy of this module the thread may load (e.g. "orion" and a relative import).
const slot = Symbol.for("orion/task-registry")
const registry = (): Registry => {
  const holder = globalThis as { [slot]?: Registry }
  return holder[slot] ??= { worker: false, byName: new Map() }
}

/** Marks this thread as an Orion task worker: tasks register themselves, and flows refuse to start. */
export const markTaskWorkerThread = (): void => {
  registry().worker = true
}

/** True in a worker thread of a `parallel()` task runner. */
export const inTaskWorkerThread = (): boolean => registry().worker

/** Registers a task (only in task worker threads: the main thread never looks tasks up, and keeps no references). */
export const registerTask = (task: RegisteredTask): void => {
  const { worker, byName } = registry()
  if (!worker) return
  const same = byName.get(task.name)
  if (same === undefined) byName.set(task.name, [task])
  else same.push(task)
}

/**
 * The task of that name and key. Under different module loaders the same source can compile to different text (so a
 * different key): a task with a unique name is found by its name alone.
 */
export const findTask = (name: string, taskKey: string): RegisteredTask | undefined => {
  const candidates = registry().byName.get(name) ?? []
  if (candidates.length === 1) return candidates[0]
  const matching = candidates.filter((t) => t.taskKey === taskKey)
  return matching.length === 1 ? matching[0] : undefined
}

/** How many tasks of that name this thread has registered (to explain a failed lookup). */
export const countTasks = (name: string): number => registry().byName.get(name)?.length ?? 0

/**
 * The file URL of the module that called `caller` (the frame just above it), read lazily: the stack is captured now,
 * cheaply, and formatted only if a worker thread needs the module.
 */
export const callerModule = (caller: Function): (() => string | undefined) => {
  const holder: { stack?: string } = {}
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 1
  try {
    Error.captureStackTrace(holder, caller)
  } finally {
    Error.stackTraceLimit = limit
  }
  let known: { readonly module: string | undefined } | undefined
  return () => (known ??= { module: moduleOfStack(holder.stack) }).module
}

// "    at fn (file:///a/b.ts:1:2)", "    at /a/b.ts:1:2", "    at async <anonymous> (C:\a\b.ts:1:2)"
const frameLocation = /\(?((?:file:\/\/|\/|[A-Za-z]:[\\/])[^()]*?)(?:\?[^:()]*)?:\d+:\d+\)?\s*$/

/** The file URL in the first frame of a stack trace, if it names a file. */
export const moduleOfStack = (stack: string | undefined): string | undefined => {
  const frame = stack?.split("\n").find((line) => line.trimStart().startsWith("at "))
  const location = frame === undefined ? undefined : frameLocation.exec(frame)?.[1]
  return location === undefined ? undefined : toModuleUrl(location)
}

/** A module given as a file URL, a URL object or an absolute path, as a file URL string. */
export const toModuleUrl = (module: string | URL): string | undefined => {
  if (module instanceof URL) return module.href
  if (module.startsWith("file://")) return module
  return path.isAbsolute(module) || path.win32.isAbsolute(module) ? pathToFileURL(module).href : undefined
}
