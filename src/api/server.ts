/**
 * The API server: `OrionApi` with its handlers, Swagger UI at `/docs`, the OpenAPI document at `/openapi.json`, the
 * built UI at `/`, body limits, JSON errors and optional CORS (STACK §4, §12). `appLayer` runs on any HttpServer;
 * `serverLayer` listens on a host and port; `onDatabase` adds the orchestrator, repositories and event bus.
 */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiSwagger from "@effect/platform/HttpApiSwagger"
import * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import type * as HttpApp from "@effect/platform/HttpApp"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import type * as SqlClient from "@effect/sql/SqlClient"
import { Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import type { Database } from "../storage/database.js"
import { Repositories } from "../storage/repositories/index.js"
import { EventBus } from "../../runtime/event-bus.js"
import * as Orch from "../../runtime/orchestrator.js"
import * as OrchSpans from "../../runtime/orchestrator-spans.js"
import { ApiSettings, resolveSettings, type ResolvedSettings, type ServerOptions } from "./config.js"
import { EventFeed } from "./event-feed.js"
import { ShutdownSignal } from "./event-stream.js"
import { ApiLive } from "./handlers/index.js"
import { edge } from "./edge.js"
import { serverHoldingEarlyRequests } from "./held-requests.js"
import { jsonErrors, logRequests } from "./middleware.js"
import { uiRoutes } from "./static-ui.js"
import { tracerInstalled } from "../../runtime/internal/tracing.js"

/** Whether `dir` holds a built UI (an `index.html`). */
export const hasUi = (dir: string | null | undefined): dir is string =>
  dir !== null && dir !== undefined && fs.existsSync(path.join(dir, "index.html"))

/** What wraps every request, innermost first: the edge (host, origin, key, bodies), CORS (when origins are allowed), the request log. */
const outer = (settings: ResolvedSettings) => (app: HttpApp.Default): HttpApp.Default => {
  let wrapped = edge(settings)(app)
  if (settings.corsOrigins.length > 0) {
    wrapped = HttpMiddleware.cors({ allowedOrigins: settings.corsOrigins.includes("*") ? ["*"] : settings.corsOrigins })(wrapped)
  }
  return settings.logRequests ? logRequests(wrapped) : wrapped
}

/** The whole HTTP application on the `HttpServer` it is given. */
export const appLayer = (settings: ResolvedSettings) =>
  HttpApiBuilder.serve(outer(settings)).pipe(
    Layer.provide(HttpApiSwagger.layer({ path: "/docs" })),
    Layer.provide(HttpApiBuilder.middlewareOpenApi({ path: "/openapi.json" })),
    Layer.provide(hasUi(settings.uiDir) ? uiRoutes(settings.uiDir) : Layer.empty),
    Layer.provide(HttpApiBuilder.middleware(jsonErrors(settings))),
    Layer.provide(ApiLive),
    Layer.provide(Layer.succeed(ApiSettings, settings)),
    Layer.provide(EventFeed.layer),
    // Needs the HttpServer, so it is released (ending open event streams) before the server closes.
    Layer.provide(ShutdownSignal.Default)
  )

/** The application listening on `host:port` (port 0: any free port; read it from `HttpServer.address`). */
export const serverLayer = (options: ServerOptions) =>
  Layer.unwrapEffect(Effect.map(resolveSettings(options), (settings) =>
    appLayer(settings).pipe(
      // A span per request only when a tracer is installed (src/tracing.ts): otherwise it would only cost CPU (~8 % of a set_state).
      HttpMiddleware.withTracerDisabledWhen(() => !tracerInstalled()),
      Layer.provideMerge(NodeHttpServer.layer(serverHoldingEarlyRequests, { host: options.host, port: options.port })),
      Layer.provideMerge(Layer.succeed(ApiSettings, settings))
    )))

/** Gives a server the orchestrator, the repositories and the event bus on an open database (which it also exposes). */
export const onDatabase = <A, E, R, E2>(
  server: Layer.Layer<A, E, R>,
  database: Layer.Layer<Database | SqlClient.SqlClient, E2>
) =>
  server.pipe(
    // Proposals arrive as HTTP requests: the orchestrator lets pending ones join each commit (group commit).
    Layer.provide(Layer.mergeAll(OrchSpans.withSpans.pipe(Layer.provide(Orch.layer({ gatherIo: true }))), Repositories)),
    Layer.provideMerge(EventBus.layer),
    Layer.provideMerge(database)
  )

