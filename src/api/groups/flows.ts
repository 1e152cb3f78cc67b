/** `/api/flows`: graceful create by name, reads, filters, counts, tag updates and deletes (spec §4.4 "Flows"). */
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as OpenApi from "@effect/platform/OpenApi"
import { Schema } from "effect"
import { ObjectNotFound } from "../../domain/errors.js"
import { CountRequest, FlowFilterRequest } from "../../domain/filters.js"
import { Flow, FlowCreate, FlowUpdate } from "../../domain/flow.js"
import { IdPath, strict } from "../schemas.js"

export class FlowsGroup extends HttpApiGroup.make("flows")
  .add(HttpApiEndpoint.post("create", "/api/flows/")
    .setPayload(strict(FlowCreate))
    .addSuccess(Flow, { status: 201 })
    .addSuccess(Flow)
    .annotate(OpenApi.Description, "Creates the flow (201), or returns the existing flow of that name unchanged (200)."))
  .add(HttpApiEndpoint.patch("update", "/api/flows/:id")
    .setPath(IdPath)
    .setPayload(strict(FlowUpdate))
    .addError(ObjectNotFound, { status: 404 }))
  .add(HttpApiEndpoint.post("count", "/api/flows/count")
    .setPayload(strict(CountRequest))
    .addSuccess(Schema.Int))
  .add(HttpApiEndpoint.get("getByName", "/api/flows/name/:name")
    .setPath(Schema.Struct({ name: Schema.String }))
    .addSuccess(Flow)
    .addError(ObjectNotFound, { status: 404 }))
  .add(HttpApiEndpoint.get("get", "/api/flows/:id")
    .setPath(IdPath)
    .addSuccess(Flow)
    .addError(ObjectNotFound, { status: 404 }))
  .add(HttpApiEndpoint.post("filter", "/api/flows/filter")
    .setPayload(strict(FlowFilterRequest))
    .addSuccess(Schema.Array(Flow)))
  .add(HttpApiEndpoint.del("delete", "/api/flows/:id")
    .setPath(IdPath)
    .addError(ObjectNotFound, { status: 404 }))
  .annotate(OpenApi.Description, "Flows: the named identity of a workflow definition")
{}
