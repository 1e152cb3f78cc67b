/**
 * The floor of the API's stack for bench/api: an `HttpApi` of one POST endpoint that decodes a small payload through
 * its Schema and answers a constant, served as Orion's server is (`@effect/platform-node`, tracing off) — no database,
 * no Orion code. Started by bench/api.ts with the port as its argument; prints "listening" when ready.
 */
import { HttpApi, HttpApiBuilder, HttpApiEndpoint, HttpApiGroup, HttpMiddleware } from "@effect/platform"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Effect, Layer, Schema } from "effect"
import { createServer } from "node:http"

const FloorApi = HttpApi.make("floor").add(HttpApiGroup.make("floor").add(
  HttpApiEndpoint.post("raw", "/raw")
    .setPayload(Schema.Struct({ state: Schema.Struct({ type: Schema.String }) }))
    .addSuccess(Schema.Struct({ status: Schema.String }))
))
const FloorLive = HttpApiBuilder.group(FloorApi, "floor", (handlers) => handlers.handle("raw", () => Effect.succeed({ status: "ACCEPT" })))

HttpApiBuilder.serve().pipe(
  Layer.provide(HttpApiBuilder.api(FloorApi).pipe(Layer.provide(FloorLive))),
  HttpMiddleware.withTracerDisabledWhen(() => true),
  Layer.provide(NodeHttpServer.layer(createServer, { host: "127.0.0.1", port: Number(process.argv[2]) })),
  Layer.tap(() => Effect.sync(() => console.log("listening"))),
  Layer.launch,
  NodeRuntime.runMain
)
