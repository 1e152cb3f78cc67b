/** `/api/flows`: graceful create by name, reads, filters (whole or names only), counts, tag updates and deletes (spec §4.4 "Flows"). */
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as OpenApi from "@effect/platform/OpenApi"
import { Schema } from "effect"
import { Conflict, ObjectNotFound } from "../../domain/errors.js"
import { CountRequest, FlowFilterRequest } from "../../domain/filters.js"
import { Flow, FlowCreate, FlowUpdate } from "../../domain/flow.js"
import { FlowName } from "../../domain/names.js"
import { IdPath, conflict, strict } from "../schemas.js"
import { PayloadTooLarge, ValidationError } from "../errors.js"

export class FlowsGroup extends HttpApiGroup.make("flows")
  .add(HttpApiEndpoint.post("create", "/api/flows/").annotate(OpenApi.Summary, "Create a flow, or get the one of that name").addError(Conflict, conflict).addError(PayloadTooLarge).addError(ValidationError)
    .setPayload(strict(FlowCreate))
    .addSuccess(Flow, { status: 201 })
    .addSuccess(Flow)
    .annotate(OpenApi.Description, "Creates the flow (201), or returns the existing flow of that name unchanged (200)."))
  .add(HttpApiEndpoint.patch("update", "/api/flows/:id").annotate(OpenApi.Summary, "Update a flow's tags").addError(Conflict, conflict).addError(PayloadTooLarge).addError(ValidationError)
    .setPath(IdPath)
    .setPayload(strict(FlowUpdate))
    .addError(ObjectNotFound, { status: 404 }))
  .add(HttpApiEndpoint.post("count", "/api/flows/count").annotate(OpenApi.Summary, "Count flows").addError(PayloadTooLarge).addError(ValidationError)
    .setPayload(strict(CountRequest))
    .addSuccess(Schema.Int))
  .add(HttpApiEndpoint.get("getByName", "/api/flows/name/:name").annotate(OpenApi.Summary, "Read a flow by name").addError(ValidationError)
    .setPath(Schema.Struct({ name: Schema.String }))
    .addSuccess(Flow)
    .addError(ObjectNotFound, { status: 404 }))
  .add(HttpApiEndpoint.get("get", "/api/flows/:id").annotate(OpenApi.Summary, "Read a flow").addError(ValidationError)
    .setPath(IdPath)
    .addSuccess(Flow)
    .addError(ObjectNotFound, { status: 404 }))
  .add(HttpApiEndpoint.post("filter", "/api/flows/filter").annotate(OpenApi.Summary, "List flows").addError(PayloadTooLarge).addError(ValidationError)
    .setPayload(strict(FlowFilterRequest))
    .addSuccess(Schema.Array(Flow)))
  .add(HttpApiEndpoint.post("names", "/api/flows/names").annotate(OpenApi.Summary, "List flows, id and name only").addError(PayloadTooLarge).addError(ValidationError)
    .setPayload(strict(FlowFilterRequest))
    .addSuccess(Schema.Array(FlowName))
    .annotate(OpenApi.Description, "The flows `/flows/filter` answers (same filters, order and paging), each as its id and name: what a picker shows."))
  .add(HttpApiEndpoint.del("delete", "/api/flows/:id").annotate(OpenApi.Summary, "Delete a flow").addError(Conflict, conflict).addError(ValidationError)
    .setPath(IdPath)
    .addError(ObjectNotFound, { status: 404 }))
  .annotate(OpenApi.Description, "Flows: the named identity of a workflow definition")
{}
