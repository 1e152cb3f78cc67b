/** `/api/flow_run_states` and `/api/task_run_states`: one state by id, or a run's whole history oldest first (spec §4.4). */
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as OpenApi from "@effect/platform/OpenApi"
import { Schema } from "effect"
import { ObjectNotFound } from "../../domain/errors.js"
import { Uuid } from "../../domain/primitives.js"
import { State } from "../../domain/state.js"
import { IdPath } from "../schemas.js"
import { ValidationError } from "../errors.js"

export class FlowRunStatesGroup extends HttpApiGroup.make("flow_run_states")
  .add(HttpApiEndpoint.get("get", "/api/flow_run_states/:id").annotate(OpenApi.Summary, "Read a flow run state").addError(ValidationError).setPath(IdPath).addSuccess(State).addError(ObjectNotFound, { status: 404 }))
  .add(HttpApiEndpoint.get("list", "/api/flow_run_states/").annotate(OpenApi.Summary, "List a flow run's states").addError(ValidationError).setUrlParams(Schema.Struct({ flow_run_id: Uuid })).addSuccess(Schema.Array(State)))
  .annotate(OpenApi.Description, "States of flow runs")
{}

export class TaskRunStatesGroup extends HttpApiGroup.make("task_run_states")
  .add(HttpApiEndpoint.get("get", "/api/task_run_states/:id").annotate(OpenApi.Summary, "Read a task run state").addError(ValidationError).setPath(IdPath).addSuccess(State).addError(ObjectNotFound, { status: 404 }))
  .add(HttpApiEndpoint.get("list", "/api/task_run_states/").annotate(OpenApi.Summary, "List a task run's states").addError(ValidationError).setUrlParams(Schema.Struct({ task_run_id: Uuid })).addSuccess(Schema.Array(State)))
  .annotate(OpenApi.Description, "States of task runs")
{}
