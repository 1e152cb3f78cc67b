/**
 * The messages between an agent and its executor processes over IPC (JSON), as Schemas: the agent has a warm executor
 * import the flow modules it expects to run (`Preload`), hands a flow run over (`Run`) or retires an idle executor
 * (`Retire`); the executor says it listens, is loaded, and for each run handed
 * over whether it takes it (`Accepted`) or refuses it because its flow module changed on disk since it loaded it
 * (`Stale`: the agent hands the run to a fresh process), then that the run has ended (`Ended`).
 */
import { Option, Schema } from "effect"

/** Agent → executor: run flow run `id` now (the agent has claimed it: it is Pending). */
export const Run = Schema.TaggedStruct("Run", { id: Schema.String })
/** Agent → executor: an idle executor is not needed any more: close its services and exit. */
export const Retire = Schema.TaggedStruct("Retire", {})
/**
 * Agent → a warm executor that has run nothing yet: import these flow modules (the agent's latest deployments') now,
 * so that its first run does not wait for them. A module that fails to import is left for a run to report.
 */
export const Preload = Schema.TaggedStruct("Preload", { paths: Schema.Array(Schema.String) })
export const ToExecutor = Schema.Union(Run, Retire, Preload)
export type ToExecutor = typeof ToExecutor.Type

/** Executor → agent: its message listener is set up, so a `Run` sent now is not lost (Orion may still be loading). */
export const Listening = Schema.TaggedStruct("Listening", {})
/** Executor → agent: Orion loaded and its services open; a run handed over starts at once. */
export const Ready = Schema.TaggedStruct("Ready", {})
/** Executor → agent: it runs flow run `id`. */
export const Accepted = Schema.TaggedStruct("Accepted", { id: Schema.String })
/** Executor → agent: it will not run `id`, whose flow module changed on disk since it loaded it; it retires (exits 0). */
export const Stale = Schema.TaggedStruct("Stale", { id: Schema.String, reason: Schema.String })
/**
 * Executor → agent: flow run `id` has ended in this process (its final state, when it had one, is stored). `reusable`:
 * it completed, so the process waits for the next `Run`; otherwise the process exits, and its exit says how it went.
 * `rss`: the process's resident set, in bytes, after the run.
 */
export const Ended = Schema.TaggedStruct("Ended", {
  id: Schema.String,
  state: Schema.NullOr(Schema.String),
  reusable: Schema.Boolean,
  rss: Schema.Number
})
export const FromExecutor = Schema.Union(Listening, Ready, Accepted, Stale, Ended)
export type FromExecutor = typeof FromExecutor.Type

const decodeTo = Schema.decodeUnknownOption(ToExecutor)
const decodeFrom = Schema.decodeUnknownOption(FromExecutor)

/** A message the executor received, or undefined for anything that is not one of the protocol's. */
export const toExecutor = (message: unknown): ToExecutor | undefined => Option.getOrUndefined(decodeTo(message))
/** A message the agent received from an executor, or undefined for anything that is not one of the protocol's. */
export const fromExecutor = (message: unknown): FromExecutor | undefined => Option.getOrUndefined(decodeFrom(message))
