/**
 * `OrionApi`: the one HttpApi definition of Orion's REST API (spec §4, §11). The server implements it
 * (`handlers/`), the typed client and the UI type-check against it, and OpenAPI is generated from it.
 */
import "../domain/wire-parsers.js"
import * as HttpApi from "@effect/platform/HttpApi"
import * as OpenApi from "@effect/platform/OpenApi"
import { Option } from "effect"
import { fastParsers } from "../domain/fast-parsers.js"
import { BadRequest, InternalError, ServiceUnavailable } from "./errors.js"
import { AdminGroup } from "./groups/admin.js"
import { ConcurrencyLimitsGroup } from "./groups/concurrency-limits.js"
import { DataGroup } from "./groups/data.js"
import { DeploymentsGroup } from "./groups/deployments.js"
import { EventsGroup } from "./groups/events.js"
import { FlowsGroup } from "./groups/flows.js"
import { LogsGroup } from "./groups/logs.js"
import { FlowRunsGroup, TaskRunsGroup } from "./groups/runs.js"
import { SavedSearchesGroup } from "./groups/saved-searches.js"
import { FlowRunStatesGroup, TaskRunStatesGroup } from "./groups/states.js"
import { orionVersion } from "./version.js"

/** The API key as OpenAPI sees it: a bearer token, required only when the server has `ORION_API_KEY` set. */
function withOptionalApiKey(spec: Record<string, any>): Record<string, any> {
  return {
    ...spec,
    components: {
      ...spec.components,
      securitySchemes: {
        ...spec.components?.securitySchemes,
        apiKey: { type: "http", scheme: "bearer", description: "ORION_API_KEY, when the server has one set (the event stream also takes it as `?api_key=`)" }
      }
    },
    security: [{}, { apiKey: [] }]
  }
}

export class OrionApi extends HttpApi.make("orion")
  .add(FlowsGroup)
  .add(FlowRunsGroup)
  .add(TaskRunsGroup)
  .add(FlowRunStatesGroup)
  .add(TaskRunStatesGroup)
  .add(DeploymentsGroup)
  .add(SavedSearchesGroup)
  .add(DataGroup)
  .add(LogsGroup)
  .add(ConcurrencyLimitsGroup)
  .add(AdminGroup)
  .add(EventsGroup)
  // Errors any route can answer: a malformed URL (400), the database unavailable (503), a failure inside (500). Those of
  // a route's input (422, 413) and of its writes (409) are declared by the routes that have them.
  .addError(BadRequest)
  .addError(ServiceUnavailable)
  .addError(InternalError)
  .annotate(OpenApi.Title, "Orion")
  .annotate(OpenApi.Version, orionVersion)
  .annotate(OpenApi.Description, "Orion's REST API: flows, runs and their states, deployments, logs, concurrency limits and live events.")
  .annotate(OpenApi.Transform, withOptionalApiKey)
{}

// Every schema of every route parses through its compiled parser (the server's handlers and the typed client alike).
fastParsers([OrionApi.errorSchema, ...Object.values(OrionApi.groups).flatMap((group) => [
  group.errorSchema,
  ...Object.values(group.endpoints).flatMap((e) => [
    e.successSchema, e.errorSchema, ...[e.pathSchema, e.urlParamsSchema, e.payloadSchema, e.headersSchema].flatMap(Option.toArray)
  ])
])])
