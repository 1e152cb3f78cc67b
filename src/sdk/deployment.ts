/**
 * `deployment()`: a deployment defined in code, next to its flow — name, default parameters, tags, schedule, work queue.
 * A module exports its deployments; `orion deployment create <file>` registers them, and agents then run their flows.
 */
import { Duration, Either, Option, ParseResult, Schema } from "effect"
import { CatchupSeconds, DEFAULT_WORK_QUEUE, OverlapPolicy, WorkQueueName } from "../domain/deployment.js"
import { RunPolicy } from "../domain/policy.js"
import { Key, Tags } from "../domain/primitives.js"
import { CronSchedule, IntervalSchedule, RRuleSchedule, type Schedule } from "../domain/schedule.js"
import { scheduleDates } from "../domain/schedules/dates.js"
import type { Flow } from "./flow.js"
import { flowRunnerOf } from "./flow-runner.js"

/** When a deployment's runs are due. A number of seconds or a Duration string (`"1 hour"`) for intervals. */
export type ScheduleInput =
  | {
    readonly interval: Duration.DurationInput
    /** The first date of the series (dates are anchor + k·interval); default 2020-01-01 in `timezone` (or UTC). */
    readonly anchorDate?: Date | string
    /** An IANA zone: intervals of whole days keep the local clock time across DST. */
    readonly timezone?: string
  }
  | {
    /** Five cron fields, e.g. `"0 9 * * 1-5"`. */
    readonly cron: string
    readonly timezone?: string
    /** Whether day-of-month and day-of-week are OR'ed (standard cron, default) or AND'ed. */
    readonly dayOr?: boolean
  }
  | { readonly rrule: string; readonly timezone?: string }

/** The flow's parameters a deployment gives by default: any of them (a run may give the rest). */
export type DeploymentParameters<I> = [I] extends [undefined] ? never : Partial<NonNullable<I>>

export interface DeploymentOptions<I> {
  /** The flow to run. Export it from the same module as the deployment: agents load it by that export. */
  readonly flow: Flow<I, any>
  /** Unique per flow; the deployment is addressed as `<flow name>/<name>`. */
  readonly name: string
  readonly parameters?: DeploymentParameters<I>
  /** Copied onto every run of the deployment. */
  readonly tags?: ReadonlyArray<string>
  readonly schedule?: ScheduleInput
  /** Whether the schedule makes runs (default true); `orion deployment pause|resume` changes it later. */
  readonly scheduleActive?: boolean
  /** The work queue its runs go to (default `"default"`): an agent runs those of the queues it was started for. */
  readonly workQueue?: string
  /** Retries of its runs (default: the flow's `retries`). */
  readonly retries?: number
  /**
   * Whether a run whose process died (Crashed, found by crash detection) is retried like a failed one, within
   * `retries` (default: the flow's `retryCrashed`).
   */
  readonly retryCrashed?: boolean
  /**
   * A catch-up window: a run an agent finds due more than this long after its time (no agent was running) is skipped —
   * it ends Cancelled, named Skipped, saying why — instead of run late. Seconds or a Duration string (`"10 minutes"`).
   * Default: none, every missed run is run.
   */
  readonly catchUp?: Duration.DurationInput
  /**
   * What an agent does with a due run while an earlier run of this deployment is still Pending, Running or Cancelling:
   * `"allow"` it (default), `"skip"` it (Cancelled, named Skipped), or `"cancel_previous"` (the earlier runs are
   * cancelled, and this one starts).
   */
  readonly overlap?: OverlapPolicy
}

/** The brand of a deployment definition (`Symbol.for`: the same in every copy of Orion in a process). */
const DEPLOYMENT: unique symbol = Symbol.for("@orion-ts/orion/deployment") as never

/** A validated deployment, as `orion deployment create` registers it. */
export interface DeploymentDefinition {
  readonly [DEPLOYMENT]: true
  readonly flow: Flow<any, any>
  readonly flowName: string
  readonly name: string
  readonly parameters: Readonly<Record<string, unknown>>
  readonly tags: ReadonlyArray<string>
  /** As the API takes it (interval in seconds, snake_case). */
  readonly schedule: Schedule | null
  readonly scheduleActive: boolean
  readonly workQueue: string
  /** The retry policy of its runs, as the API takes it: the flow's, with the deployment's `retries` and `retryCrashed`. */
  readonly policy: RunPolicy
  readonly catchupSeconds: number | null
  readonly overlap: OverlapPolicy
}

const fail = (name: string, what: string): never => {
  throw new TypeError(`deployment '${name}': ${what}`)
}

const check = <A, I>(name: string, what: string, schema: Schema.Schema<A, I>, value: unknown): A => {
  const result = Schema.decodeUnknownEither(schema, { errors: "all", onExcessProperty: "error" })(value)
  return Either.isLeft(result) ? fail(name, `invalid ${what}: ${ParseResult.TreeFormatter.formatErrorSync(result.left)}`) : result.right
}

/** The API's schedule for `input`, validated by the domain's Schema. */
const scheduleOf = (name: string, input: ScheduleInput): Schedule => {
  if (typeof input !== "object" || input === null) return fail(name, "the schedule must be an object: { interval }, { cron } or { rrule }")
  let wire: Record<string, unknown>
  if ("interval" in input) {
    const interval = typeof input.interval === "number" ? Option.some(Duration.seconds(input.interval)) : Duration.decodeUnknown(input.interval)
    const duration = Option.isSome(interval) ? interval.value : fail(name, `invalid interval ${JSON.stringify(input.interval)}: give seconds or a duration such as "1 hour"`)
    const anchor = input.anchorDate instanceof Date ? input.anchorDate.toISOString() : input.anchorDate
    wire = { interval: Duration.toMillis(duration) / 1000, ...(input.timezone !== undefined ? { timezone: input.timezone } : {}), ...(anchor !== undefined ? { anchor_date: anchor } : {}) }
  } else if ("cron" in input) {
    wire = { cron: input.cron, ...(input.timezone !== undefined ? { timezone: input.timezone } : {}), ...(input.dayOr !== undefined ? { day_or: input.dayOr } : {}) }
  } else if ("rrule" in input) {
    wire = { rrule: input.rrule, ...(input.timezone !== undefined ? { timezone: input.timezone } : {}) }
  } else return fail(name, "the schedule must have an interval, a cron or an rrule")
  // Checked as the kind it is, so an error names what is wrong with it rather than why it is none of the three.
  const options = { errors: "all", onExcessProperty: "error" } as const
  const decoded: Either.Either<Schedule, ParseResult.ParseError> = "interval" in input
    ? Schema.decodeUnknownEither(IntervalSchedule, options)(wire)
    : "cron" in input ? Schema.decodeUnknownEither(CronSchedule, options)(wire) : Schema.decodeUnknownEither(RRuleSchedule, options)(wire)
  if (Either.isLeft(decoded)) {
    // The first issue of each field (a nullable one also reports "Expected null").
    const issues = new Map<string, string>()
    for (const i of ParseResult.ArrayFormatter.formatErrorSync(decoded.left)) {
      const at = i.path.join(".")
      if (!issues.has(at)) issues.set(at, at === "" ? i.message : `${at}: ${i.message}`)
    }
    return fail(name, `invalid schedule: ${[...issues.values()].join("; ")}`)
  }
  // What only computing dates finds (an RRULE part it does not know, a rule that makes no date), as the API refuses it.
  const dates = scheduleDates(decoded.right, { start: new Date(), n: 1 })
  return Either.isLeft(dates) ? fail(name, `invalid schedule: ${dates.left}`) : decoded.right
}

/**
 * Defines a deployment of `flow`. Export it from the flow's module; `orion deployment create <file>` registers every
 * deployment the module exports (again: it updates them), and an agent (`orion agent start`) runs their runs.
 *
 * ```ts
 * export const etl = flow({ name: "etl", parameters: Schema.Struct({ n: Schema.Number }) }, ({ n }) => …)
 * export const hourly = deployment({ flow: etl, name: "hourly", parameters: { n: 10 }, schedule: { interval: "1 hour" } })
 * ```
 * Invalid options throw at once, naming what is wrong.
 */
export const deployment = <I>(options: DeploymentOptions<I>): DeploymentDefinition => {
  const name = check("(unnamed)", "name", Key.pipe(Schema.minLength(1, { message: () => "a deployment needs a name" })), options?.name)
  if (name.includes("/")) fail(name, "a deployment name cannot contain '/' (deployments are addressed as <flow>/<deployment>)")
  const runner = flowRunnerOf(options.flow)
  if (runner === undefined) fail(name, "`flow` must be a flow made with flow()")
  const parameters = options.parameters ?? {}
  if (typeof parameters !== "object" || parameters === null || Array.isArray(parameters)) fail(name, "`parameters` must be an object of the flow's parameters")
  try {
    JSON.stringify(parameters)
  } catch (e) {
    fail(name, `the parameters must be JSON data to be stored: ${e instanceof Error ? e.message : String(e)}`)
  }
  return {
    [DEPLOYMENT]: true,
    flow: options.flow,
    flowName: runner!.flowName,
    name,
    parameters: JSON.parse(JSON.stringify(parameters)) as Record<string, unknown>,
    tags: [...new Set(check(name, "tags", Tags, options.tags ?? []))],
    schedule: options.schedule === undefined ? null : scheduleOf(name, options.schedule),
    scheduleActive: options.scheduleActive ?? true,
    workQueue: check(name, "work queue", WorkQueueName, options.workQueue ?? DEFAULT_WORK_QUEUE),
    policy: check(name, "retry options", RunPolicy, {
      ...runner!.policy,
      ...(options.retries !== undefined ? { max_retries: options.retries } : {}),
      ...(options.retryCrashed !== undefined ? { retry_crashed: options.retryCrashed } : {})
    }),
    catchupSeconds: options.catchUp === undefined ? null : check(name, "catchUp", CatchupSeconds, secondsOf(name, "catchUp", options.catchUp)),
    overlap: Schema.is(OverlapPolicy)(options.overlap ?? "allow") ? options.overlap ?? "allow"
      : fail(name, `invalid overlap ${JSON.stringify(options.overlap)}: give "allow", "skip" or "cancel_previous"`)
  }
}

/** Seconds of a Duration input (a number is seconds, checked as it is: a Duration would clamp a negative one to 0). */
const secondsOf = (name: string, what: string, input: Duration.DurationInput): number => {
  if (typeof input === "number") return input
  const duration = Duration.decodeUnknown(input)
  return Option.isSome(duration) ? Duration.toMillis(duration.value) / 1000 : fail(name, `invalid ${what} ${JSON.stringify(input)}: give seconds or a duration such as "10 minutes"`)
}

/** Whether `value` is a deployment definition (from any copy of Orion). */
export const isDeploymentDefinition = (value: unknown): value is DeploymentDefinition =>
  typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[DEPLOYMENT] === true
