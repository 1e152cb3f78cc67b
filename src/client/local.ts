/** The local `OrionClient`: the orchestrator and repositories in-process, on the database of `ORION_DATABASE_URL`. */
import { Effect, Layer } from "effect"
import * as Database from "../storage/database.js"
import { DeploymentRepository, FlowRepository, LogRepository, Repositories, RunRepository } from "../storage/repositories/index.js"
import { EventBus } from "../../runtime/event-bus.js"
import * as Orch from "../../runtime/orchestrator.js"
import * as OrchSpans from "../../runtime/orchestrator-spans.js"
import { OrionClient, unavailable } from "./orion-client.js"

/** Keeps `ObjectNotFound` typed; every other failure becomes `OrionUnavailable`. */
const lift = <A, E extends { readonly _tag: string; readonly message: string }, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.catchIf(effect, (e): e is Exclude<E, { readonly _tag: "ObjectNotFound" }> => e._tag !== "ObjectNotFound", (e) => Effect.fail(unavailable(e))) as
    Effect.Effect<A, Extract<E, { readonly _tag: "ObjectNotFound" }> | ReturnType<typeof unavailable>, R>

const make = Effect.gen(function*() {
  const orchestrator = yield* Orch.Orchestrator
  const flows = yield* FlowRepository
  const deployments = yield* DeploymentRepository
  const runs = yield* RunRepository
  const logs = yield* LogRepository
  // Runs' reads wait for transitions answered before their commit: this process reads what it was told.
  const afterCommits = <A, E, R>(read: Effect.Effect<A, E, R>) => Effect.zipRight(orchestrator.committed, read)
  return OrionClient.of({
    ensureFlow: (flow) => lift(Effect.map(flows.create(flow), (u) => u.value)),
    readFlow: (id) => lift(flows.get(id)),
    readDeployment: (id) => lift(deployments.get(id)),
    createFlowRun: (run, options) => lift(orchestrator.createFlowRun(run, options)),
    readFlowRun: (id) => lift(afterCommits(runs.getFlowRun(id))),
    readFlowRuns: (request) => lift(afterCommits(runs.filterFlowRuns(request))),
    createTaskRun: (run, options) => lift(orchestrator.createTaskRun(run, options)),
    readTaskRun: (id) => lift(afterCommits(runs.getTaskRun(id))),
    readTaskRuns: (request) => lift(afterCommits(runs.filterTaskRuns(request))),
    proposeState: (run, state, options) => lift(orchestrator.propose(run, state, options)),
    readStates: (run) => lift(afterCommits(runs.readStates(run.kind, run.id))),
    createLogs: (batch) => lift(Effect.asVoid(logs.createMany(batch))),
    slotWait: (run) => orchestrator.slotWait(run.id),
    // A heartbeat names a run this process may have been told of before its commit: it waits for that commit too.
    heartbeat: (run) => lift(afterCommits(runs.heartbeat(run.kind, run.id)))
  })
})

/**
 * The local client over an open database and an event bus (shared with whatever else runs in the process). Every run
 * it proposes for is run by this process, so the orchestrator may answer their non-terminal transitions before
 * committing them (see `answerBeforeCommit`).
 */
export const layerOnDatabase = Layer.effect(OrionClient, make).pipe(
  Layer.provide(Layer.mergeAll(OrchSpans.withSpans.pipe(Layer.provide(Orch.layer({ answerBeforeCommit: true }))), Repositories)))

/**
 * The local client for proposals on runs other processes share — an agent's claims, a lease other agents must see —
 * which are answered only once committed.
 */
export const layerOnDatabaseCommitted = Layer.effect(OrionClient, make).pipe(Layer.provide(Layer.mergeAll(Orch.layer({}), Repositories)))

/** The local client on `ORION_DATABASE_URL` (default `$ORION_HOME/orion.db`), opening and migrating it. */
export const layer = layerOnDatabase.pipe(Layer.provide(EventBus.layer), Layer.provide(Database.layer))
