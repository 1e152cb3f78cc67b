/** The domain: Schemas that are the single source of truth for rows, payloads, the client and the UI. */
export * from "./primitives.js"
export * from "./data.js"
export * from "./state.js"
export * from "./policy.js"
export * from "./flow.js"
export * from "./runs.js"
export * from "./schedule.js"
export * from "./deployment.js"
export * from "./saved-search.js"
export * from "./log.js"
export * from "./concurrency-limit.js"
export * from "./filters.js"
export * from "./history.js"
export * from "./orchestration.js"
export * from "./batches.js"
export * from "./events.js"
export * from "./errors.js"
export * from "./slug.js"

import * as Domain from "./index.js"
import { fastParsers } from "./fast-parsers.js"
// Every schema of the domain parses through its compiled parser, before anything compiles a parser that contains it.
fastParsers(Object.values(Domain))
