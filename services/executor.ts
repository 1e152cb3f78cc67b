/**
 * Where an agent runs flow runs: in executor processes (the executor entry, which does what `orion flow-run execute
 * <id>` does), reused for several runs. An executor whose run completed goes back to the ready pool and is handed a
 * later run over IPC (services/executor-protocol.ts), Orion and the flow modules it imported still loaded; after
 * `maxRuns` runs, above `maxRssBytes`, idle beyond the warm count for `idleMs`, or after any run that did not complete
 * it is retired. Warm executors — started ahead, Orion loaded, services open — keep the pool from running dry; with
 * none ready a cold one is started with the run. A run whose flow module changed on disk since its executor loaded it
 * is refused by that executor (stale) and handed to a fresh process.
 */
import { type ChildProcess, fork } from "node:child_process"
import { createRequire } from "node:module"
import { fileURLToPath, pathToFileURL } from "node:url"
import { Effect, type Scope } from "effect"
import { fromExecutor, type ToExecutor } from "./executor-protocol.js"

/** How an executor process ended. */
export interface ExecutorExit {
  readonly code: number | null
  readonly signal: string | null
  /** The end of what it wrote on stderr (it is also passed through to the agent's stderr). */
  readonly stderrTail: string
  /** It could not be started at all. */
  readonly spawnError?: string
}

/**
 * How a run handed to an executor ended, as far as the agent can tell: the executor said the run completed (and was
 * kept for another, or retired), or its process exited — after a run that did not complete, or before it ended.
 */
export type RunEnd =
  | { readonly _tag: "Completed"; readonly pid: number | undefined }
  | { readonly _tag: "Exited"; readonly exit: ExecutorExit }

/** The deployment of a run handed over: an executor that ran one of its runs has its flow module loaded. */
export interface RunDeployment {
  readonly id: string
  /** Where its flow module is (warm executors started later import it ahead). */
  readonly flowPath: string | null
}

export interface Executors {
  /**
   * Hands flow run `id` to an executor process at once (an idle one — preferably one that already ran a run of
   * `deployment` — or a cold one started now); the effect it answers waits for the run's end. Once handed over, the run
   * goes on whatever becomes of the agent.
   */
  readonly submit: (id: string, deployment: RunDeployment | null) => Effect.Effect<Effect.Effect<RunEnd>>
}

export interface ExecutorOptions {
  /** Warm executors kept ready (0: none kept ahead; reused ones still wait for runs). */
  readonly warm: number
  /** Runs one executor process executes before it is retired (1: a process per run). */
  readonly maxRuns: number
  /** An executor whose resident set is above this many bytes after a run is retired (0: no cap). */
  readonly maxRssBytes: number
  /** An idle executor beyond the `warm` count is retired after this many milliseconds. */
  readonly idleMs: number
  /** The executor processes' environment (the Orion settings they run with). */
  readonly env: NodeJS.ProcessEnv
  /** A warm executor that could not start, or died while waiting. */
  readonly onError: (message: string) => void
  /** An executor was retired (why), or refused a run as stale: for the agent's log. */
  readonly onInfo?: (message: string) => void
}

/** Orion runs from its TypeScript sources: executor processes load the entry (and flows) through tsx. */
const fromSource = import.meta.url.endsWith(".ts")
const entry = fileURLToPath(new URL(`./executor-entry${fromSource ? ".ts" : ".js"}`, import.meta.url))
const execArgv = fromSource ? ["--import", pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href] : []
const TAIL_BYTES = 4096
/** Flow modules a new warm executor imports ahead at most. */
const PRELOAD_MODULES = 8

/** A started executor process, what it has run, and the run it is running. */
interface Child {
  readonly process: ChildProcess
  readonly exited: Promise<ExecutorExit>
  /** Whether it listens for a run over IPC yet (a message sent before would be lost). */
  listens: boolean
  done: boolean
  /** Runs it has completed. */
  runs: number
  /** The deployments whose runs it ran (their flow modules are loaded in it). */
  readonly deployments: Set<string | null>
  /** The flow modules it was told to import ahead. */
  readonly preloaded: Set<string>
  /** The run it is running, and who waits for its end. */
  current: { readonly id: string; readonly deployment: RunDeployment | null; readonly resolve: (end: RunEnd) => void } | undefined
  /** Told to go (or going on its own): never handed a run again. */
  retiring: boolean
  idleTimer: NodeJS.Timeout | undefined
}

const send = (child: Child, message: ToExecutor, then?: (error: Error | null) => void) => {
  try {
    child.process.send(message, (error) => then?.(error ?? null))
  } catch (e) {
    then?.(e instanceof Error ? e : new Error(String(e)))
  }
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
    listens: false,
    runs: 0,
    deployments: new Set(),
    preloaded: new Set(),
    current: undefined,
    retiring: false,
    idleTimer: undefined,
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

const mb = (bytes: number) => `${Math.round(bytes / 1_048_576)} MB`

/** The executors of one agent, for its scope: idle ones are retired when the scope closes (running ones finish). */
export const make = (options: ExecutorOptions): Effect.Effect<Executors, never, Scope.Scope> =>
  Effect.gen(function*() {
    /** Idle executors, least recently used first: fresh warm ones, and reused ones back from a completed run. */
    const idle: Array<Child> = []
    let closed = false
    let retry: NodeJS.Timeout | undefined
    let failures = 0
    const info = (message: string) => options.onInfo?.(message)

    const removeIdle = (child: Child) => {
      const at = idle.indexOf(child)
      if (at >= 0) idle.splice(at, 1)
      if (child.idleTimer !== undefined) clearTimeout(child.idleTimer)
      child.idleTimer = undefined
    }

    const retire = (child: Child, why: string | undefined) => {
      removeIdle(child)
      if (child.retiring || child.done) return
      child.retiring = true
      if (why !== undefined) info(`Retiring executor process ${child.process.pid}: ${why}.`)
      // it closes its services and exits; one that cannot be told (its channel gone) is stopped
      send(child, { _tag: "Retire" }, (error) => { if (error !== null && !child.done) child.process.kill("SIGTERM") })
    }

    /** Back in the pool after a completed run, unless it has done its share. */
    const release = (child: Child, rss: number) => {
      if (closed) return retire(child, undefined)
      // one run per process (max runs 1) is the plan, not news: said only when a process had a share to use up
      if (child.runs >= options.maxRuns) return retire(child, options.maxRuns > 1 ? `it has run ${child.runs} flow run(s), its share (ORION_AGENT_EXECUTOR_MAX_RUNS)` : undefined)
      if (options.maxRssBytes > 0 && rss > options.maxRssBytes) {
        return retire(child, `its memory (${mb(rss)}) is above ORION_AGENT_EXECUTOR_MAX_RSS_MB (${mb(options.maxRssBytes)})`)
      }
      idle.push(child)
      child.idleTimer = setTimeout(() => {
        child.idleTimer = undefined
        if (idle.includes(child) && idle.length > options.warm) retire(child, "idle, and more executors than the warm count are ready")
      }, options.idleMs)
      child.idleTimer.unref()
    }

    /** The flow modules of the latest deployments run, latest first: what a new warm executor imports ahead. */
    const recentPaths: Array<string> = []
    const noteRecent = (deployment: RunDeployment | null) => {
      const file = deployment?.flowPath
      if (file === null || file === undefined || recentPaths[0] === file) return
      const at = recentPaths.indexOf(file)
      if (at >= 0) recentPaths.splice(at, 1)
      recentPaths.unshift(file)
      recentPaths.length = Math.min(recentPaths.length, PRELOAD_MODULES)
      // a module new to this agent: the warm executors already waiting import it too, for the next run of it
      if (at < 0) for (const child of idle) if (child.runs === 0 && child.listens && !child.retiring) preload(child, [file])
    }

    const follow = (child: Child) => {
      child.process.on("message", (raw: unknown) => {
        const message = fromExecutor(raw)
        if (message === undefined) return
        switch (message._tag) {
          case "Listening":
            child.listens = true
            // a warm one (a cold one has its run): it imports the latest deployments' flow modules while it waits
            if (child.current === undefined && child.runs === 0 && recentPaths.length > 0) preload(child, [...recentPaths])
            return
          case "Ready":
            failures = 0
            return
          case "Accepted":
            return
          case "Stale": {
            const current = child.current
            if (current === undefined || current.id !== message.id) return
            // the run has not started: a new process (warm ones may have imported the old module ahead) runs it
            child.current = undefined
            child.retiring = true
            info(`Executor process ${child.process.pid} refused flow run ${message.id}: ${message.reason}; a fresh process runs it.`)
            handTo(undefined, message.id, current.deployment, current.resolve)
            // the idle ones that loaded the same module hold the old code too: replaced by warm ones importing the new
            const file = current.deployment?.flowPath
            for (const other of [...idle]) {
              if (other.deployments.has(current.deployment?.id ?? null) || (file != null && other.preloaded.has(file))) {
                retire(other, "it holds the old code of a flow module that changed on disk")
              }
            }
            return prepare()
          }
          case "Ended": {
            const current = child.current
            if (current === undefined || current.id !== message.id || !message.reusable) return // its exit says how it ended
            child.current = undefined
            child.runs++
            current.resolve({ _tag: "Completed", pid: child.process.pid })
            return release(child, message.rss)
          }
        }
      })
      void child.exited.then((exit) => {
        const current = child.current
        child.current = undefined
        const waiting = idle.includes(child)
        removeIdle(child)
        if (current !== undefined) return current.resolve({ _tag: "Exited", exit })
        if (!waiting || closed || child.retiring) return
        if (child.runs > 0) return options.onError(`An idle executor process exited (${describeExit(exit)}).`)
        // a warm one died while waiting: say why, and start another after a pause that grows with repeated failures
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

    const launchChild = (args: ReadonlyArray<string>) => {
      const child = start(args, options.env)
      follow(child)
      return child
    }

    const prepare = () => {
      while (!closed && retry === undefined && idle.length < options.warm) idle.unshift(launchChild([]))
    }

    const preload = (child: Child, paths: ReadonlyArray<string>) => {
      for (const file of paths) child.preloaded.add(file)
      send(child, { _tag: "Preload", paths })
    }

    const usable = (c: Child) => c.listens && !c.done && !c.retiring && c.process.connected

    /**
     * Hands `id` to `child`, or to a cold process started with `id` when there is none. A claimed run is never left
     * waiting on an executor still starting: should the agent stop meanwhile, that one would go away with it, and the
     * run would stay Pending; a cold one given the id runs it whatever becomes of its agent.
     */
    const handTo = (child: Child | undefined, id: string, deployment: RunDeployment | null, resolve: (end: RunEnd) => void) => {
      if (child === undefined) {
        const cold = launchChild([id])
        cold.current = { id, deployment, resolve }
        cold.deployments.add(deployment?.id ?? null)
        return
      }
      child.current = { id, deployment, resolve }
      child.deployments.add(deployment?.id ?? null)
      send(child, { _tag: "Run", id }, (error) => {
        if (error === null) return
        // it went away between being picked and being told: the run has not started, so a cold one takes it
        child.current = undefined
        child.retiring = true
        child.process.kill("SIGTERM")
        handTo(undefined, id, deployment, resolve)
      })
    }

    /** The idle executor for a run of `deployment`: the latest back from one of its runs, else the latest back at all. */
    const pick = (deployment: string | null): Child | undefined => {
      for (let i = idle.length - 1; i >= 0; i--) if (usable(idle[i]!) && idle[i]!.deployments.has(deployment)) return idle[i]
      for (let i = idle.length - 1; i >= 0; i--) if (usable(idle[i]!)) return idle[i]
      return undefined
    }

    yield* Effect.addFinalizer(() => Effect.sync(() => {
      closed = true
      if (retry !== undefined) clearTimeout(retry)
      for (const child of [...idle]) {
        if (child.runs === 0 && !child.listens) {
          removeIdle(child)
          child.process.kill("SIGTERM")
        } else retire(child, undefined)
      }
    }))
    prepare()

    return {
      submit: (id, deployment) =>
        Effect.sync(() => {
          noteRecent(deployment)
          const key = deployment?.id ?? null
          const ended = new Promise<RunEnd>((resolve) => {
            const child = pick(key)
            if (child !== undefined) removeIdle(child)
            prepare()
            handTo(child, id, deployment, resolve)
          })
          return Effect.promise(() => ended)
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
