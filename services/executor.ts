/**
 * Where an agent runs flow runs: each in a child process of its own (the executor entry, which does what
 * `orion flow-run execute <id>` does). Warm executors — started ahead, Orion loaded, services open — are kept ready;
 * the oldest is handed the next run over IPC and replaced at once; with none ready a cold one is started.
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
  /**
   * Hands flow run `id` to an executor process at once (a warm one, or a cold one started now); the effect it answers
   * waits for that process's exit. Once handed over, the run goes on whatever becomes of the agent.
   */
  readonly submit: (id: string) => Effect.Effect<Effect.Effect<ExecutorExit>>
}

export interface ExecutorOptions {
  /** Warm executors kept ready (0: none, every run starts a cold one). */
  readonly warm: number
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
  /** Whether it listens for a run over IPC yet (a message sent before would be lost). */
  listens: boolean
  done: boolean
}

const start = (args: ReadonlyArray<string>, env: NodeJS.ProcessEnv): Child => {
  const child = fork(entry, [...args], { execArgv, env, stdio: ["ignore", "inherit", "pipe", "ipc"], serialization: "json" })
  let tail = ""
  child.stderr?.on("data", (chunk: Buffer) => {
    process.stderr.write(chunk)
    tail = (tail + chunk.toString("utf8")).slice(-TAIL_BYTES)
  })
  child.once("message", () => { record.listens = true })
  const record: Child = {
    process: child,
    done: false,
    listens: false,
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

/** The executors of one agent, for its scope: the warm ones are stopped when the scope closes (running ones finish). */
export const make = (options: ExecutorOptions): Effect.Effect<Executors, never, Scope.Scope> =>
  Effect.gen(function*() {
    /** Warm executors, oldest (most likely ready) first. */
    const ready: Array<Child> = []
    let closed = false
    let retry: NodeJS.Timeout | undefined
    let failures = 0

    const prepare = () => {
      while (!closed && retry === undefined && ready.length < options.warm) {
        const child = start([], options.env)
        ready.push(child)
        child.process.on("message", () => { failures = 0 })
        void child.exited.then((exit) => {
          const at = ready.indexOf(child)
          if (at < 0) return
          // died while waiting: say why, and start another after a pause that grows with repeated failures
          ready.splice(at, 1)
          if (closed) return
          failures++
          options.onError(`A warm executor exited while waiting (${describeExit(exit)}); starting another.`)
          if (retry === undefined) {
            retry = setTimeout(() => {
              retry = undefined
              prepare()
            }, Math.min(30_000, 500 * 2 ** Math.min(failures, 6)))
          }
        })
      }
    }

    yield* Effect.addFinalizer(() => Effect.sync(() => {
      closed = true
      if (retry !== undefined) clearTimeout(retry)
      for (const idle of ready.splice(0)) if (!idle.done) idle.process.kill("SIGTERM")
    }))
    prepare()

    /**
     * Hands `id` to a warm executor that listens already, or starts a cold one with `id` when none does. A claimed run
     * is never left waiting on an executor still starting: should the agent stop meanwhile, that one would go away
     * with it, and the run would stay Pending; a cold one given the id runs it whatever becomes of its agent.
     */
    const launch = (id: string): Promise<ExecutorExit> => {
      const at = ready.findIndex((c) => c.listens && !c.done && c.process.connected)
      const child = at < 0 ? undefined : ready.splice(at, 1)[0]
      prepare()
      if (child === undefined) return start([id], options.env).exited
      return new Promise<ExecutorExit>((resolve) => {
        child.process.send({ run: id }, (error) => {
          if (error === null || error === undefined) return void child.exited.then(resolve)
          // it went away between being picked and being told: the run has not started, so a cold one takes it
          child.process.kill("SIGTERM")
          void start([id], options.env).exited.then(resolve)
        })
      })
    }

    return {
      submit: (id) =>
        Effect.sync(() => {
          const exited = launch(id)
          return Effect.promise(() => exited)
        })
    }
  })

/** One phrase for how an executor process ended. */
export const describeExit = (exit: ExecutorExit): string => {
  if (exit.spawnError !== undefined) return `it could not be started: ${exit.spawnError}`
  const how = exit.signal !== null ? `killed by ${exit.signal}` : `exit code ${exit.code}`
  const last = exit.stderrTail.trim().split("\n").filter((l) => l.trim() !== "").slice(-3).join(" | ")
  return last === "" ? how : `${how}: ${last}`
}
