/**
 * Runs one flow run of a deployment by its id, in this process (`orion flow-run execute <id>`, and an agent's executor
 * process): reads the run and its deployment, imports the deployment's flow module (TypeScript too) and runs the flow
 * as that run — no second flow run. When the flow cannot be loaded, the run ends Failed saying why.
 */
import { Effect } from "effect"
import { OrionClient } from "../src/client/orion-client.js"
import { isTerminal, type State, States, type Uuid } from "../src/domain/index.js"
import { flowRunnerOf } from "../src/sdk/flow-runner.js"
import { importModule, unloadable } from "../src/sdk/load-module.js"
import { defaultRuntime, shutdown } from "../src/sdk/services.js"
import { tuneHeap } from "../runtime/internal/heap.js"
import type { FlowRunner } from "../src/sdk/flow-runner.js"
import type { LoadedFlowModules } from "./flow-modules-loaded.js"

/** How an execution ended: the run's final state, or why it could not be run at all. */
export type Execution =
  | { readonly _tag: "Finished"; readonly state: State }
  /** The run could not be started; `failed` says whether this process ended it Failed (else it was left as it was). */
  | { readonly _tag: "NotRun"; readonly reason: string; readonly failed: boolean }
  /** Not run here: its flow module changed on disk since this (reused) process loaded it; the run is left as it was. */
  | { readonly _tag: "Stale"; readonly reason: string }

/** The process exit code for an execution: 0 when the run completed, 2 when it was not run. */
export const exitCodeOf = (e: Execution): number => e._tag === "Finished" ? (e.state.type === "COMPLETED" ? 0 : 1) : 2

export interface ExecuteOptions {
  /**
   * A process that runs several flow runs one after another (a reused executor): its services stay open after the run
   * — close them with `closeServices` — and `modules` records the flow modules it loads, refusing a run whose module
   * has changed on disk since (`Stale`).
   */
  readonly reuse?: { readonly modules: LoadedFlowModules }
  /** Called when the run is taken: after the checks, before its flow module is loaded and run. */
  readonly onAccepted?: () => void
}

const describe = (e: unknown): string => {
  if (e instanceof Error) return e.message
  if (typeof e === "object" && e !== null && "message" in e) return String((e as { message: unknown }).message)
  return String(e)
}

/** What to load and run for flow run `id`, or why there is nothing to run (and whether the run should end Failed). */
const locate = (id: string) =>
  Effect.gen(function*() {
    const client = yield* OrionClient
    const run = yield* client.readFlowRun(id)
    if (run.state !== null && isTerminal(run.state.type)) {
      return { _tag: "Stop" as const, reason: `Flow run '${run.name}' has already finished (${run.state.name}).`, fail: false }
    }
    if (run.deployment_id === null) {
      return { _tag: "Stop" as const, reason: `Flow run '${run.name}' was not created from a deployment: there is no flow to load for it.`, fail: false }
    }
    const deployment = yield* client.readDeployment(run.deployment_id).pipe(
      Effect.catchTag("ObjectNotFound", () => Effect.succeed(null)))
    if (deployment === null) {
      return { _tag: "Stop" as const, reason: `The deployment of flow run '${run.name}' was deleted: there is no flow to load for it.`, fail: true }
    }
    if (deployment.flow_path === null || deployment.flow_export === null) {
      return {
        _tag: "Stop" as const, fail: true,
        reason: `Deployment '${deployment.name}' does not say where its flow is: register it from its module with \`orion deployment create <file>\`.`
      }
    }
    return { _tag: "Load" as const, path: deployment.flow_path, exportName: deployment.flow_export }
  })

/** Ends the run Failed with `reason` (best-effort: a run that moved on meanwhile keeps its state). */
const failRun = (id: string, reason: string) =>
  Effect.flatMap(OrionClient, (client) => client.proposeState({ kind: "flow_run", id: id as Uuid }, States.Failed({ message: reason }))).pipe(
    Effect.as(true),
    Effect.orElseSucceed(() => false)
  )

/** Imports the flow of a deployment and returns its runner, or the reason it cannot. */
const loadFlow = async (file: string, exportName: string) => {
  const why = unloadable(file)
  if (why !== undefined) return { error: `Could not load the flow: ${why}.` }
  let exports: Record<string, unknown>
  try {
    exports = await importModule(file)
  } catch (e) {
    return { error: `Could not load the flow from ${file}: ${describe(e)}` }
  }
  const runner = flowRunnerOf(exports[exportName])
  if (runner === undefined) {
    return { error: exportName in exports ? `${file} exports '${exportName}', but it is not a flow.` : `${file} does not export '${exportName}' (the deployment's flow): register the deployment again with \`orion deployment create ${file}\`.` }
  }
  return { runner }
}

/** The runners of the flows a reused process has run (each flow's copy of Orion), closed by `closeServices`. */
const runnersUsed = new Set<FlowRunner>()

/** An execution in a process that runs one flow run (`orion flow-run execute`): never stale. */
export type SingleExecution = Exclude<Execution, { readonly _tag: "Stale" }>

/** Runs flow run `id` in this process to its end; never throws. */
export function executeFlowRun(id: string): Promise<SingleExecution>
export function executeFlowRun(id: string, options: ExecuteOptions): Promise<Execution>
export async function executeFlowRun(id: string, options: ExecuteOptions = {}): Promise<Execution> {
  const reuse = options.reuse
  const runtime = defaultRuntime()
  // A process Orion started (an agent's executor, `orion flow-run execute`): its heap is tuned as `orion start`'s is.
  await Effect.runPromise(tuneHeap)
  try {
    const target = await runtime.runPromise(Effect.either(locate(id)))
    if (target._tag === "Left") return { _tag: "NotRun", reason: `Could not read flow run ${id}: ${describe(target.left)}`, failed: false }
    if (target.right._tag === "Stop") {
      const { reason, fail } = target.right
      return { _tag: "NotRun", reason, failed: fail && await runtime.runPromise(failRun(id, reason)) }
    }
    if (reuse !== undefined) {
      const stale = reuse.modules.staleReason(target.right.path)
      if (stale !== undefined) return { _tag: "Stale", reason: stale }
      reuse.modules.recordLoad(target.right.path)
    }
    options.onAccepted?.()
    const loaded = await loadFlow(target.right.path, target.right.exportName)
    if ("error" in loaded) {
      const reason = loaded.error ?? "Could not load the flow."
      return { _tag: "NotRun", reason, failed: await runtime.runPromise(failRun(id, reason)) }
    }
    if (reuse !== undefined) {
      runnersUsed.add(loaded.runner)
      return { _tag: "Finished", state: await loaded.runner.runFlowRun(id) }
    }
    try {
      return { _tag: "Finished", state: await loaded.runner.runFlowRun(id) }
    } finally {
      await loaded.runner.shutdown()
    }
  } catch (e) {
    return { _tag: "NotRun", reason: `Running flow run ${id} failed: ${describe(e)}`, failed: false }
  } finally {
    if (reuse === undefined) await shutdown()
  }
}

/**
 * Imports a flow module ahead of its runs (a warm executor told what it will likely run), recording it in `modules`
 * first; a module that cannot be loaded is left for the run to report, ending it Failed with the reason.
 */
export const preloadFlowModule = async (file: string, modules: LoadedFlowModules): Promise<void> => {
  if (unloadable(file) !== undefined) return
  modules.recordLoad(file)
  await importModule(file).catch(() => undefined)
}

/** Closes what a reused process kept open between runs (logs shipped, database closed), before it exits. */
export const closeServices = async (): Promise<void> => {
  for (const runner of runnersUsed) await runner.shutdown().catch(() => undefined)
  runnersUsed.clear()
  await shutdown()
}

/** Builds this process's Orion services now (database opened, or the API client made), so a run starts without that cost. */
export const warmUp = (): Promise<void> => defaultRuntime().runPromise(Effect.void)
