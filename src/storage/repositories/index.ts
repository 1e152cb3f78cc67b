/** Every storage repository as one layer; it needs the `SqlClient` and `Database` of `storage/database.ts`. */
import { Layer } from "effect"
import { ConcurrencyLimitRepository } from "./concurrency-limits.js"
import { DeploymentRepository } from "./deployments.js"
import { FlowRepository } from "./flows.js"
import { LogRepository } from "./logs.js"
import { RunRepository } from "./runs.js"
import { SavedSearchRepository } from "./saved-searches.js"

export * from "./common.js"
export * from "./concurrency-limits.js"
export * from "./deployments.js"
export * from "./flows.js"
export * from "./history.js"
export * from "./logs.js"
export * from "./runs.js"
export * from "./saved-searches.js"

/** All repositories, built from the same `SqlClient` and `Database`. */
export const Repositories = Layer.mergeAll(
  FlowRepository.Default,
  DeploymentRepository.Default,
  SavedSearchRepository.Default,
  LogRepository.Default,
  ConcurrencyLimitRepository.Default,
  RunRepository.Default
)
