/** `GET /api/events`: the live event stream (Server-Sent Events), resumable with `Last-Event-ID`. */
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as OpenApi from "@effect/platform/OpenApi"
import { Schema } from "effect"
import { Uuid } from "../../domain/primitives.js"
import { EventStreamBody } from "../schemas.js"
import { ValidationError } from "../errors.js"

const EventId = Schema.NumberFromString.pipe(Schema.int(), Schema.nonNegative())

export class EventsGroup extends HttpApiGroup.make("events")
  .add(HttpApiEndpoint.get("stream", "/api/events").annotate(OpenApi.Summary, "Stream events (Server-Sent Events)").addError(ValidationError)
    .setUrlParams(Schema.Struct({ flow_run_id: Schema.optional(Uuid), last_event_id: Schema.optional(EventId) }))
    .setHeaders(Schema.Struct({ "last-event-id": Schema.optional(EventId) }))
    .addSuccess(EventStreamBody)
    .annotate(OpenApi.Description,
      "Every committed event (run created, state changed, log) as Server-Sent Events. `flow_run_id` narrows to one flow run; `Last-Event-ID` (or `last_event_id`) replays what was missed."))
  .annotate(OpenApi.Description, "Live events")
{}
