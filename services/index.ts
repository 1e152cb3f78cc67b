/** The service actors `orion start` runs, each unless switched off by its `ORION_SERVICES_<NAME>_ENABLED` setting. */
import type * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"
import type { ServicesToRun } from "../src/api/services-status.js"
import type { Orchestrator } from "../runtime/orchestrator.js"
import { agent } from "./agent.js"
import { crashDetection } from "./crash-detection.js"
import { lateRuns } from "./late-runs.js"
import { scheduler } from "./scheduler.js"
import * as Supervisor from "./supervisor.js"
import { crashDetectionSettings, lateRunsSettings, schedulerSettings, serviceEnabled } from "./settings.js"

/** The enabled services, with their settings read from the environment (an invalid setting fails with its message). */
export const enabledServices = Effect.gen(function*() {
  const services = []
  if (yield* serviceEnabled.scheduler) services.push(scheduler(yield* schedulerSettings))
  if (yield* serviceEnabled["late-runs"]) services.push(lateRuns(yield* lateRunsSettings))
  if (yield* serviceEnabled["crash-detection"]) services.push(crashDetection(yield* crashDetectionSettings))
  // On the server's database (or ORION_API_URL when set), with the ORION_AGENT_* settings, as `orion agent start`.
  if (yield* serviceEnabled.agent) services.push(agent())
  return services
})

/** The enabled services under a supervisor, as `orion start` runs them beside the API (see `ServicesToRun`). */
export const servicesToRun = Effect.map(enabledServices, (services): ServicesToRun<Orchestrator | SqlClient.SqlClient> => ({
  started: services.map((s) => ({ name: s.name, description: s.description })),
  layer: Supervisor.layer(services)
}))
