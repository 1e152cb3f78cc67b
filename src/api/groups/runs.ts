/**
 * `/api/flow_runs` and `/api/task_runs`: creating runs (their first state set by the orchestrator), reads, filters,
 * counts, history, the task graph, deletes, `set_state` proposals, the orchestrator's recorded decisions (spec §4.4),
 * heartbeats of running runs, and batches of proposals and task-run creates (one request for many, as remote clients send them).
 */
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as OpenApi from "@effect/platform/OpenApi"
import { Schema } from "effect"
import { Conflict, InvalidRequest, ObjectNotFound } from "../../domain/errors.js"
import { CountRequest, FlowRunFilterRequest, TaskRunFilterRequest } from "../../domain/filters.js"
import { HistoryRequest, HistoryResponse } from "../../domain/history.js"
import { CreateOutcome, MAX_BATCH_ITEMS, SetStateBatch, SetStateOutcome, TaskRunCreateBatch } from "../../domain/batches.js"
import { Decision, OrchestrationResult, SetStateRequest } from "../../domain/orchestration.js"
import { FlowRun, FlowRunCreate, FlowRunUpdate, TaskRun, TaskRunCreate, TaskRunDependencies } from "../../domain/runs.js"
import { FlowRunSummary } from "../../domain/flow-run-summary.js"
import { TaskRunGraph } from "../../domain/task-run-graph.js"
import { MAX_SUMMARY_PAGE, TaskRunSummaryPage, TaskRunSummaryParams } from "../../domain/task-run-summary.js"
import { IdPath, conflict, strict } from "../schemas.js"
import { PayloadTooLarge, ValidationError } from "../errors.js"

const notFound = { status: 404 } as const

const setState = (prefix: string) =>
  HttpApiEndpoint.post("setState", `/api/${prefix}/:id/set_state`).annotate(OpenApi.Summary, `Propose a ${prefix === "flow_runs" ? "flow" : "task"} run state`).addError(Conflict, conflict).addError(PayloadTooLarge).addError(ValidationError)
    .setPath(IdPath)
    .setPayload(strict(SetStateRequest))
    .addSuccess(OrchestrationResult, { status: 201 })
    .addSuccess(OrchestrationResult)
    .addError(ObjectNotFound, notFound)
    .annotate(OpenApi.Description, "Proposes a state. 201 when a state was stored (ACCEPT, REJECT), 200 when not (WAIT, ABORT).")

const decisions = (prefix: string) =>
  HttpApiEndpoint.get("decisions", `/api/${prefix}/:id/decisions`).annotate(OpenApi.Summary, `Read the orchestrator's decisions on a ${prefix === "flow_runs" ? "flow" : "task"} run`).addError(ValidationError)
    .setPath(IdPath)
    .addSuccess(Schema.Array(Decision))
    .addError(ObjectNotFound, notFound)
    .annotate(OpenApi.Description, "Every decision of the orchestrator on this run, oldest first: status, deciding rule, reason.")

const setStates = (prefix: string) =>
  HttpApiEndpoint.post("setStates", `/api/${prefix}/set_states`).annotate(OpenApi.Summary, `Propose many ${prefix === "flow_runs" ? "flow" : "task"} run states`).addError(Conflict, conflict).addError(PayloadTooLarge).addError(ValidationError)
    .setPayload(strict(SetStateBatch))
    .addSuccess(Schema.Array(SetStateOutcome))
    .annotate(OpenApi.Description,
      `Proposes many states at once (at most ${MAX_BATCH_ITEMS}), each as \`set_state\` would: one answer per item, in order — its \`result\`, or an \`error\` when the run does not exist. A database failure fails the whole batch (503), though some items may have been applied.`)

/** The longest a `wait_for_slot` request is held open. */
export const MAX_SLOT_WAIT_SECONDS = 60

const SlotWaitRequest = Schema.Struct({
  timeout_seconds: Schema.Number.pipe(Schema.greaterThan(0), Schema.lessThanOrEqualTo(MAX_SLOT_WAIT_SECONDS))
}).annotations({ identifier: "SlotWaitRequest" })

const SlotWaitResponse = Schema.Struct({ woken: Schema.Boolean }).annotations({ identifier: "SlotWaitResponse" })

const heartbeat = (prefix: string) =>
  HttpApiEndpoint.post("heartbeat", `/api/${prefix}/:id/heartbeat`).annotate(OpenApi.Summary, `Record a ${prefix === "flow_runs" ? "flow" : "task"} run's heartbeat`).addError(Conflict, conflict).addError(ValidationError)
    .setPath(IdPath)
    .addError(ObjectNotFound, notFound)
    .annotate(OpenApi.Description, "Records that the run is alive: its `heartbeat_time` becomes now while it is RUNNING (otherwise nothing changes). 204.")

const history = (prefix: string) =>
  HttpApiEndpoint.post("history", `/api/${prefix}/history`).annotate(OpenApi.Summary, `Count ${prefix === "flow_runs" ? "flow" : "task"} runs by state over time`).addError(PayloadTooLarge).addError(ValidationError)
    .setPayload(strict(HistoryRequest))
    .addSuccess(HistoryResponse)
    .addError(InvalidRequest, { status: 422 })

export class FlowRunsGroup extends HttpApiGroup.make("flow_runs")
  .add(HttpApiEndpoint.post("create", "/api/flow_runs/").annotate(OpenApi.Summary, "Create a flow run").addError(Conflict, conflict).addError(PayloadTooLarge).addError(ValidationError)
    .setPayload(strict(FlowRunCreate))
    .addSuccess(FlowRun, { status: 201 })
    .addSuccess(FlowRun)
    .addError(ObjectNotFound, notFound)
    .annotate(OpenApi.Description, "Creates a flow run in its initial state (default Pending): 201; an existing run with the same idempotency key: 200."))
  .add(HttpApiEndpoint.patch("update", "/api/flow_runs/:id").annotate(OpenApi.Summary, "Update a flow run").addError(Conflict, conflict).addError(PayloadTooLarge).addError(ValidationError).setPath(IdPath).setPayload(strict(FlowRunUpdate)).addError(ObjectNotFound, notFound))
  .add(HttpApiEndpoint.post("count", "/api/flow_runs/count").annotate(OpenApi.Summary, "Count flow runs").addError(PayloadTooLarge).addError(ValidationError).setPayload(strict(CountRequest)).addSuccess(Schema.Int))
  .add(history("flow_runs"))
  .add(HttpApiEndpoint.get("get", "/api/flow_runs/:id").annotate(OpenApi.Summary, "Read a flow run").addError(ValidationError).setPath(IdPath).addSuccess(FlowRun).addError(ObjectNotFound, notFound))
  .add(HttpApiEndpoint.get("graph", "/api/flow_runs/:id/graph").annotate(OpenApi.Summary, "Read a flow run's task graph").addError(ValidationError).setPath(IdPath).addSuccess(Schema.Array(TaskRunDependencies)).addError(ObjectNotFound, notFound))
  .add(HttpApiEndpoint.get("taskRunGraph", "/api/flow_runs/:id/task_run_graph").annotate(OpenApi.Summary, "Read a flow run's task graph, briefly").addError(ValidationError)
    .setPath(IdPath)
    .addSuccess(TaskRunGraph)
    .addError(ObjectNotFound, notFound)
    .annotate(OpenApi.Description,
      "The task graph of `/graph` column by column, for drawing: each task run's id, name and state type, and its upstream task runs (those of this flow run) as indices into the same arrays. Ordered by expected start, then id."))
  .add(HttpApiEndpoint.get("taskRunSummaries", "/api/flow_runs/:id/task_run_summaries").annotate(OpenApi.Summary, "List a flow run's task runs, briefly").addError(ValidationError)
    .setPath(IdPath)
    .setUrlParams(TaskRunSummaryParams)
    .addSuccess(TaskRunSummaryPage)
    .addError(ObjectNotFound, notFound)
    .annotate(OpenApi.Description,
      `The flow run's task runs with only id, name, state and times, in id order: \`limit\` of them (default and at most ${MAX_SUMMARY_PAGE}) after task run \`after\`, column by column — one array per field, the i-th entry of each for the i-th task run, times as epoch milliseconds. \`next_after\` is the \`after\` of the next page, null on the last. For a timeline of thousands of task runs.`))
  .add(HttpApiEndpoint.post("filter", "/api/flow_runs/filter").annotate(OpenApi.Summary, "List flow runs").addError(PayloadTooLarge).addError(ValidationError).setPayload(strict(FlowRunFilterRequest)).addSuccess(Schema.Array(FlowRun)))
  .add(HttpApiEndpoint.post("summaries", "/api/flow_runs/summaries").annotate(OpenApi.Summary, "List flow runs, briefly").addError(PayloadTooLarge).addError(ValidationError)
    .setPayload(strict(FlowRunFilterRequest))
    .addSuccess(Schema.Array(FlowRunSummary))
    .annotate(OpenApi.Description,
      "The flow runs `/flow_runs/filter` answers for the same body (filters, sort, limit, offset), with only what a list shows: id, name, flow, deployment, state type and name, tags, and the run's times (expected, next scheduled, start, end, total and estimated run time)."))
  .add(HttpApiEndpoint.del("delete", "/api/flow_runs/:id").annotate(OpenApi.Summary, "Delete a flow run").addError(Conflict, conflict).addError(ValidationError).setPath(IdPath).addError(ObjectNotFound, notFound))
  .add(setState("flow_runs"))
  .add(setStates("flow_runs"))
  .add(decisions("flow_runs"))
  .add(heartbeat("flow_runs"))
  .annotate(OpenApi.Description, "Flow runs: one execution of a flow")
{}

export class TaskRunsGroup extends HttpApiGroup.make("task_runs")
  .add(HttpApiEndpoint.post("create", "/api/task_runs/").annotate(OpenApi.Summary, "Create a task run").addError(Conflict, conflict).addError(PayloadTooLarge).addError(ValidationError)
    .setPayload(strict(TaskRunCreate))
    .addSuccess(TaskRun, { status: 201 })
    .addSuccess(TaskRun)
    .addError(ObjectNotFound, notFound)
    .annotate(OpenApi.Description, "Creates a task run (default Pending): 201; the existing run with the same (flow_run_id, task_key, dynamic_key): 200."))
  .add(HttpApiEndpoint.post("createMany", "/api/task_runs/create_many").annotate(OpenApi.Summary, "Create many task runs").addError(Conflict, conflict).addError(PayloadTooLarge).addError(ValidationError)
    .setPayload(strict(TaskRunCreateBatch))
    .addSuccess(Schema.Array(CreateOutcome))
    .annotate(OpenApi.Description,
      `Creates many task runs at once (at most ${MAX_BATCH_ITEMS}), each as \`POST /task_runs/\` would, and makes each new run's \`start\` proposal (if any) in the same transaction: one answer per item, in order — the \`run\` (id, whether it was created, its state, what was decided on \`start\`), or an \`error\`.`))
  .add(HttpApiEndpoint.post("count", "/api/task_runs/count").annotate(OpenApi.Summary, "Count task runs").addError(PayloadTooLarge).addError(ValidationError).setPayload(strict(CountRequest)).addSuccess(Schema.Int))
  .add(history("task_runs"))
  .add(HttpApiEndpoint.get("get", "/api/task_runs/:id").annotate(OpenApi.Summary, "Read a task run").addError(ValidationError).setPath(IdPath).addSuccess(TaskRun).addError(ObjectNotFound, notFound))
  .add(HttpApiEndpoint.post("filter", "/api/task_runs/filter").annotate(OpenApi.Summary, "List task runs").addError(PayloadTooLarge).addError(ValidationError).setPayload(strict(TaskRunFilterRequest)).addSuccess(Schema.Array(TaskRun)))
  .add(HttpApiEndpoint.del("delete", "/api/task_runs/:id").annotate(OpenApi.Summary, "Delete a task run").addError(Conflict, conflict).addError(ValidationError).setPath(IdPath).addError(ObjectNotFound, notFound))
  .add(setState("task_runs"))
  .add(setStates("task_runs"))
  .add(decisions("task_runs"))
  .add(heartbeat("task_runs"))
  .add(HttpApiEndpoint.post("waitForSlot", "/api/task_runs/:id/wait_for_slot").annotate(OpenApi.Summary, "Wait for a concurrency slot").addError(PayloadTooLarge).addError(ValidationError)
    .setPath(IdPath)
    .setPayload(strict(SlotWaitRequest))
    .addSuccess(SlotWaitResponse)
    .annotate(OpenApi.Description,
      "For a task run whose `set_state` to RUNNING was answered WAIT because a concurrency limit was full: answers `{\"woken\": true}` as soon as a slot under its tag is given back in this server, or `{\"woken\": false}` after `timeout_seconds` (then propose again anyway, as the WAIT's delay says). A run waiting for no slot gets false after the timeout."))
  .annotate(OpenApi.Description, "Task runs: one execution of a task inside a flow run")
{}
