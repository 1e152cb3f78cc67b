/**
 * What `orion start` runs (loaded on demand, so other commands start fast): the API server on the local database
 * with the orchestrator and event bus, its start-up report (spec §5.5), and a graceful stop on SIGINT/SIGTERM.
 */
import * as HttpServer from "@effect/platform/HttpServer"
import type * as SqlClient from "@effect/sql/SqlClient"
import { Cause, Console, Context, Effect, Layer, Option } from "effect"
import * as Database from "../storage/database.js"
import { describeCause } from "../storage/database.js"
import { ApiSettings, uiDir } from "./config.js"
import { hasUi, onDatabase, serverLayer } from "./server.js"
import { tuneHeap } from "../../runtime/internal/heap.js"
import { withBatchedConsoleLogs } from "../log-console.js"
import * as Tracing from "../tracing.js"
import { orionVersion } from "./version.js"
import type { ServicesToRun } from "./services-status.js"
import type { Orchestrator } from "../../runtime/orchestrator.js"

export interface LaunchOptions {
  readonly host: string
  readonly port: number
  /** The services to run in this process (null: `--no-services`). */
  readonly services: ServicesToRun<Orchestrator | SqlClient.SqlClient> | null
  readonly ui: boolean
}

const urlOf = (host: string, port: number) => `http://${host.includes(":") ? `[${host}]` : host}:${port}`

const isWildcard = (host: string) => host === "0.0.0.0" || host === "::"
const isLoopback = (host: string) => host === "localhost" || host === "::1" || /^127\./.test(host)

/** Where the server listens (as bound: a wildcard stays a wildcard) and the URL to use from this machine. */
const addresses = (address: HttpServer.Address) => {
  if (address._tag === "UnixAddress") return { listening: `http+unix://${address.path}`, local: `http+unix://${address.path}`, exposed: false }
  const listening = urlOf(address.hostname, address.port)
  const local = isWildcard(address.hostname) ? urlOf("127.0.0.1", address.port) : listening
  return { listening, local, exposed: !isLoopback(address.hostname) }
}

/** The warning for a server that other machines can reach without a key: loud, and saying what to do. */
const exposedWithoutKey = (listening: string) => [
  "",
  "  ************************************************************************************************",
  `  WARNING: Orion is listening on ${listening}, reachable from the network, WITHOUT an API key.`,
  "  Anyone who can reach this address can read every run and log, change states and delete the database.",
  "  Set ORION_API_KEY to a long random secret (clients send it too), or listen on 127.0.0.1 only.",
  "  ************************************************************************************************",
  ""
].join("\n")

/** Serves until interrupted (SIGINT/SIGTERM through the runtime): open event streams end, then the server closes. */
export const launch = (options: LaunchOptions) =>
  withBatchedConsoleLogs(Effect.scoped(Effect.gen(function*() {
    yield* tuneHeap
    const dir = options.ui ? yield* uiDir : undefined
    let started = false
    // Added first, so it runs last: after the server has closed.
    yield* Effect.addFinalizer(() => (started ? Console.log("Orion stopped.") : Effect.void))
    const services = options.services
    const context = yield* Layer.build(onDatabase(
      serverLayer({
        host: options.host,
        port: options.port,
        uiDir: dir,
        logRequests: true,
        services: { enabled: services !== null, running: services?.started.map((s) => s.name) ?? [] }
      }).pipe(
        // Built before the server and released after it: the services stop once no request can reach them.
        Layer.provide(services?.layer ?? Layer.empty)
      ),
      Database.layer
    ))
    started = true
    const { listening, local: url, exposed } = addresses(Context.get(context, HttpServer.HttpServer).address)
    const database = Context.get(context, Database.Database)
    const settings = Context.get(context, ApiSettings)
    const keyed = Option.isSome(settings.apiKey)
    const ui = !options.ui ? "not served (--no-ui)" : hasUi(dir) ? `${url}/` : `not built (no index.html in ${dir})`
    const serviceLines = services === null
      ? ["disabled (--no-services)"]
      : services.started.length === 0
      ? ["none (each is switched off by its ORION_SERVICES_<NAME>_ENABLED setting)"]
      : [`${services.started.length} started (status: ${url}/api/admin/services)`, ...services.started.map((s) => `    ${s.name.padEnd(16)} ${s.description}`)]
    if (exposed && !keyed) yield* Console.error(exposedWithoutKey(listening))
    yield* Console.log([
      `Orion ${orionVersion} API listening on ${listening}/api  (database: ${database.url})`,
      ...(listening !== url ? [`  Local:    ${url}/api`] : []),
      `  Docs:     ${url}/docs   OpenAPI: ${url}/openapi.json`,
      `  UI:       ${ui}`,
      `  Services: ${serviceLines[0]}`,
      ...serviceLines.slice(1),
      `  CORS:     ${settings.corsOrigins.length > 0 ? settings.corsOrigins.join(", ") : "same origin only"}`,
      `  API key:  ${keyed ? "required on every route (ORION_API_KEY)" : "none (set ORION_API_KEY to require one)"}`,
      "Press Ctrl+C to stop."
    ].join("\n"))
    return yield* Effect.onInterrupt(Effect.never, () => Console.log("Shutting down…"))
  }).pipe(
    // With an OTLP endpoint set, a span per request (continuing the client's trace) and per proposal, exported there.
    Effect.provide(Tracing.layer)
  ))).pipe(
    // A database that cannot be opened, a port already taken: one clear line and exit code 1, no stack dump.
    Effect.catchAll((e) =>
      Effect.zipRight(
        Console.error(`Orion could not start: ${e._tag === "DatabaseError" ? e.message : describeCause(Cause.fail(e))}`),
        Effect.sync(() => { process.exitCode = 1 })
      ))
  )
