/**
 * What `orion start` runs (loaded on demand, so other commands start fast): the API server on the local database
 * with the orchestrator and event bus, its start-up report (spec §5.5), and a graceful stop on SIGINT/SIGTERM.
 */
import * as HttpServer from "@effect/platform/HttpServer"
import { Cause, Console, Context, Effect, Layer } from "effect"
import * as Database from "../storage/database.js"
import { describeCause } from "../storage/database.js"
import { ApiSettings, uiDir } from "./config.js"
import { hasUi, onDatabase, serverLayer } from "./server.js"
import { tuneHeap } from "../../runtime/heap.js"
import { withBatchedLogs } from "./log-output.js"
import { orionVersion } from "./version.js"

export interface LaunchOptions {
  readonly host: string
  readonly port: number
  readonly services: boolean
  readonly ui: boolean
}

/** The URL clients use for an address; a wildcard host is shown as loopback. */
const baseUrl = (address: HttpServer.Address): string => {
  if (address._tag === "UnixAddress") return `http+unix://${address.path}`
  const host = address.hostname === "0.0.0.0" || address.hostname === "::" ? "127.0.0.1" : address.hostname
  return `http://${host.includes(":") ? `[${host}]` : host}:${address.port}`
}

/** Serves until interrupted (SIGINT/SIGTERM through the runtime): open event streams end, then the server closes. */
export const launch = (options: LaunchOptions) =>
  withBatchedLogs(Effect.scoped(Effect.gen(function*() {
    yield* tuneHeap
    const dir = options.ui ? yield* uiDir : undefined
    let started = false
    // Added first, so it runs last: after the server has closed.
    yield* Effect.addFinalizer(() => (started ? Console.log("Orion stopped.") : Effect.void))
    const context = yield* Layer.build(onDatabase(
      serverLayer({
        host: options.host,
        port: options.port,
        uiDir: dir,
        logRequests: true,
        // No service is implemented yet: with services enabled, none is running.
        services: { enabled: options.services, running: [] }
      }),
      Database.layer
    ))
    started = true
    const url = baseUrl(Context.get(context, HttpServer.HttpServer).address)
    const database = Context.get(context, Database.Database)
    const settings = Context.get(context, ApiSettings)
    const ui = !options.ui ? "not served (--no-ui)" : hasUi(dir) ? `${url}/` : `not built (no index.html in ${dir})`
    const services = options.services ? "none started (no services exist in this version yet)" : "disabled (--no-services)"
    yield* Console.log([
      `Orion ${orionVersion} API listening on ${url}/api  (database: ${database.url})`,
      `  Docs:     ${url}/docs   OpenAPI: ${url}/openapi.json`,
      `  UI:       ${ui}`,
      `  Services: ${services}`,
      `  CORS:     ${settings.corsOrigins.length > 0 ? settings.corsOrigins.join(", ") : "same origin only"}`,
      "Press Ctrl+C to stop."
    ].join("\n"))
    return yield* Effect.onInterrupt(Effect.never, () => Console.log("Shutting down…"))
  }))).pipe(
    // A database that cannot be opened, a port already taken: one clear line and exit code 1, no stack dump.
    Effect.catchAll((e) =>
      Effect.zipRight(
        Console.error(`Orion could not start: ${e._tag === "DatabaseError" ? e.message : describeCause(Cause.fail(e))}`),
        Effect.sync(() => { process.exitCode = 1 })
      ))
  )
