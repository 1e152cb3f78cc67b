/**
 * The daily-work commands on runs and flows — `flow-run ls | inspect | logs | retry | cancel`, `task-run inspect`,
 * `flow ls` — all through the typed API client (cli/api.ts): human tables by default, `--json` for scripts.
 */
import { HelpDoc, Options, ValidationError } from "@effect/cli"
import * as Command from "@effect/cli/Command"
import { Clock, Console, Effect } from "effect"
import type { OrionApiClient } from "../client/typed.js"
import type { FlowRun, TaskRun } from "../domain/runs.js"
import { emptyStateDetails, type StateType } from "../domain/state.js"
import type { Decision } from "../domain/orchestration.js"
import type { Log } from "../domain/log.js"
import { flowRunCancel } from "./cancel.js"
import { flowRunExecute } from "./flow-run-execute.js"
import { flowNames, followEvents, iso, json, notFound, runId, stateLabel, terminal, withApi } from "./common.js"
import { CliFailure, printJson, relativeTime, table } from "./output.js"

const stateTypes: ReadonlyArray<StateType> = ["SCHEDULED", "PENDING", "RUNNING", "COMPLETED", "FAILED", "CANCELLED", "CRASHED", "CANCELLING"]

const seconds = (s: number) => s < 1 ? `${Math.round(s * 1000)}ms` : s < 120 ? `${s.toFixed(1)}s` : `${Math.floor(s / 60)}m${Math.round(s % 60)}s`
/** When a run is due or last moved: its scheduled time while scheduled, else its state's timestamp. */
const runWhen = (run: FlowRun | TaskRun, now: Date) => {
  const at = run.state_type === "SCHEDULED" ? run.state?.state_details.scheduled_time ?? run.expected_start_time : run.state?.timestamp ?? null
  return at === null ? "" : relativeTime(at, now)
}

// --- flow-run ls -------------------------------------------------------------------------------------------------

const stateOption = Options.text("state").pipe(
  Options.withDescription(`Only runs in these state types (repeatable): ${stateTypes.map((s) => s.toLowerCase()).join(", ")}`),
  Options.repeated,
  Options.mapEffect((given) => Effect.forEach(given, (s) => {
    const type = s.trim().toUpperCase().replace(/-/g, "_") as StateType
    return stateTypes.includes(type)
      ? Effect.succeed(type)
      : Effect.fail(ValidationError.invalidValue(HelpDoc.p(`--state '${s}' is not a state type: use one of ${stateTypes.map((t) => t.toLowerCase()).join(", ")}`)))
  }))
)
const flowOption = Options.text("flow").pipe(Options.withDescription("Only runs of the flows with these names (repeatable)"), Options.repeated)
const limitOption = Options.integer("limit").pipe(
  Options.withDescription("How many runs to list, newest first (1–200)"),
  Options.withDefault(15),
  Options.mapEffect((n) => n >= 1 && n <= 200 ? Effect.succeed(n) : Effect.fail(ValidationError.invalidValue(HelpDoc.p(`--limit must be between 1 and 200, got ${n}`))))
)

const flowRunLs = Command.make("ls", { state: stateOption, flow: flowOption, limit: limitOption, json }, (o) =>
  withApi((client) => Effect.gen(function*() {
    const runs = yield* client.flow_runs.filter({
      payload: {
        ...(o.flow.length > 0 ? { flows: { name: { any_: o.flow } } } : {}),
        ...(o.state.length > 0 ? { flow_runs: { state: { type: { any_: o.state } } } } : {}),
        sort: "EXPECTED_START_TIME_DESC", limit: o.limit, offset: 0
      }
    })
    if (o.json) return yield* printJson(runs)
    if (runs.length === 0) return yield* Console.log("No flow runs.")
    const names = yield* flowNames(client, runs.map((r) => r.flow_id))
    const now = new Date(yield* Clock.currentTimeMillis)
    yield* Console.log(table(["FLOW", "NAME", "ID", "STATE", "WHEN"], runs.map((r) =>
      [names.get(r.flow_id) ?? r.flow_id, r.name, r.id, stateLabel(r.state_type, r.state_name), runWhen(r, now)])))
  }))).pipe(Command.withDescription("List flow runs, newest first"))

// --- flow-run inspect --------------------------------------------------------------------------------------------

const decisionRows = (decisions: ReadonlyArray<Decision>) => decisions.map((d) => [
  iso(d.timestamp),
  `${d.from_type ?? "∅"} → ${d.proposed_type}${d.forced ? " (forced)" : ""}`,
  d.status,
  d.state_type === null ? "-" : stateLabel(d.state_type, d.state_name),
  d.rule ?? "",
  d.reason ?? ""
])
const decisionHeader = ["TIME", "PROPOSED", "DECISION", "STATE", "RULE", "REASON"]

const flowRunInspect = Command.make("inspect", { id: runId("flow run"), json }, (o) =>
  withApi((client) => Effect.gen(function*() {
    const run = yield* client.flow_runs.get({ path: { id: o.id as FlowRun["id"] } }).pipe(Effect.catchTag("ObjectNotFound", notFound("flow run", o.id)))
    const [flow, states, decisions, taskRuns] = yield* Effect.all([
      client.flows.get({ path: { id: run.flow_id } }),
      client.flow_run_states.list({ urlParams: { flow_run_id: run.id } }),
      client.flow_runs.decisions({ path: { id: run.id } }),
      client.task_runs.filter({ payload: { flow_runs: { id: { any_: [run.id] } }, sort: "EXPECTED_START_TIME_ASC", limit: 200, offset: 0 } })
    ], { concurrency: "unbounded" })
    if (o.json) return yield* printJson({ flow_run: run, flow, states, decisions, task_runs: taskRuns })
    yield* Console.log([
      `Flow run '${run.name}' of flow '${flow.name}'`,
      `  id          ${run.id}`,
      `  state       ${stateLabel(run.state_type, run.state_name)}${run.state?.message ? ` — ${run.state.message}` : ""}`,
      `  started     ${iso(run.start_time) || "-"}`,
      `  ended       ${iso(run.end_time) || "-"}`,
      `  run time    ${seconds(run.total_run_time)} over ${run.run_count} run(s)`,
      `  parameters  ${JSON.stringify(run.parameters)}`,
      ...(run.tags.length > 0 ? [`  tags        ${run.tags.join(", ")}`] : []),
      ...(run.deployment_id !== null ? [`  deployment  ${run.deployment_id}`] : []),
      "",
      `State history (${states.length} states, ${decisions.length} decisions):`,
      table(decisionHeader, decisionRows(decisions)),
      "",
      taskRuns.length === 0 ? "No task runs." : `Task runs (${taskRuns.length}):`,
      ...(taskRuns.length === 0 ? [] : [table(["NAME", "ID", "STATE", "RUNS", "RUN TIME"], taskRuns.map((t) =>
        [t.name, t.id, stateLabel(t.state_type, t.state_name), String(t.run_count), seconds(t.total_run_time)]))])
    ].join("\n"))
  }))).pipe(Command.withDescription("Show a flow run: its state history with each decision's rule and reason, and its task runs"))

// --- flow-run logs -----------------------------------------------------------------------------------------------

const levelName = (level: number) => level >= 50 ? "CRITICAL" : level >= 40 ? "ERROR" : level >= 30 ? "WARNING" : level >= 20 ? "INFO" : "DEBUG"
const logLine = (l: { readonly timestamp: Date | string; readonly level: number; readonly name: string; readonly message: string }) =>
  `${(typeof l.timestamp === "string" ? new Date(l.timestamp) : l.timestamp).toISOString()} ${levelName(l.level).padEnd(8)} ${l.name} | ${l.message}`

const allLogs = (client: OrionApiClient, flowRunId: FlowRun["id"]) =>
  Effect.gen(function*() {
    const out: Array<Log> = []
    for (let offset = 0; ; offset += 200) {
      const page = yield* client.logs.filter({ payload: { logs: { flow_run_id: { any_: [flowRunId] } }, sort: "TIMESTAMP_ASC", limit: 200, offset } })
      out.push(...page)
      if (page.length < 200) return out
    }
  })

const follow = Options.boolean("follow").pipe(Options.withAlias("f"), Options.withDescription("Keep printing new log lines until the flow run ends"))

const flowRunLogs = Command.make("logs", { id: runId("flow run"), follow, json }, (o) =>
  withApi((client, api) => Effect.gen(function*() {
    const run = yield* client.flow_runs.get({ path: { id: o.id as FlowRun["id"] } }).pipe(Effect.catchTag("ObjectNotFound", notFound("flow run", o.id)))
    const print = (l: { readonly timestamp: Date | string; readonly level: number; readonly name: string; readonly message: string; readonly task_run_id: string | null }) =>
      o.json ? Console.log(JSON.stringify({ timestamp: l.timestamp, level: l.level, name: l.name, message: l.message, task_run_id: l.task_run_id })) : Console.log(logLine(l))
    if (!o.follow) {
      const logs = yield* allLogs(client, run.id)
      if (logs.length === 0 && !o.json) return yield* Console.log(`No logs for flow run '${run.name}'.`)
      return yield* Effect.forEach(logs, print, { discard: true })
    }
    // Following: every log line of the run comes through its events (replayed, then live), until the run ends.
    let final: string | undefined
    yield* followEvents(api.url, api.key, run.id, (e) => {
      if (e.event === "log") {
        const p = e.payload as { timestamp: string; level: number; name: string; message: string; truncated?: boolean }
        return Effect.as(print({ ...p, message: p.truncated ? `${p.message} …(truncated; \`orion flow-run logs\` prints it whole)` : p.message, task_run_id: e.task_run_id }), false)
      }
      if (e.event === "flow_run.state_changed" && e.flow_run_id === run.id) {
        const state = e.payload.state as { type?: string; name?: string } | null
        if (state?.type !== undefined && terminal.has(state.type)) {
          final = state.name ?? state.type
          return Effect.succeed(true)
        }
      }
      return Effect.succeed(false)
    })
    if (final !== undefined && !o.json) yield* Console.log(`Flow run '${run.name}' finished in state ${final}.`)
  }))).pipe(Command.withDescription("Print a flow run's logs; --follow keeps printing them (from the event stream) until the run ends"))

// --- flow-run retry ----------------------------------------------------------------------------------------------

const flowRunRetry = Command.make("retry", { id: runId("flow run"), json }, (o) =>
  withApi((client) => Effect.gen(function*() {
    const run = yield* client.flow_runs.get({ path: { id: o.id as FlowRun["id"] } }).pipe(Effect.catchTag("ObjectNotFound", notFound("flow run", o.id)))
    if (run.state_type === null || !terminal.has(run.state_type)) {
      return yield* new CliFailure({ message: `Flow run '${run.name}' is ${run.state_type ?? "without a state"}: only a finished run (completed, failed, cancelled, crashed) can be retried` })
    }
    if (run.deployment_id === null) {
      return yield* new CliFailure({ message: `Flow run '${run.name}' was not created from a deployment, so no agent can run it again: run its flow again instead` })
    }
    const now = new Date(yield* Clock.currentTimeMillis)
    const result = yield* client.flow_runs.setState({
      path: { id: run.id },
      payload: {
        state: { type: "SCHEDULED", name: "AwaitingRetry", message: "Retry requested from the command line", data: null, state_details: { ...emptyStateDetails, scheduled_time: now } },
        force: true
      }
    })
    if (o.json) return yield* printJson(result)
    if (result.status !== "ACCEPT") {
      return yield* new CliFailure({ message: `Flow run '${run.name}' was not rescheduled: ${result.status}${result.details.type === "reject_details" || result.details.type === "abort_details" ? ` (${result.details.reason ?? ""})` : ""}` })
    }
    yield* Console.log(`Flow run '${run.name}' (${run.id}) is ${result.state?.name ?? "scheduled"}: an agent will run it again.`)
  }))).pipe(Command.withDescription("Schedule a finished flow run of a deployment to run again"))

// --- task-run inspect --------------------------------------------------------------------------------------------

const taskRunInspect = Command.make("inspect", { id: runId("task run"), json }, (o) =>
  withApi((client) => Effect.gen(function*() {
    const run = yield* client.task_runs.get({ path: { id: o.id as TaskRun["id"] } }).pipe(Effect.catchTag("ObjectNotFound", notFound("task run", o.id)))
    const [states, decisions] = yield* Effect.all([
      client.task_run_states.list({ urlParams: { task_run_id: run.id } }),
      client.task_runs.decisions({ path: { id: run.id } })
    ], { concurrency: "unbounded" })
    if (o.json) return yield* printJson({ task_run: run, states, decisions })
    yield* Console.log([
      `Task run '${run.name}'`,
      `  id          ${run.id}`,
      `  flow run    ${run.flow_run_id}`,
      `  state       ${stateLabel(run.state_type, run.state_name)}${run.state?.message ? ` — ${run.state.message}` : ""}`,
      `  task key    ${run.task_key}${run.dynamic_key !== "" ? ` [${run.dynamic_key}]` : ""}`,
      `  run time    ${seconds(run.total_run_time)} over ${run.run_count} run(s)`,
      ...(run.cache_key !== null ? [`  cache key   ${run.cache_key}`] : []),
      "",
      `State history (${states.length} states, ${decisions.length} decisions):`,
      table(decisionHeader, decisionRows(decisions))
    ].join("\n"))
  }))).pipe(Command.withDescription("Show a task run: its state history with each decision's rule and reason"))

// --- flow ls -----------------------------------------------------------------------------------------------------

const flowLs = Command.make("ls", { limit: limitOption, json }, (o) =>
  withApi((client) => Effect.gen(function*() {
    const flows = yield* client.flows.filter({ payload: { limit: o.limit, offset: 0 } })
    if (o.json) return yield* printJson(flows)
    if (flows.length === 0) return yield* Console.log("No flows.")
    yield* Console.log(table(["NAME", "ID", "CREATED", "TAGS"], flows.map((f) => [f.name, f.id, iso(f.created), f.tags.join(", ")])))
  }))).pipe(Command.withDescription("List flows"))

export const flowRun = Command.make("flow-run").pipe(
  Command.withSubcommands([flowRunLs, flowRunInspect, flowRunLogs, flowRunRetry, flowRunCancel, flowRunExecute]),
  Command.withDescription("Flow runs: list, inspect, logs, retry, cancel, execute (the local database, or the server at ORION_API_URL)"))
export const taskRun = Command.make("task-run").pipe(Command.withSubcommands([taskRunInspect]), Command.withDescription("Task runs: inspect"))
export const flow = Command.make("flow").pipe(Command.withSubcommands([flowLs]), Command.withDescription("Flows: list"))

/** Every command word of this module, for usage lines (cli/output.ts). */
export const commandWords = ["flow-run", "task-run", "flow", "ls", "inspect", "logs", "retry", "cancel", "execute"] as const

