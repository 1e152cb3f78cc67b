/** The agent's settings (`ORION_AGENT_*`), read through Effect `Config`, each with its default (README "Settings"). */
import { Config } from "effect"
import { DEFAULT_WORK_QUEUE } from "../src/domain/deployment.js"

/** `ORION_AGENT_WORK_QUEUES`: the work queues an agent serves, comma-separated (default `default`). */
export const agentWorkQueues = Config.string("ORION_AGENT_WORK_QUEUES").pipe(
  Config.withDefault(DEFAULT_WORK_QUEUE),
  Config.map((s) => [...new Set(s.split(",").map((q) => q.trim()).filter((q) => q !== ""))]),
  Config.validate({ message: "ORION_AGENT_WORK_QUEUES must name at least one work queue", validation: (qs) => qs.length > 0 })
)

/** `ORION_AGENT_LIMIT`: flow runs one agent executes at once at most (default 10). */
export const agentLimit = Config.integer("ORION_AGENT_LIMIT").pipe(
  Config.withDefault(10),
  Config.validate({ message: "ORION_AGENT_LIMIT must be an integer from 1 to 1000", validation: (n) => n >= 1 && n <= 1000 })
)

/**
 * `ORION_AGENT_POLL_INTERVAL`: seconds between the agent's fallback looks for due runs (default 10). Pickup itself is
 * pushed — the event stream and a timer for the next scheduled time — so this only bounds how late a missed event is.
 */
export const agentPollInterval = Config.number("ORION_AGENT_POLL_INTERVAL").pipe(
  Config.withDefault(10),
  Config.validate({ message: "ORION_AGENT_POLL_INTERVAL must be a positive number of seconds", validation: (s) => s > 0 && Number.isFinite(s) })
)

/**
 * `ORION_AGENT_WARM_EXECUTORS`: executor processes kept ready ahead (Orion loaded, services open), so a run starts
 * without a cold Node start; executors back from a completed run count among them, fresh ones are started when fewer
 * are idle (default 1; 0: none). More than one covers runs falling due closer together than a run takes.
 */
export const agentWarmExecutors = Config.integer("ORION_AGENT_WARM_EXECUTORS").pipe(
  Config.withDefault(1),
  Config.validate({ message: "ORION_AGENT_WARM_EXECUTORS must be an integer from 0 to 16", validation: (n) => n >= 0 && n <= 16 })
)

/**
 * `ORION_AGENT_RETRY_GRACE`: seconds an AwaitingRetry run is left to the process that runs it (which retries it at its
 * time) before an agent takes it as orphaned — e.g. one `orion flow-run retry` rescheduled (default 10).
 */
export const agentRetryGrace = Config.number("ORION_AGENT_RETRY_GRACE").pipe(
  Config.withDefault(10),
  Config.validate({ message: "ORION_AGENT_RETRY_GRACE must be a non-negative number of seconds", validation: (s) => s >= 0 && Number.isFinite(s) })
)

/**
 * `ORION_AGENT_EXECUTOR_MAX_RUNS`: flow runs one executor process executes before it is retired (default 50). An
 * executor whose run completed is handed the next run, Orion and the flow modules it imported still loaded; 1: a
 * process per run (a flow's process-wide side effects — environment, globals — never reach another run).
 */
export const agentExecutorMaxRuns = Config.integer("ORION_AGENT_EXECUTOR_MAX_RUNS").pipe(
  Config.withDefault(50),
  Config.validate({ message: "ORION_AGENT_EXECUTOR_MAX_RUNS must be an integer from 1 to 100000", validation: (n) => n >= 1 && n <= 100_000 })
)

/** `ORION_AGENT_EXECUTOR_MAX_RSS_MB`: an executor whose resident memory is above this after a run is retired (default 512; 0: no cap). */
export const agentExecutorMaxRssMb = Config.integer("ORION_AGENT_EXECUTOR_MAX_RSS_MB").pipe(
  Config.withDefault(512),
  Config.validate({ message: "ORION_AGENT_EXECUTOR_MAX_RSS_MB must be a non-negative integer (0: no cap)", validation: (n) => n >= 0 })
)

/** `ORION_AGENT_EXECUTOR_IDLE_SECONDS`: an idle executor beyond the warm count is retired after this many seconds (default 300). */
export const agentExecutorIdleSeconds = Config.number("ORION_AGENT_EXECUTOR_IDLE_SECONDS").pipe(
  Config.withDefault(300),
  Config.validate({ message: "ORION_AGENT_EXECUTOR_IDLE_SECONDS must be a positive number of seconds", validation: (s) => s > 0 && Number.isFinite(s) })
)
