/** The SDK's services on a fresh test database: local client, results in a temp directory, logs shipped quickly. */
import * as path from "node:path"
import { Effect, Layer } from "effect"
import { layerOnDatabase } from "../../src/client/local.js"
import { OrionClient } from "../../src/client/orion-client.js"
import { EventBus } from "../../runtime/event-bus.js"
import * as Orion from "../../src/sdk/services.js"
import { type TestDatabase, tempDir } from "./databases.js"

export const sdkLayer = (db: TestDatabase) => {
  const resultsDir = path.join(tempDir(), "storage")
  return Orion.layerOnClient(layerOnDatabase.pipe(Layer.provideMerge(EventBus.layer), Layer.provideMerge(db.layer())), {
    resultsDir,
    logs: { batchInterval: "20 millis" }
  })
}

/** The names of a run's states, oldest first. */
export const stateNames = (kind: "flow_run" | "task_run", id: string) =>
  Effect.flatMap(OrionClient, (c) => c.readStates({ kind, id: id as never })).pipe(Effect.map((states) => states.map((s) => s.name)))
