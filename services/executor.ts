/**
 * Where an agent runs flow runs: each in a child process of its own (the executor entry, which does what
 * `orion flow-run execute <id>` does). One warm executor — started ahead, Orion loaded, services open — is kept ready
 * and handed the next run over IPC, then replaced at once; without one (or while it is not up) a cold one is started.
 */
import { type ChildProcess, fork } from "node:child_process"
import { createRequire } from "node:module"
import { fileURLToPath, pathToFileURL } from "node:url"
import { Effect, type Scope } from "effect"

/** How an executor process ended. */
export interface ExecutorExit {
  readonly code: number | null
  readonly signal: string | null
  /** The end of what it wrote on stderr (it is also passed through to the agent's stderr). */
  readonly stderrTail: string
  /** It could not be started at all. */
  readonly spawnError?: string
}

export interface Executors {
  /** Runs flow run `id` in an executor process; ends when that process exits. */
  readonly submit: (id: string) => Effect.Effect<ExecutorExit>
}

export interface ExecutorOptions {
  /** Keep a warm executor ready (default true). */
  readonly warm: boolean
  /** The executor processes' environment (the Orion settings they run with). */
  readonly env: NodeJS.ProcessEnv
  /** A warm executor that could not start, or died while waiting. */
  readonly onError: (message: string) => void
}

/** Orion runs from its TypeScript sources: executor processes load the entry (and flows) through tsx. */
const fromSource = import.meta.url.endsWith(".ts")
const entry = fileURLToPath(new URL(`./executor-entry${fromSource ? ".ts" : ".js"}`, import.meta.url))
const execArgv = fromSource ? ["--import", pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href] : []
const TAIL_BYTES = 4096

/** A started executor process and its exit. */
interface Child {
  readonly process: ChildProcess
  readonly exited: Promise<ExecutorExit>
  done: boolean
}

const start = (args: ReadonlyArray<string>, env: NodeJS.ProcessEnv): Child => {
  const child = fork(entry, [...args], { execArgv, env, stdio: ["ignore", "inherit", "pipe", "ipc"], serialization: "json" })
  let tail = ""
  child.stderr?.on("data", (chunk: Buffer) => {
    process.stderr.write(chunk)
    tail = (tail + chunk.toString("utf8")).slice(-TAIL_BYTES)
  })
  const record: Child = {
    process: child,
    done: false,
    exited: new Promise<ExecutorExit>((resolve) => {
      child.once("error", (e) => {
        record.done = true
        resolve({ code: null, signal: null, stderrTail: tail, spawnError: e.message })
      })
      child.once("exit", (code, signal) => {
        record.done = true
        // stderr may still hold its last lines: read them before answering
        if (child.stderr === null || child.stderr.readableEnded) resolve({ code, signal, stderrTail: tail })
        else child.stderr.once("close", () => resolve({ code, signal, stderrTail: tail }))
      })
    })
  }
  return record
}

/** The executors of one agent, for its scope: the warm one is stopped when the scope closes (running ones finish). */
export const make = (options: ExecutorOptions): Effect.Effect<Executors, never, Scope.Scope> =>
  Effect.gen(function*() {
    let warm: Child | undefined
    let closed = false
    let retry: NodeJS.Timeout | undefined
    let failures = 0

    const prepare = () => {
      if (!options.warm || closed || warm !== undefined) return
      const child = start([], options.env)
      warm = child
      child.process.on("message", () => { failures = 0 })
      void child.exited.then((exit) => {
        if (warm !== child) return
        // died while waiting: say why, and start another after a pause that grows with repeated failures
        warm = undefined
        if (closed) return
        failures++
        options.onError(`The warm executor exited while waiting (${describeExit(exit)}); starting another.`)
        retry = setTimeout(prepare, Math.min(30_000, 500 * 2 ** Math.min(failures, 6)))
      })
    }

    yield* Effect.addFinalizer(() => Effect.sync(() => {
      closed = true
      if (retry !== undefined) clearTimeout(retry)
      const idle = warm
      warm = undefined
      if (idle !== undefined && !idle.done) idle.process.kill("SIGTERM")
    }))
    prepare()

    /** Hands `id` to the warm executor, or starts a cold one when there is none ready to take it. */
    const launch = (id: string): Promise<ExecutorExit> => {
      const child = warm
      warm = undefined
      prepare()
      if (child === undefined || child.done || !child.process.connected) return start([id], options.env).exited
      return new Promise<ExecutorExit>((resolve) => {
        child.process.send({ run: id }, (error) => {
          if (error === null || error === undefined) return void child.exited.then(resolve)
          // it went away between being picked and being told: the run has not started, so a cold one takes it
          child.process.kill("SIGTERM")
          void start([id], options.env).exited.then(resolve)
        })
      })
    }

    return { submit: (id) => Effect.promise(() => launch(id)) }
  })

/** One phrase for how an executor process ended. */
export const describeExit = (exit: ExecutorExit): string => {
  if (exit.spawnError !== undefined) return `it could not be started: ${exit.spawnError}`
  const how = exit.signal !== null ? `killed by ${exit.signal}` : `exit code ${exit.code}`
  const last = exit.stderrTail.trim().split("\n").filter((l) => l.trim() !== "").slice(-3).join(" | ")
  return last === "" ? how : `${how}: ${last}`
}
