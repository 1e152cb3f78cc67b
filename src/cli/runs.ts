/**
 * The daily-work commands on runs and flows — `flow-run ls | inspect | logs | retry`, `task-run inspect`, `flow ls` —
 * all through the typed API client (cli/api.ts): human tables by default, `--json` for scripts.
 */
import { Args, HelpDoc, Options, ValidationError } from "@effect/cli"
import * as Command from "@effect/cli/Command"
import { Clock, Console, Effect, Option, Redacted } from "effect"
import type { OrionApiClient } from "../client/typed.js"
import type { FlowRun, TaskRun } from "../domain/runs.js"
import { emptyStateDetails, type StateType } from "../domain/state.js"
import type { Decision } from "../domain/orchestration.js"
import type { Log } from "../domain/log.js"
import { Api, type CliApi, layer as apiLayer } from "./api.js"
import { flowRunExecute } from "./flow-run-execute.js"
import { CliFailure, printJson, relativeTime, table } from "./output.js"

const stateTypes: ReadonlyArray<StateType> = ["SCHEDULED", "PENDING", "RUNNING", "COMPLETED", "FAILED", "CANCELLED", "CRASHED", "CANCELLING"]
const terminal: ReadonlySet<string> = new Set(["COMPLETED", "FAILED", "CANCELLED", "CRASHED"])
const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

const json = Options.boolean("json").pipe(Options.withDescription("Print JSON (for scripts) instead of a table"))

/** A run id argument: a UUID, or one clear line saying what was wrong. */
const runId = (what: string) =>
  Args.text({ name: "id" }).pipe(
    Args.withDescription(`The ${what}'s id (a UUID)`),
    Args.mapEffect((id) => uuidPattern.test(id.trim())
      ? Effect.succeed(id.trim().toLowerCase())
      : Effect.fail(HelpDoc.p(`'${id}' is not a ${what} id: ids are UUIDs, e.g. 0b9d3c1e-7f5a-4c2e-9a41-5e8f2d6c7b10`))))

/** Runs `body` with the API (remote, or the local database's), turning a missing object or a refused request into a one-line failure. */
export const withApi = <A, E, R>(body: (client: OrionApiClient, api: CliApi) => Effect.Effect<A, E, R>) =>
  Effect.flatMap(Api, (api) => body(api.client, api)).pipe(
    Effect.catchIf(
      (e): e is E & { readonly _tag: string; readonly message: string } =>
        typeof e === "object" && e !== null && "_tag" in e && ["ObjectNotFound", "ValidationError", "InvalidRequest", "BadRequest", "Conflict", "ServiceUnavailable", "InternalError"].includes(String(e._tag)),
      (e) => Effect.fail(new CliFailure({ message: e.message }))),
    Effect.provide(apiLayer)
  )

const notFound = (what: string, id: string) => () => Effect.fail(new CliFailure({ message: `No ${what} with id ${id}` }))

const seconds = (s: number) => s < 1 ? `${Math.round(s * 1000)}ms` : s < 120 ? `${s.toFixed(1)}s` : `${Math.floor(s / 60)}m${Math.round(s % 60)}s`
const iso = (d: Date | null) => d === null ? "" : d.toISOString()
const stateLabel = (type: string | null, name: string | null) =>
  type === null ? "-" : name !== null && name.toUpperCase().replace(/ /g, "_") !== type ? `${name} (${type})` : (name ?? type)

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

const flowNames = (client: OrionApiClient, ids: ReadonlyArray<string>) =>
  ids.length === 0 ? Effect.succeed(new Map<string, string>()) : Effect.map(
    client.flows.filter({ payload: { flows: { id: { any_: [...new Set(ids)] as Array<FlowRun["flow_id"]> } }, limit: 200, offset: 0 } }),
    (flows) => new Map(flows.map((f) => [f.id as string, f.name])))

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

interface StreamedEvent {
  readonly id: number
  readonly event: string
  readonly flow_run_id: string | null
  readonly task_run_id: string | null
  readonly payload: Record<string, unknown>
}

/**
 * The flow run's events from the event stream — replayed from the first, then live — until `onEvent` says the run has
 * ended and no event has come for `quiet` (log lines are shipped in batches, so some arrive after the final state);
 * reconnects (with the last event's id) when the stream ends or asks for a resync.
 */
const followEvents = (url: string, key: Option.Option<Redacted.Redacted>, flowRunId: string, onEvent: (e: StreamedEvent) => Effect.Effect<boolean>, quiet = 3000) =>
  Effect.gen(function*() {
    let last = 0
    let endedAt: number | undefined
    for (let attempt = 0; attempt < 50; attempt++) {
      const done = yield* Effect.tryPromise({
        try: async (signal) => {
          const abort = new AbortController()
          signal.addEventListener("abort", () => abort.abort())
          const response = await fetch(`${url}/events?flow_run_id=${flowRunId}&last_event_id=${last}`, {
            headers: { accept: "text/event-stream", ...Option.match(key, { onNone: () => ({}), onSome: (k) => ({ authorization: `Bearer ${Redacted.value(k)}` }) }) },
            signal: abort.signal
          })
          if (!response.ok || response.body === null) throw new Error(`the event stream answered ${response.status}`)
          const chunks = (response.body as unknown as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]()
          const decoder = new TextDecoder()
          let buffer = ""
          try {
            for (;;) {
              const next = chunks.next()
              const wait = endedAt === undefined ? undefined : Math.max(0, endedAt + quiet - Date.now())
              const result = wait === undefined
                ? await next
                : await Promise.race([next, new Promise<"quiet">((resolve) => setTimeout(() => resolve("quiet"), wait))])
              if (result === "quiet") return true
              if (result.done === true) return false
              buffer += decoder.decode(result.value, { stream: true })
              let end: number
              while ((end = buffer.indexOf("\n\n")) >= 0) {
                const frame = buffer.slice(0, end)
                buffer = buffer.slice(end + 2)
                const kind = /^event: (.*)$/m.exec(frame)?.[1]
                const data = /^data: (.*)$/m.exec(frame)?.[1]
                if (kind === undefined || data === undefined || kind === "hello") continue
                if (kind === "resync") return false
                const event = JSON.parse(data) as StreamedEvent
                last = Math.max(last, event.id)
                if (await Effect.runPromise(onEvent(event))) endedAt = Date.now()
                else if (endedAt !== undefined) endedAt = Date.now()
              }
            }
          } finally {
            abort.abort()
          }
        },
        catch: (e) => new CliFailure({ message: `Could not follow the event stream at ${url}/events: ${e instanceof Error ? e.message : String(e)}` })
      })
      if (done) return
      yield* Effect.sleep("500 millis")
    }
    return yield* new CliFailure({ message: `The event stream at ${url}/events kept ending; stopped following` })
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
  Command.withSubcommands([flowRunLs, flowRunInspect, flowRunLogs, flowRunRetry, flowRunExecute]),
  Command.withDescription("Flow runs: list, inspect, logs, retry (the local database, or the server at ORION_API_URL)"))
export const taskRun = Command.make("task-run").pipe(Command.withSubcommands([taskRunInspect]), Command.withDescription("Task runs: inspect"))
export const flow = Command.make("flow").pipe(Command.withSubcommands([flowLs]), Command.withDescription("Flows: list"))

/** Every command word of this module, for usage lines (cli/output.ts). */
export const commandWords = ["flow-run", "task-run", "flow", "ls", "inspect", "logs", "retry", "execute"] as const

