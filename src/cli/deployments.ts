/**
 * The daily-work commands on deployments — `deployment ls | inspect | run | pause | resume | delete` — through the typed
 * API client (cli/api.ts); a deployment is named by its id or as `<flow name>/<deployment name>`.
 */
import { Args, HelpDoc, Options, ValidationError } from "@effect/cli"
import * as Command from "@effect/cli/Command"
import { Clock, Console, Effect } from "effect"
import type { OrionApiClient } from "../client/typed.js"
import type { Deployment } from "../domain/deployment.js"
import type { FlowRun } from "../domain/runs.js"
import type { RunPolicy } from "../domain/policy.js"
import type { Schedule } from "../domain/schedule.js"
import { States } from "../domain/state.js"
import type { CliApi } from "./api.js"
import { CliFailure, printJson, relativeTime, table } from "./output.js"
import { flowNames, iso, json, stateLabel, uuidPattern, withApi } from "./common.js"
import { endedAs, watchFlowRun } from "./watch.js"

// --- naming a deployment -----------------------------------------------------------------------------------------

type DeploymentRef = { readonly id: string } | { readonly name: string }

const deploymentArg = Args.text({ name: "deployment" }).pipe(
  Args.withDescription("The deployment: its id (a UUID), or <flow name>/<deployment name>"),
  Args.mapEffect((given): Effect.Effect<DeploymentRef, HelpDoc.HelpDoc> => {
    const text = given.trim()
    if (uuidPattern.test(text)) return Effect.succeed({ id: text.toLowerCase() })
    const slash = text.indexOf("/")
    if (slash > 0 && slash < text.length - 1) return Effect.succeed({ name: text })
    return Effect.fail(HelpDoc.p(`'${given}' is not a deployment: give its id (a UUID) or <flow name>/<deployment name>, e.g. etl/nightly`))
  }))

/** The deployment named; a name is split at each '/' in turn, as flow and deployment names may hold one themselves. */
const findDeployment = (client: OrionApiClient, ref: DeploymentRef): Effect.Effect<Deployment, CliFailure> => {
  if ("id" in ref) {
    return client.deployments.get({ path: { id: ref.id as Deployment["id"] } }).pipe(
      Effect.catchAll((e) => Effect.fail(new CliFailure({ message: e._tag === "ObjectNotFound" ? `No deployment with id ${ref.id}` : e.message }))))
  }
  const splits = [...ref.name.matchAll(/\//g)].map((m) => m.index).filter((i) => i > 0 && i < ref.name.length - 1)
  return Effect.gen(function*() {
    for (const at of splits) {
      const found = yield* client.deployments.getByName({ path: { flow_name: ref.name.slice(0, at), deployment_name: ref.name.slice(at + 1) } }).pipe(
        Effect.map((d): Deployment | undefined => d),
        Effect.catchAll((e) => e._tag === "ObjectNotFound" ? Effect.succeed(undefined) : Effect.fail(new CliFailure({ message: e.message }))))
      if (found !== undefined) return found
    }
    return yield* new CliFailure({ message: `No deployment named '${ref.name}' (give <flow name>/<deployment name>; \`orion deployment ls\` lists them)` })
  })
}

/** `<flow name>/<deployment name>`, as people name a deployment. */
const fullName = (flows: ReadonlyMap<string, string>, d: Deployment) => `${flows.get(d.flow_id) ?? d.flow_id}/${d.name}`

const withDeployment = <A, E, R>(ref: DeploymentRef, body: (client: OrionApiClient, d: Deployment, name: string, api: CliApi) => Effect.Effect<A, E, R>) =>
  withApi((client, api) => Effect.gen(function*() {
    const deployment = yield* findDeployment(client, ref)
    const flows = yield* flowNames(client, [deployment.flow_id])
    return yield* body(client, deployment, fullName(flows, deployment), api)
  }))

// --- how things read -----------------------------------------------------------------------------------------------

const duration = (seconds: number) => {
  for (const [unit, size] of [["d", 86400], ["h", 3600], ["m", 60]] as const) {
    if (seconds >= size && seconds % size === 0) return `${seconds / size}${unit}`
  }
  return `${seconds}s`
}

/** A schedule as one line: `every 1h from 2026-01-01T00:00:00.000Z`, `cron '0 9 * * 1-5' (Europe/Berlin)`, `rrule '…' (UTC)`. */
export const describeSchedule = (s: Schedule | null): string => {
  if (s === null) return "-"
  if ("interval" in s) {
    return `every ${duration(s.interval)}${s.anchor_date !== null ? ` from ${s.anchor_date.toISOString()}` : ""}${s.timezone !== null ? ` (${s.timezone})` : ""}`
  }
  if ("cron" in s) return `cron '${s.cron}'${s.timezone !== null ? ` (${s.timezone})` : ""}${s.day_or ? "" : " (day of month and day of week both)"}`
  return `rrule '${s.rrule}' (${s.timezone})`
}

const status = (d: Deployment) => d.is_schedule_active ? "active" : "paused"

const scheduledRuns = (client: OrionApiClient, deploymentId: Deployment["id"], limit: number) =>
  client.flow_runs.filter({
    payload: { deployments: { id: { any_: [deploymentId] } }, flow_runs: { state: { type: { any_: ["SCHEDULED"] } } }, sort: "NEXT_SCHEDULED_START_TIME_ASC", limit, offset: 0 }
  })

const scheduledFor = (r: FlowRun) => r.state?.state_details.scheduled_time ?? r.next_scheduled_start_time ?? r.expected_start_time

// --- deployment ls -------------------------------------------------------------------------------------------------

const flowOption = Options.text("flow").pipe(Options.withDescription("Only deployments of the flows with these names (repeatable)"), Options.repeated)

const deploymentLs = Command.make("ls", { flow: flowOption, json }, (o) =>
  withApi((client) => Effect.gen(function*() {
    const all: Array<Deployment> = []
    for (let offset = 0; ; offset += 200) {
      const page = yield* client.deployments.filter({ payload: { ...(o.flow.length > 0 ? { flows: { name: { any_: o.flow } } } : {}), limit: 200, offset } })
      all.push(...page)
      if (page.length < 200) break
    }
    if (o.json) return yield* printJson(all)
    if (all.length === 0) return yield* Console.log("No deployments.")
    const flows = yield* flowNames(client, all.map((d) => d.flow_id))
    const rows = all.map((d) => [fullName(flows, d), d.id, describeSchedule(d.schedule), status(d), d.tags.join(", ")])
    rows.sort((a, b) => a[0]!.localeCompare(b[0]!))
    yield* Console.log(table(["DEPLOYMENT", "ID", "SCHEDULE", "STATUS", "TAGS"], rows))
  }))).pipe(Command.withDescription("List deployments (flow/deployment, schedule, active or paused)"))

// --- deployment inspect --------------------------------------------------------------------------------------------

const nextOption = Options.integer("next").pipe(
  Options.withDescription("How many of its next scheduled runs to show (0–200)"),
  Options.withDefault(5),
  Options.mapEffect((n) => n >= 0 && n <= 200 ? Effect.succeed(n) : Effect.fail(ValidationError.invalidValue(HelpDoc.p(`--next must be between 0 and 200, got ${n}`)))))

const overlapWords = {
  allow: "allow: a run starts even while an earlier one is under way",
  skip: "skip: a run due while an earlier one is under way is skipped",
  cancel_previous: "cancel_previous: a run due cancels the earlier ones under way"
} as const

const describeRetries = (p: RunPolicy) =>
  p.max_retries === 0 ? "none" : `${p.max_retries}${p.retry_crashed === true ? ", crashes included" : " (failures only)"}`

const deploymentInspect = Command.make("inspect", { deployment: deploymentArg, next: nextOption, json }, (o) =>
  withDeployment(o.deployment, (client, d, name) => Effect.gen(function*() {
    const runs = o.next === 0 ? [] : yield* scheduledRuns(client, d.id, o.next)
    if (o.json) return yield* printJson({ deployment: d, name, scheduled_runs: runs })
    const now = new Date(yield* Clock.currentTimeMillis)
    yield* Console.log([
      `Deployment '${name}'`,
      `  id          ${d.id}`,
      `  flow        ${name.slice(0, name.length - d.name.length - 1)} (${d.flow_id})`,
      `  schedule    ${d.schedule === null ? "none (runs start with `orion deployment run`)" : describeSchedule(d.schedule)}`,
      `  status      ${d.is_schedule_active ? "active" : "paused: its schedule makes no runs (`orion deployment resume` turns it on)"}`,
      `  parameters  ${JSON.stringify(d.parameters)}`,
      `  tags        ${d.tags.length > 0 ? d.tags.join(", ") : "-"}`,
      `  work queue  ${d.work_queue}`,
      `  retries     ${describeRetries(d.empirical_policy)}`,
      `  catch-up    ${d.catchup_seconds === null ? "none: missed runs all run, however late" : `runs missed by more than ${d.catchup_seconds} s are skipped`}`,
      `  overlap     ${overlapWords[d.overlap]}`,
      `  flow data   ${d.flow_data.encoding}: ${d.flow_data.blob.length > 100 ? `${d.flow_data.blob.slice(0, 100)}…` : d.flow_data.blob}`,
      `  created     ${iso(d.created)}`,
      `  updated     ${iso(d.updated)}`,
      ...(o.next === 0 ? [] : [
        "",
        runs.length === 0 ? "No scheduled runs." : `Next scheduled runs (${runs.length}):`,
        ...(runs.length === 0 ? [] : [table(["NAME", "ID", "STATE", "SCHEDULED FOR", "WHEN"], runs.map((r) => {
          const at = scheduledFor(r)
          return [r.name, r.id, stateLabel(r.state_type, r.state_name), iso(at), at === null ? "" : relativeTime(at, now)]
        }))])
      ])
    ].join("\n"))
  }))).pipe(Command.withDescription("Show a deployment — schedule, parameters, tags, active or paused — and its next scheduled runs"))

// --- deployment run ------------------------------------------------------------------------------------------------

/** `key=value`: the value is JSON when it parses as JSON (`n=3`, `flag=true`, `xs=[1,2]`), else the text itself. */
export const parseParams = (given: ReadonlyArray<string>): Effect.Effect<Record<string, unknown>, ValidationError.ValidationError> =>
  Effect.gen(function*() {
    const params: Record<string, unknown> = {}
    for (const p of given) {
      const eq = p.indexOf("=")
      const key = eq < 0 ? "" : p.slice(0, eq).trim()
      if (key === "") return yield* Effect.fail(ValidationError.invalidValue(HelpDoc.p(`--param '${p}' must be key=value, e.g. --param n=3 or --param name=world`)))
      if (Object.hasOwn(params, key)) return yield* Effect.fail(ValidationError.invalidValue(HelpDoc.p(`--param '${key}' is given twice`)))
      const text = p.slice(eq + 1)
      let value: unknown = text
      try {
        value = JSON.parse(text)
      } catch {
        // not JSON: the text itself
      }
      if (typeof value === "number" && !Number.isFinite(value)) {
        return yield* Effect.fail(ValidationError.invalidValue(HelpDoc.p(`--param '${key}': ${text} is too large a number for JSON`)))
      }
      params[key] = value
    }
    return params
  })

const paramOption = Options.text("param").pipe(
  Options.withAlias("p"),
  Options.withDescription("A parameter for this run, key=value (repeatable); the value is JSON when it parses as JSON, else text. Overrides the deployment's own"),
  Options.repeated,
  Options.mapEffect(parseParams))
const tagOption = Options.text("tag").pipe(Options.withAlias("t"), Options.withDescription("A tag for this run, beside the deployment's (repeatable)"), Options.repeated)
const watchOption = Options.boolean("watch").pipe(
  Options.withAlias("w"),
  Options.withDescription("Follow the run's states until it ends; exit 1 unless it completed"))

const deploymentRun = Command.make("run", { deployment: deploymentArg, param: paramOption, tag: tagOption, watch: watchOption, json }, (o) =>
  withDeployment(o.deployment, (client, d, name, api) => Effect.gen(function*() {
    const run = yield* client.deployments.createFlowRun({
      path: { id: d.id },
      payload: { name: null, parameters: o.param, context: {}, tags: o.tag, idempotency_key: null, state: States.Scheduled({ message: "Run requested from the command line" }) }
    }).pipe(Effect.catchTag("ObjectNotFound", () => Effect.fail(new CliFailure({ message: `Deployment '${name}' was deleted meanwhile` }))))
    if (o.json) yield* Console.log(o.watch ? JSON.stringify(run) : JSON.stringify(run, null, 2))
    else yield* Console.log(`Created flow run '${run.name}' (${run.id}) of deployment '${name}', scheduled now: an agent will run it.`)
    if (!o.watch) return
    if (!o.json) yield* Console.log("Following its states (Ctrl-C stops following; the run goes on):")
    const final = yield* watchFlowRun(api, run.id, { print: true, json: o.json })
    yield* endedAs(run.name, final, "COMPLETED", o.json)
  }))).pipe(Command.withDescription("Create a flow run of a deployment, scheduled now for an agent to run; --watch follows it to its end"))

// --- deployment pause | resume | delete ----------------------------------------------------------------------------

const deploymentPause = Command.make("pause", { deployment: deploymentArg }, (o) =>
  withDeployment(o.deployment, (client, d, name) => Effect.gen(function*() {
    if (!d.is_schedule_active) return yield* Console.log(`Deployment '${name}' is already paused.`)
    yield* client.deployments.setScheduleInactive({ path: { id: d.id } })
    yield* Console.log(`Deployment '${name}' is paused: its schedule makes no runs until \`orion deployment resume ${name}\`, and the scheduled runs it had made were removed.`)
  }))).pipe(Command.withDescription("Pause a deployment's schedule: no new runs, and the scheduled ones it made are removed"))

const deploymentResume = Command.make("resume", { deployment: deploymentArg }, (o) =>
  withDeployment(o.deployment, (client, d, name) => Effect.gen(function*() {
    if (d.is_schedule_active) return yield* Console.log(`Deployment '${name}' is already active.`)
    yield* client.deployments.setScheduleActive({ path: { id: d.id } })
    if (d.schedule === null) return yield* Console.log(`Deployment '${name}' is active; it has no schedule, so its runs start with \`orion deployment run\`.`)
    const [next] = yield* scheduledRuns(client, d.id, 1)
    const at = next === undefined ? null : scheduledFor(next)
    yield* Console.log(`Deployment '${name}' is active: ${describeSchedule(d.schedule)}${at === null ? "" : `, next run at ${iso(at)}`}.`)
  }))).pipe(Command.withDescription("Resume a paused deployment's schedule: its runs are scheduled again"))

const deploymentDelete = Command.make("delete", { deployment: deploymentArg }, (o) =>
  withDeployment(o.deployment, (client, d, name) => Effect.gen(function*() {
    yield* client.deployments.delete({ path: { id: d.id } }).pipe(
      Effect.catchTag("ObjectNotFound", () => Effect.fail(new CliFailure({ message: `Deployment '${name}' was deleted meanwhile` }))))
    yield* Console.log(`Deleted deployment '${name}' (${d.id}); its scheduled runs that had not started were deleted with it, the others are kept.`)
  }))).pipe(Command.withDescription("Delete a deployment and its scheduled runs that have not started (runs that started are kept)"))

/** The subcommands of `orion deployment` that this module provides. */
export const deploymentSubcommands = [deploymentLs, deploymentInspect, deploymentRun, deploymentPause, deploymentResume, deploymentDelete] as const

/** Their command words, for usage lines (cli/output.ts). */
export const deploymentWords = ["deployment", "ls", "inspect", "run", "pause", "resume", "delete"] as const
