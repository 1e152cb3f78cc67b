/** The SDK's services on a fresh test database: local client, results in a temp directory, logs shipped quickly. */
import * as path from "node:path"
import { type Duration, Effect, Layer } from "effect"
import { layerOnDatabase } from "../../src/client/local.js"
import { OrionClient } from "../../src/client/orion-client.js"
import type { State, TaskRun, Uuid } from "../../src/domain/index.js"
import { EventBus } from "../../runtime/event-bus.js"
import * as Orion from "../../src/sdk/services.js"
import { type TestDatabase, tempDir } from "./databases.js"

export interface SdkLayerOptions {
  /** Where results are written (default: a fresh temp directory). */
  readonly resultsDir?: string
  readonly heartbeatInterval?: Duration.DurationInput
}

export const sdkLayer = (db: TestDatabase, options: SdkLayerOptions = {}) => {
  const resultsDir = options.resultsDir ?? path.join(tempDir(), "storage")
  // One database and client, built once (layers are shared by reference), exposed next to the SDK's services.
  const client = layerOnDatabase.pipe(Layer.provideMerge(EventBus.layer), Layer.provideMerge(db.layer()))
  const services = Orion.layerOnClient(client, {
    resultsDir,
    logs: { batchInterval: "20 millis" },
    ...(options.heartbeatInterval !== undefined ? { heartbeatInterval: options.heartbeatInterval } : {})
  })
  return Layer.merge(services, client)
}

/** The names of a run's states, oldest first. */
export const stateNames = (kind: "flow_run" | "task_run", id: string) =>
  Effect.flatMap(OrionClient, (c) => c.readStates({ kind, id: id as never })).pipe(Effect.map((states) => states.map((s) => s.name)))

/** Every task run of a flow run (all pages), oldest first. */
export const taskRunsOf = (flowRunId: string) =>
  Effect.gen(function*() {
    const client = yield* OrionClient
    const all: Array<TaskRun> = []
    while (true) {
      const page = yield* client.readTaskRuns({ flow_runs: { id: { any_: [flowRunId as Uuid] } }, limit: 200, offset: all.length, sort: "ID_DESC" })
      all.push(...page)
      if (page.length < 200) return all.reverse()
    }
  })

/** The flow run id a flow run's final state belongs to. */
export const flowRunIdOf = (state: State): Uuid => {
  const id = state.state_details.flow_run_id
  if (id === null) throw new Error(`state ${state.name} has no flow_run_id`)
  return id
}
