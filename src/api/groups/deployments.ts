/** `/api/deployments`: upsert, reads, filters (whole or names only), schedules and runs made from a deployment (spec §4.4 "Deployments"). */
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as OpenApi from "@effect/platform/OpenApi"
import { Schema } from "effect"
import { Conflict, InvalidRequest, ObjectNotFound } from "../../domain/errors.js"
import { Deployment, DeploymentCreate } from "../../domain/deployment.js"
import { CountRequest, DeploymentFilterRequest } from "../../domain/filters.js"
import { DeploymentName } from "../../domain/names.js"
import { FlowRun } from "../../domain/runs.js"
import { DeploymentFlowRunCreate, IdPath, ScheduleRequest, conflict, strict } from "../schemas.js"
import { PayloadTooLarge, ValidationError } from "../errors.js"

const notFound = { status: 404 } as const

export class DeploymentsGroup extends HttpApiGroup.make("deployments")
  .add(HttpApiEndpoint.post("create", "/api/deployments/").annotate(OpenApi.Summary, "Create or replace a deployment").addError(Conflict, conflict).addError(PayloadTooLarge).addError(ValidationError)
    .setPayload(strict(DeploymentCreate))
    .addSuccess(Deployment, { status: 201 })
    .addSuccess(Deployment)
    .addError(ObjectNotFound, notFound)
    .addError(InvalidRequest, { status: 422 })
    .annotate(OpenApi.Description,
      "Creates (201) or overwrites (200) the deployment of this flow and name; its auto-scheduled runs still SCHEDULED are replaced by runs from the new schedule."))
  .add(HttpApiEndpoint.get("getByName", "/api/deployments/name/:flow_name/:deployment_name").annotate(OpenApi.Summary, "Read a deployment by flow and deployment name").addError(ValidationError)
    .setPath(Schema.Struct({ flow_name: Schema.String, deployment_name: Schema.String }))
    .addSuccess(Deployment)
    .addError(ObjectNotFound, notFound))
  .add(HttpApiEndpoint.get("get", "/api/deployments/:id").annotate(OpenApi.Summary, "Read a deployment").addError(ValidationError).setPath(IdPath).addSuccess(Deployment).addError(ObjectNotFound, notFound))
  .add(HttpApiEndpoint.post("filter", "/api/deployments/filter").annotate(OpenApi.Summary, "List deployments").addError(PayloadTooLarge).addError(ValidationError).setPayload(strict(DeploymentFilterRequest)).addSuccess(Schema.Array(Deployment)))
  .add(HttpApiEndpoint.post("names", "/api/deployments/names").annotate(OpenApi.Summary, "List deployments, id, name and flow only").addError(PayloadTooLarge).addError(ValidationError)
    .setPayload(strict(DeploymentFilterRequest)).addSuccess(Schema.Array(DeploymentName))
    .annotate(OpenApi.Description, "The deployments `/deployments/filter` answers (same filters, order and paging), each as its id, name and flow id: what a picker shows."))
  .add(HttpApiEndpoint.post("count", "/api/deployments/count").annotate(OpenApi.Summary, "Count deployments").addError(PayloadTooLarge).addError(ValidationError).setPayload(strict(CountRequest)).addSuccess(Schema.Int))
  .add(HttpApiEndpoint.del("delete", "/api/deployments/:id").annotate(OpenApi.Summary, "Delete a deployment").addError(Conflict, conflict).addError(ValidationError).setPath(IdPath).addError(ObjectNotFound, notFound)
    .annotate(OpenApi.Description, "Deletes the deployment and its runs still SCHEDULED; runs that started are kept, without a deployment."))
  .add(HttpApiEndpoint.post("schedule", "/api/deployments/:id/schedule").annotate(OpenApi.Summary, "Schedule a deployment's runs").addError(Conflict, conflict).addError(PayloadTooLarge).addError(ValidationError)
    .setPath(IdPath)
    .setPayload(strict(ScheduleRequest))
    .addSuccess(Schema.Null)
    .addError(ObjectNotFound, notFound)
    .addError(InvalidRequest, { status: 422 })
    .annotate(OpenApi.Description,
      "Creates the deployment's scheduled runs in a window (default: now to now + 100 days, at most 100); idempotent, and works for past windows (backfill)."))
  .add(HttpApiEndpoint.post("setScheduleActive", "/api/deployments/:id/set_schedule_active").annotate(OpenApi.Summary, "Turn a deployment's schedule on").addError(Conflict, conflict).addError(ValidationError)
    .setPath(IdPath)
    .addError(ObjectNotFound, notFound)
    .addError(InvalidRequest, { status: 422 }))
  .add(HttpApiEndpoint.post("setScheduleInactive", "/api/deployments/:id/set_schedule_inactive").annotate(OpenApi.Summary, "Turn a deployment's schedule off").addError(Conflict, conflict).addError(ValidationError)
    .setPath(IdPath)
    .addError(ObjectNotFound, notFound))
  .add(HttpApiEndpoint.post("createFlowRun", "/api/deployments/:id/create_flow_run").annotate(OpenApi.Summary, "Create a flow run of a deployment").addError(Conflict, conflict).addError(PayloadTooLarge).addError(ValidationError)
    .setPath(IdPath)
    .setPayload(strict(DeploymentFlowRunCreate))
    .addSuccess(FlowRun, { status: 201 })
    .addSuccess(FlowRun)
    .addError(ObjectNotFound, notFound)
    .annotate(OpenApi.Description,
      "A flow run of the deployment's flow: its parameters overlaid by the given ones, tags the union of both; default state Pending."))
  .annotate(OpenApi.Description, "Deployments: a flow, where to load it from, default parameters and a schedule")
{}
