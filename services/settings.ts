/** The services' settings (spec §9, §11), read through `Config` from the environment, each with its default (README "Settings"). */
import { Config } from "effect"
import { schedulerInsertBatchSize, schedulerMaxRuns, schedulerMaxScheduledSeconds } from "../src/api/scheduling.js"

const positive = (name: string, fallback: number) =>
  Config.number(name).pipe(
    Config.withDefault(fallback),
    Config.validate({ message: `${name} must be a positive number`, validation: (n) => n > 0 && Number.isFinite(n) })
  )
const positiveInt = (name: string, fallback: number) =>
  Config.integer(name).pipe(
    Config.withDefault(fallback),
    Config.validate({ message: `${name} must be a positive integer`, validation: (n) => n >= 1 })
  )
const enabled = (name: string) => Config.boolean(name).pipe(Config.withDefault(true))

/** `ORION_SERVICES_<NAME>_ENABLED` (default true): whether `orion start` runs that service. */
export const serviceEnabled = {
  scheduler: enabled("ORION_SERVICES_SCHEDULER_ENABLED"),
  "late-runs": enabled("ORION_SERVICES_LATE_RUNS_ENABLED"),
  "crash-detection": enabled("ORION_SERVICES_CRASH_DETECTION_ENABLED"),
  agent: enabled("ORION_SERVICES_AGENT_ENABLED")
} as const

export interface SchedulerSettings {
  readonly loopSeconds: number
  readonly deploymentBatchSize: number
  readonly maxRuns: number
  readonly maxScheduledSeconds: number
  readonly insertBatchSize: number
}

/** Spec §5.2: loop 60 s, 100 deployments a page, at most 100 runs and 100 days ahead, 500 runs created at a time. */
export const schedulerSettings: Config.Config<SchedulerSettings> = Config.all({
  loopSeconds: positive("ORION_SERVICES_SCHEDULER_LOOP_SECONDS", 60),
  deploymentBatchSize: positiveInt("ORION_SERVICES_SCHEDULER_DEPLOYMENT_BATCH_SIZE", 100),
  maxRuns: schedulerMaxRuns,
  maxScheduledSeconds: schedulerMaxScheduledSeconds,
  insertBatchSize: schedulerInsertBatchSize
})

export interface LateRunsSettings {
  readonly loopSeconds: number
  readonly afterSeconds: number
  readonly batchSize: number
}

/** Spec §5.3 (with §11's setting name): loop 5 s; a Scheduled run not started 5 s after its time becomes Late. */
export const lateRunsSettings: Config.Config<LateRunsSettings> = Config.all({
  loopSeconds: positive("ORION_SERVICES_LATE_RUNS_LOOP_SECONDS", 5),
  afterSeconds: Config.number("ORION_SERVICES_LATE_RUNS_AFTER_SECONDS").pipe(
    Config.withDefault(5),
    Config.validate({ message: "ORION_SERVICES_LATE_RUNS_AFTER_SECONDS must be a number of seconds ≥ 0", validation: (n) => n >= 0 && Number.isFinite(n) })
  ),
  batchSize: positiveInt("ORION_SERVICES_LATE_RUNS_BATCH_SIZE", 100)
})

export interface CrashDetectionSettings {
  readonly loopSeconds: number
  readonly timeoutSeconds: number
  /** How long a flow run may stay Pending without starting (its process may be a cold executor on a loaded machine). */
  readonly pendingTimeoutSeconds: number
  readonly batchSize: number
}

/**
 * Loop 15 s; a run is presumed dead after 90 s without a heartbeat: three of the default 30 s heartbeat intervals
 * (`ORION_HEARTBEAT_INTERVAL`), so two lost or late heartbeats never crash a live run. Keep it well above the
 * heartbeat interval of every client.
 */
export const crashDetectionSettings: Config.Config<CrashDetectionSettings> = Config.all({
  loopSeconds: positive("ORION_SERVICES_CRASH_DETECTION_LOOP_SECONDS", 15),
  timeoutSeconds: positive("ORION_SERVICES_CRASH_DETECTION_TIMEOUT_SECONDS", 90),
  pendingTimeoutSeconds: positive("ORION_SERVICES_CRASH_DETECTION_PENDING_TIMEOUT_SECONDS", 120),
  batchSize: positiveInt("ORION_SERVICES_CRASH_DETECTION_BATCH_SIZE", 100)
})
