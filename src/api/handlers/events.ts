/**
 * Handler of `GET /api/events`: the SSE byte stream of `event-stream.ts`, resumable from `Last-Event-ID`, with at most
 * `ORION_SSE_MAX_CLIENTS` streams open at once (one more is answered 503 with `Retry-After`).
 */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import { Effect, Option } from "effect"
import { OrionApi } from "../api.js"
import { ApiSettings } from "../config.js"
import { eventStream, type EventStreamContext } from "../event-stream.js"

/** Seconds a client turned away for want of a free stream is asked to wait. */
const RETRY_AFTER_SECONDS = 5

export const EventsLive = HttpApiBuilder.group(OrionApi, "events", (handlers) =>
  Effect.gen(function*() {
    const context = yield* Effect.context<EventStreamContext>()
    const { maxEventStreams } = yield* ApiSettings
    let open = 0

    /** Takes a stream's place until its connection closes, whether or not the stream ever started; false when all are taken. */
    const takePlace = (request: Parameters<typeof NodeHttpServerRequest.toServerResponse>[0]) =>
      Effect.sync(() => {
        if (open >= maxEventStreams) return false
        open++
        NodeHttpServerRequest.toServerResponse(request).once("close", () => open--)
        return true
      })

    return handlers.handle("stream", ({ headers, request, urlParams }) =>
      Effect.flatMap(takePlace(request), (placed) =>
        !placed
          ? Effect.succeed(HttpServerResponse.unsafeJson({
            _tag: "ServiceUnavailable",
            detail: `${maxEventStreams} event streams are open, the most this server serves at once (ORION_SSE_MAX_CLIENTS); try again shortly`
          }, { status: 503, headers: { "retry-after": String(RETRY_AFTER_SECONDS) } }))
          : eventStream({
            lastEventId: Option.fromNullable(headers["last-event-id"] ?? urlParams.last_event_id),
            flowRunId: Option.fromNullable(urlParams.flow_run_id)
          }).pipe(Effect.provide(context))))
  }))
