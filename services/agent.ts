/**
 * The agent (spec §5.4, §11 work queues): claims the flow runs of its work queues' deployments as they fall due and runs
 * each in an executor process. A claim is the orchestrated move Scheduled → Pending, committed before it is answered,
 * which the rules accept once per run: any number of agents never execute one run twice. Pickup is pushed — events of
 * runs becoming Scheduled and a timer for the next scheduled time wake it — with a slow poll only as a fallback.
 */
import { Clock, Context, Duration, Effect, FiberHandle, FiberSet, Layer, Option, Queue, Redacted, Runtime } from "effect"
import { OrionClient } from "../src/client/orion-client.js"
import { EventFeed } from "../src/api/event-feed.js"
import type { Deployment, FlowRun, FlowRunFilterRequest } from "../src/domain/index.js"
import { isTerminal, States } from "../src/domain/index.js"
import * as Settings from "../src/settings.js"
import * as Database from "../src/storage/database.js"
import { EventBus } from "../runtime/event-bus.js"
import * as Config from "./agent-config.js"
import { verdictOn, type Verdict } from "./agent-policies.js"
import { fromEventFeed, fromEventStream } from "./agent-signals.js"
import { describeExit, make as makeExecutors, type RunEnd } from "./executor.js"
import type { Service, ServiceReporter } from "./service.js"

export interface AgentOptions {
  /** The work queues whose runs it executes (default `ORION_AGENT_WORK_QUEUES`, else `default`). */
  readonly workQueues?: ReadonlyArray<string>
  /** Runs executed at once at most (default `ORION_AGENT_LIMIT`, else 10). */
  readonly limit?: number
  /** The fallback poll's period (default `ORION_AGENT_POLL_INTERVAL`, else 10 s). */
  readonly pollInterval?: Duration.DurationInput
  /** Executor processes kept warm (default `ORION_AGENT_WARM_EXECUTORS`, else 1; 0: none). */
  readonly warmExecutors?: number
  /** Flow runs one executor process executes before it is retired (default `ORION_AGENT_EXECUTOR_MAX_RUNS`, else 50; 1: a process per run). */
  readonly executorMaxRuns?: number
  /**
   * The Orion API to work through (its executors use it too). Default: `ORION_API_URL` when set, else the local
   * database (`ORION_DATABASE_URL` / `$ORION_HOME`), which its executors then open as well.
   */
  readonly api?: { readonly url: string; readonly apiKey?: string | undefined }
}

interface Resolved {
  readonly workQueues: ReadonlyArray<string>
  readonly limit: number
  readonly pollInterval: Duration.Duration
  readonly warmExecutors: number
  readonly executorMaxRuns: number
  readonly executorMaxRssMb: number
  readonly executorIdleSeconds: number
  readonly retryGrace: number
  readonly api: { readonly url: string; readonly key: Option.Option<Redacted.Redacted> } | undefined
}

const resolve = (options: AgentOptions) =>
  Effect.gen(function*() {
    const url = options.api?.url ?? (yield* Settings.apiUrl)
    const key = options.api !== undefined
      ? Option.map(Option.fromNullable(options.api.apiKey), Redacted.make)
      : yield* Settings.apiKey
    return {
      workQueues: options.workQueues ?? (yield* Config.agentWorkQueues),
      limit: options.limit ?? (yield* Config.agentLimit),
      pollInterval: options.pollInterval !== undefined ? Duration.decode(options.pollInterval) : Duration.seconds(yield* Config.agentPollInterval),
      warmExecutors: options.warmExecutors ?? (yield* Config.agentWarmExecutors),
      executorMaxRuns: options.executorMaxRuns ?? (yield* Config.agentExecutorMaxRuns),
      executorMaxRssMb: yield* Config.agentExecutorMaxRssMb,
      executorIdleSeconds: yield* Config.agentExecutorIdleSeconds,
      retryGrace: yield* Config.agentRetryGrace,
      api: url === undefined ? undefined : { url, key }
    } satisfies Resolved
  })

/** Where the agent works: the API's client, how it hears of due runs, and what its executors are told. */
const connect = (resolved: Resolved, onDue: (at: Date) => void, onTrouble: (message: string) => void) =>
  Effect.gen(function*() {
    if (resolved.api !== undefined) {
      const { url, key } = resolved.api
      const Remote = yield* Effect.promise(() => import("../src/client/remote.js"))
      const context = yield* Layer.build(Remote.layer({ url, apiKey: Option.getOrUndefined(key) }))
      const base = url.trim().replace(/\/+$/, "").replace(/\/api$/, "")
      yield* Effect.forkScoped(fromEventStream(`${base}/api`, key, onDue, onTrouble))
      const env: NodeJS.ProcessEnv = { ORION_API_URL: url, ...Option.match(key, { onNone: () => ({}), onSome: (k) => ({ ORION_API_KEY: Redacted.value(k) }) }) }
      return { client: Context.get(context, OrionClient), env, where: base }
    }
    const Local = yield* Effect.promise(() => import("../src/client/local.js"))
    const context = yield* Layer.build(Layer.mergeAll(Local.layerOnDatabaseCommitted, EventFeed.layer).pipe(
      Layer.provideMerge(EventBus.layer),
      Layer.provideMerge(Database.layer)
    ))
    yield* fromEventFeed(onDue).pipe(Effect.provide(context))
    const db = Context.get(context, Database.Database)
    // Executors inherit this process's settings, so they open the same database.
    return { client: Context.get(context, OrionClient), env: {} as NodeJS.ProcessEnv, where: db.url }
  })

const scheduledName = (run: FlowRun) => run.state_name ?? "Scheduled"

/** The exit code of an executor that did not run its flow run (services/execute.ts `exitCodeOf`). */
const NOT_RUN = 2

/** Runs the agent until interrupted (the `Service`'s body). */
const runAgent = (options: AgentOptions, report: ServiceReporter) =>
  Effect.scoped(Effect.gen(function*() {
    const resolved = yield* resolve(options)
    const wake = yield* Queue.sliding<void>(1)
    const dueTimes = yield* Queue.unbounded<Date>()
    const poke = Queue.offer(wake, undefined)
    const { client, env, where } = yield* connect(resolved, (at) => void dueTimes.unsafeOffer(at), (m) => Effect.runFork(report.error(m)))
    // What the executors' callbacks log goes through this fiber's logger (Orion's console format), not the default one.
    const runFork = Runtime.runFork(yield* Effect.runtime<never>())
    const executors = yield* makeExecutors({
      warm: resolved.warmExecutors,
      maxRuns: resolved.executorMaxRuns,
      maxRssBytes: resolved.executorMaxRssMb * 1_048_576,
      idleMs: resolved.executorIdleSeconds * 1000,
      env: { ...process.env, ...env },
      onError: (message) => void runFork(Effect.zipRight(report.error(message), Effect.logWarning(message))),
      onInfo: (message) => void runFork(Effect.logInfo(message))
    })
    const children = yield* FiberSet.make()
    const inFlight = new Map<string, FlowRun>()
    yield* Effect.logInfo(`Agent on ${where}: work queues ${resolved.workQueues.join(", ")}; up to ${resolved.limit} runs at once${resolved.warmExecutors > 0 ? `; ${resolved.warmExecutors} warm executor(s) kept ready` : ""}; each executor process runs up to ${resolved.executorMaxRuns} flow run(s).`)

    // The timer: one fiber sleeping until the earliest time something is known to fall due.
    const timer = yield* FiberHandle.make()
    let timerAt = Number.POSITIVE_INFINITY
    const wakeAt = (at: number) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        if (at <= now) return yield* poke
        if (at >= timerAt) return
        timerAt = at
        yield* report.nextDue(new Date(at))
        yield* FiberHandle.run(timer, Effect.zipRight(Effect.sleep(Duration.millis(at - now)), Effect.suspend(() => {
          timerAt = Number.POSITIVE_INFINITY
          return poke
        })))
      })
    yield* Effect.forkScoped(Effect.forever(Effect.flatMap(Queue.takeBetween(dueTimes, 1, 10_000), (times) => {
      let earliest = Number.POSITIVE_INFINITY
      for (const t of times) earliest = Math.min(earliest, t.getTime())
      return wakeAt(earliest)
    })))
    yield* Effect.forkScoped(Effect.forever(Effect.zipRight(Effect.sleep(resolved.pollInterval), poke)))

    const ofQueues = { deployments: { work_queue: { any_: [...resolved.workQueues] } } }
    const scheduled = { type: { any_: ["SCHEDULED" as const] } }

    /**
     * After its executor said the run completed, nothing to do; after its executor exited, a run that did not end is
     * ended — Failed if it never started, Crashed if it did.
     */
    const settle = (run: FlowRun, end: RunEnd) =>
      Effect.gen(function*() {
        if (end._tag === "Completed") return
        const exit = end.exit
        const after = yield* client.readFlowRun(run.id)
        const type = after.state?.type ?? null
        const how = describeExit(exit)
        if (isTerminal(type)) {
          if (exit.code !== 0 && type !== "FAILED" && type !== "CRASHED" && type !== "CANCELLED") yield* report.error(`Flow run '${run.name}' ended ${after.state?.name}, but its executor ${how}`)
          else if (exit.code !== 0 && exit.code !== 1) yield* report.error(`Flow run '${run.name}': ${how}`)
          return
        }
        // An executor that did not run it (exit 2: e.g. another process had started it) leaves a running run alone.
        if (type === "RUNNING" && exit.code === NOT_RUN) return yield* report.error(`Flow run '${run.name}' was not run by this agent's executor: ${how}`)
        const message = type === "RUNNING"
          ? `The flow run's executor process ended before the run did (${how}).`
          : `Submission failed: the executor process ended before the run started (${how}).`
        yield* report.error(`Flow run '${run.name}' (${run.id}): ${message}`)
        yield* client.proposeState({ kind: "flow_run", id: run.id },
          type === "RUNNING" ? States.Crashed({ message }) : States.Failed({ message }), { force: type === "RUNNING" })
      }).pipe(Effect.catchAll((e) => report.error(`Could not check how flow run '${run.name}' ended: ${e.message}`)))

    /** Waits for the end of `run` in its executor, then settles the run; the agent is free for another run after. */
    const awaitExecutor = (run: FlowRun, ended: Effect.Effect<RunEnd>) =>
      Effect.flatMap(ended, (end) => settle(run, end)).pipe(
        Effect.ensuring(Effect.zipRight(Effect.sync(() => inFlight.delete(run.id)), poke)))

    /** The deployments read in the current pass (null: deleted), so that a pass reads each one once. */
    const deployments = new Map<string, Deployment | null>()
    const underWay = { type: { any_: ["PENDING" as const, "RUNNING" as const, "CANCELLING" as const] } }

    /** By its deployment's catch-up window and overlap policy: whether `run` is to run, be skipped, or cancel others first. */
    const judge = (run: FlowRun, now: number) =>
      Effect.gen(function*() {
        const allowed: Verdict = { _tag: "Run", cancel: [] }
        if (run.deployment_id === null) return allowed
        let deployment = deployments.get(run.deployment_id)
        if (deployment === undefined) {
          deployment = yield* client.readDeployment(run.deployment_id).pipe(Effect.catchTag("ObjectNotFound", () => Effect.succeed(null)))
          deployments.set(run.deployment_id, deployment)
        }
        if (deployment === null || (deployment.catchup_seconds === null && deployment.overlap === "allow")) return allowed
        const others = deployment.overlap === "allow" ? [] : yield* client.readFlowRuns({
          flow_runs: { deployment_id: { any_: [deployment.id] }, state: underWay }, sort: "EXPECTED_START_TIME_ASC", limit: 50, offset: 0
        })
        return verdictOn(deployment, run, now, others)
      })

    /** Ends a run the deployment's policies skip (Cancelled, named Skipped, with the reason). */
    const skip = (run: FlowRun, reason: string) =>
      Effect.gen(function*() {
        const answer = yield* client.proposeState({ kind: "flow_run", id: run.id }, States.Skipped({ message: reason }))
        if (answer.status === "ACCEPT") yield* Effect.logInfo(`Skipped flow run '${run.name}' (${run.id}): ${reason}`)
      }).pipe(Effect.catchTag("ObjectNotFound", () => Effect.void))

    /** Asks an earlier run of the deployment to stop, as the overlap policy `cancel_previous` says, for `next`. */
    const cancelPrevious = (previous: FlowRun, next: FlowRun) =>
      Effect.gen(function*() {
        const message = `Cancelled by the deployment's overlap policy (cancel_previous): run '${next.name}' is due.`
        yield* client.proposeState({ kind: "flow_run", id: previous.id }, States.Cancelling({ message }))
        yield* Effect.logInfo(`Cancelling flow run '${previous.name}' (${previous.id}): run '${next.name}' of its deployment is due.`)
      }).pipe(Effect.catchTag("ObjectNotFound", () => Effect.void))

    /**
     * Claims `run` (Scheduled → Pending) and hands it to an executor; false when it is not ours to run. From the claim's
     * proposal to the executor's start nothing interrupts it: an agent told to stop meanwhile still hands over the run
     * it has claimed, which would otherwise stay Pending with no process to run it.
     */
    const claim = (run: FlowRun, now: number) =>
      Effect.gen(function*() {
        if (inFlight.has(run.id)) return false
        // A run awaiting its retry is retried by the process running it; only one left over is an agent's to take.
        const due = run.next_scheduled_start_time?.getTime() ?? now
        if (scheduledName(run) === "AwaitingRetry" && due + resolved.retryGrace * 1000 > now) {
          yield* wakeAt(due + resolved.retryGrace * 1000)
          return false
        }
        const verdict = yield* judge(run, now)
        if (verdict._tag === "Skip") {
          yield* skip(run, verdict.reason)
          return false
        }
        yield* Effect.forEach(verdict.cancel, (previous) => cancelPrevious(previous, run), { discard: true })
        return yield* Effect.uninterruptibleMask((restore) =>
          Effect.gen(function*() {
            const answer = yield* Effect.either(client.proposeState({ kind: "flow_run", id: run.id }, States.Pending({ message: "Claimed by an agent" })))
            if (answer._tag === "Left") {
              // deleted since it was looked up (its deployment's schedule changed): nothing to claim
              if (answer.left._tag !== "ObjectNotFound") yield* report.error(`Could not claim flow run '${run.name}': ${answer.left.message}`)
              return false
            }
            const { status, details } = answer.right
            if (status === "WAIT" && details.type === "wait_details") yield* wakeAt(now + details.delay_seconds * 1000)
            if (status !== "ACCEPT") return false // another agent has it (or it moved on): not ours
            inFlight.set(run.id, run)
            const deployment = run.deployment_id === null ? undefined : deployments.get(run.deployment_id)
            const ended = yield* executors.submit(run.id, run.deployment_id === null ? null : { id: run.deployment_id, flowPath: deployment?.flow_path ?? null })
            yield* Effect.logInfo(`Submitting flow run '${run.name}' (${run.id}).`)
            yield* FiberSet.run(children, restore(awaitExecutor(run, ended)))
            return true
          }))
      })

    /** The next runs to fall due, as the last look found them: claimed at their time without being looked up again. */
    let upcoming: ReadonlyArray<FlowRun> = []

    /** Claims what is due (up to the free slots) and hands each claimed run to an executor; then sets the timer. */
    const pass = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      deployments.clear()
      const free = () => resolved.limit - inFlight.size
      for (const run of upcoming) {
        if (free() <= 0 || (run.next_scheduled_start_time?.getTime() ?? now) > now) break
        yield* claim(run, now)
      }
      if (free() > 0) {
        const request: FlowRunFilterRequest = {
          flow_runs: { state: scheduled, next_scheduled_start_time: { before_: new Date(now) } }, ...ofQueues,
          sort: "NEXT_SCHEDULED_START_TIME_ASC", limit: Math.min(200, free() + 20), offset: 0
        }
        for (const run of yield* client.readFlowRuns(request)) {
          if (free() <= 0) break
          yield* claim(run, now)
        }
      }
      upcoming = yield* client.readFlowRuns({
        flow_runs: { state: scheduled, next_scheduled_start_time: { after_: new Date(now + 1) } }, ...ofQueues,
        sort: "NEXT_SCHEDULED_START_TIME_ASC", limit: Math.max(1, Math.min(20, resolved.limit)), offset: 0
      })
      const at = upcoming[0]?.next_scheduled_start_time
      if (at !== null && at !== undefined) yield* wakeAt(at.getTime())
      yield* report.nextDue(Number.isFinite(timerAt) ? new Date(timerAt) : null)
    })

    yield* poke
    return yield* Effect.forever(Effect.gen(function*() {
      yield* Queue.take(wake)
      const started = yield* Clock.currentTimeMillis
      // A failed look (the API away for a while) is reported; the next wake-up tries again.
      yield* Effect.catchAll(pass, (e) => report.error(`Looking for due flow runs failed: ${e.message}`))
      yield* report.loopDone((yield* Clock.currentTimeMillis) - started)
    }))
  }))

/** The agent as a service actor: `orion agent start`, and inside `orion start` under the supervisor. */
export const agent = (options: AgentOptions = {}): Service => ({
  name: "agent",
  description: `Runs the flow runs of deployments${options.workQueues !== undefined ? ` in work queues ${options.workQueues.join(", ")}` : ""} as they fall due, each in an executor process`,
  run: (report) => runAgent(options, report)
})

