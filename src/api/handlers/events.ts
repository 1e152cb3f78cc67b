/** Handler of `GET /api/events`: the SSE byte stream of `event-stream.ts`, resumable from `Last-Event-ID`. */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Effect, Option } from "effect"
import { OrionApi } from "../api.js"
import { eventStream, type EventStreamContext } from "../event-stream.js"

export const EventsLive = HttpApiBuilder.group(OrionApi, "events", (handlers) =>
  Effect.gen(function*() {
    const context = yield* Effect.context<EventStreamContext>()
    return handlers.handle("stream", ({ headers, urlParams }) =>
      eventStream({
        lastEventId: Option.fromNullable(headers["last-event-id"] ?? urlParams.last_event_id),
        flowRunId: Option.fromNullable(urlParams.flow_run_id)
      }).pipe(
        Effect.provide(context),
        Effect.map((stream) =>
          HttpServerResponse.stream(stream, {
            contentType: "text/event-stream",
            headers: { "cache-control": "no-cache", "x-accel-buffering": "no" }
          }))
      ))
  }))
