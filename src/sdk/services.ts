/**
 * The services flows and tasks run on — the Orion client, the result store, run-log shipping, the console logger and
 * the tracer — and the default,
 * process-wide runtime that provides them when the caller has not: local mode (no server) unless `ORION_API_URL` is set.
 */
import { Config, type ConfigError, Duration, Effect, Layer, ManagedRuntime, Option } from "effect"
import { InvalidSetting } from "./errors.js"
import { OrionClient } from "../client/orion-client.js"
import type { RemoteOptions } from "../client/remote-http.js"
import { tuneHeapIfAsked } from "../../runtime/internal/heap.js"
import * as Results from "../../runtime/results.js"
import { HeartbeatInterval } from "../../runtime/run-actor.js"
import { onFlowScheduler } from "../../runtime/internal/scheduler.js"
import * as RunLogs from "../../runtime/run-logs.js"
import * as Settings from "../settings.js"
import * as LogConsole from "../log-console.js"
import * as Tracing from "../tracing.js"

export type OrionServices = OrionClient | Results.ResultStore | RunLogs.RunLogs

export interface ServicesOptions {
  /** Where results are stored (default `ORION_RESULTS_DIR`, else `$ORION_HOME/storage`). */
  readonly resultsDir?: string
  readonly logs?: Partial<RunLogs.RunLogsOptions>
  /** How often running runs record their heartbeat (default `ORION_HEARTBEAT_INTERVAL`, else 30 s). */
  readonly heartbeatInterval?: Duration.DurationInput
}

/** The heartbeat interval given, else from `ORION_HEARTBEAT_INTERVAL` (an invalid value warns and keeps 30 s). */
const heartbeatLayer = (interval: Duration.DurationInput | undefined) =>
  Layer.effect(HeartbeatInterval, interval !== undefined ? Effect.succeed(Duration.decode(interval)) : Effect.map(
    Effect.catchAll(Settings.heartbeatInterval, (e) => Effect.as(Effect.logWarning(`${String(e)}; using 30`), 30)),
    Duration.seconds
  ))

/** A setting's refusal as the error a script's `await` rejects with (a ConfigError is no Error: it would print as an object). */
const invalidSetting = (e: ConfigError.ConfigError) =>
  new InvalidSetting({ message: e._op === "InvalidData" || e._op === "MissingData" || e._op === "SourceUnavailable" || e._op === "Unsupported" ? e.message : String(e) })

/** All services on a client layer and a result store (which may use what the client layer provides beside the client). */
const servicesOn = <C, E, R, E2, R2>(client: Layer.Layer<C, E, R>, results: Layer.Layer<Results.ResultStore, E2, R2>, options: ServicesOptions) =>
  RunLogs.loggerLayer.pipe(
    // Orion's console lines (ORION_LOG_FORMAT, ORION_LOG_LEVEL) and, with an OTLP endpoint set, its tracer: first, so
    // that what the other services log on the way up is in that format.
    Layer.provideMerge(Layer.merge(Layer.mapError(LogConsole.layer, invalidSetting), Tracing.layer)),
    Layer.provideMerge(heartbeatLayer(options.heartbeatInterval)),
    Layer.provideMerge(options.logs === undefined ? RunLogs.layer : RunLogs.layerWith(options.logs)),
    Layer.provideMerge(results),
    Layer.provideMerge(client)
  )

const fileResults = (options: ServicesOptions) => options.resultsDir === undefined ? Results.layer : Results.layerAt(options.resultsDir)

/** All services on a given client layer: the result store, run logs shipped through the client, the heartbeat interval. */
export const layerOnClient = <E, R>(client: Layer.Layer<OrionClient, E, R>, options: ServicesOptions = {}) =>
  servicesOn(client, fileResults(options), options)

/**
 * The services of remote mode: the remote client of the server at `remote.url`, and results stored by that server
 * (`/api/data`) — unless a results directory is given (`resultsDir`, or `ORION_RESULTS_DIR` set), then files there.
 */
export const layerRemote = (remote: RemoteOptions, options: ServicesOptions = {}) =>
  Layer.unwrapEffect(Effect.gen(function*() {
    const dir = yield* Config.option(Config.string("ORION_RESULTS_DIR"))
    // The HTTP client and the API definition load only in remote mode: a local script never pays for them.
    const [RemoteClient, RemoteResults] = yield* Effect.promise(() => Promise.all([import("../client/remote.js"), import("../client/remote-results.js")]))
    const localResults = options.resultsDir !== undefined || (Option.isSome(dir) && dir.value.trim() !== "")
    const client = RemoteClient.layer(remote)
    return localResults ? layerOnClient(client, options) : servicesOn(client, RemoteResults.layer, options)
  }))

/** The services of local mode: the local client on `ORION_DATABASE_URL` (default `$ORION_HOME/orion.db`). */
export const layerLocal = (options: ServicesOptions = {}) =>
  Layer.unwrapEffect(Effect.map(Effect.promise(() => import("../client/local.js")), (LocalClient) => layerOnClient(LocalClient.layer, options)))

/**
 * The default services: with `ORION_API_URL` set, remote mode (no local database is opened); otherwise local mode.
 * Building them leaves the process's V8 flags alone unless `ORION_TUNE_HEAP=true` asks Orion to tune its heap (runtime/internal/heap.ts).
 * Either mode's client is loaded when the layer is built, so a process loads only the one it uses.
 */
export const layer = Layer.unwrapEffect(Effect.zipRight(tuneHeapIfAsked, Effect.map(Settings.apiUrl, (url) =>
  url === undefined ? layerLocal() as Layer.Layer<OrionServices, unknown> : layerRemote({ url }) as Layer.Layer<OrionServices, unknown>)))

let shared: ManagedRuntime.ManagedRuntime<OrionServices, unknown> | undefined

/** The process-wide runtime, built on first use and disposed (logs flushed, database closed) before the process exits. */
export const defaultRuntime = (): ManagedRuntime.ManagedRuntime<OrionServices, unknown> => {
  if (shared === undefined) {
    const runtime = ManagedRuntime.make(layer)
    shared = runtime
    process.once("beforeExit", () => {
      if (shared === runtime) {
        shared = undefined
        void runtime.dispose()
      }
    })
  }
  return shared
}

/** Disposes the process-wide runtime now (tests, or scripts that want their logs flushed at a known point). */
export const shutdown = (): Promise<void> => {
  const runtime = shared
  shared = undefined
  return runtime === undefined ? Promise.resolve() : runtime.dispose()
}

/**
 * Runs `effect` on the services already in context, or on the process-wide runtime when there are none — and, with
 * the fibers it starts, on the flows' scheduler (runtime/internal/scheduler.ts).
 */
export const withServices = <A, E>(effect: Effect.Effect<A, E, OrionServices>): Effect.Effect<A, E | unknown> =>
  Effect.flatMap(Effect.serviceOption(OrionClient), (client) =>
    Option.isSome(client)
      ? onFlowScheduler(effect as unknown as Effect.Effect<A, E>)
      // inside `provide`: providing a runtime sets its fiber refs, the scheduler among them
      : Effect.flatMap(defaultRuntime().runtimeEffect, (runtime) => Effect.provide(onFlowScheduler(effect), runtime)))
