/**
 * The services flows and tasks run on — the Orion client, the result store, run-log shipping — and the default,
 * process-wide runtime that provides them when the caller has not (a plain script: local mode, no server).
 */
import { Effect, Layer, ManagedRuntime, Option } from "effect"
import { OrionClient } from "../client/orion-client.js"
import * as LocalClient from "../client/local.js"
import * as Results from "../../runtime/results.js"
import * as RunLogs from "../../runtime/run-logs.js"

export type OrionServices = OrionClient | Results.ResultStore | RunLogs.RunLogs

export interface ServicesOptions {
  /** Where results are stored (default `ORION_RESULTS_DIR`, else `$ORION_HOME/storage`). */
  readonly resultsDir?: string
  readonly logs?: Partial<RunLogs.RunLogsOptions>
}

/** All services on a given client layer: the result store, and run logs shipped through the client. */
export const layerOnClient = <E, R>(client: Layer.Layer<OrionClient, E, R>, options: ServicesOptions = {}) =>
  RunLogs.loggerLayer.pipe(
    Layer.provideMerge(options.logs === undefined ? RunLogs.layer : RunLogs.layerWith(options.logs)),
    Layer.provideMerge(options.resultsDir === undefined ? Results.layer : Results.layerAt(options.resultsDir)),
    Layer.provideMerge(client)
  )

/** The default services: the local client on `ORION_DATABASE_URL` (default `$ORION_HOME/orion.db`). */
export const layer = layerOnClient(LocalClient.layer)

let shared: ManagedRuntime.ManagedRuntime<OrionServices, unknown> | undefined

/** The process-wide runtime, built on first use and disposed (logs flushed, database closed) before the process exits. */
export const defaultRuntime = (): ManagedRuntime.ManagedRuntime<OrionServices, unknown> => {
  if (shared === undefined) {
    const runtime = ManagedRuntime.make(layer as Layer.Layer<OrionServices, unknown>)
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

/** Runs `effect` on the services already in context, or on the process-wide runtime when there are none. */
export const withServices = <A, E>(effect: Effect.Effect<A, E, OrionServices>): Effect.Effect<A, E | unknown> =>
  Effect.flatMap(Effect.serviceOption(OrionClient), (client) =>
    Option.isSome(client)
      ? (effect as unknown as Effect.Effect<A, E>)
      : Effect.flatMap(defaultRuntime().runtimeEffect, (runtime) => Effect.provide(effect, runtime)))
