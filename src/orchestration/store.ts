/** What rules may ask of the database, inside the transaction that applies their decision. */
import type { SqlError } from "@effect/sql/SqlError"
import { Context, type Effect, type Option } from "effect"
import type { ConcurrencyLimit, RunKind, State, StateCreate } from "../domain/index.js"

export type StoreError = SqlError

export interface CacheEntry {
  readonly cache_key: string
  readonly cache_expiration: Date | null
  readonly task_run_state_id: string
  readonly task_run_id: string
}

export class OrchestrationStore extends Context.Tag("orion/OrchestrationStore")<OrchestrationStore, {
  /** The newest unexpired cached task-run state under `key`. */
  readonly findCachedState: (key: string, now: Date) => Effect.Effect<Option.Option<State>, StoreError>
  readonly insertCacheEntry: (entry: CacheEntry, now: Date) => Effect.Effect<void, StoreError>
  /** Expires every live cache entry written by a task run (it left its terminal state). */
  readonly expireCacheEntries: (taskRunId: string, now: Date) => Effect.Effect<void, StoreError>
  /** The limits on any of `tags`, locked for the rest of the transaction where the database supports it. */
  readonly limitsForTags: (tags: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<ConcurrencyLimit>, StoreError>
  readonly setActiveSlots: (limitId: string, slots: ReadonlyArray<string>, now: Date) => Effect.Effect<void, StoreError>
  /** The run is told to WAIT for a slot under `tag`: once this transaction commits, it is woken when one frees. */
  readonly awaitSlot: (runId: string, tag: string) => Effect.Effect<void>
  /** A slot under `tag` was given back: once this transaction commits, the first run waiting for one is woken. */
  readonly slotFreed: (tag: string) => Effect.Effect<void>
  /** Force-sets a state on another run in the same transaction (global transforms apply). */
  readonly forceState: (kind: RunKind, runId: string, state: StateCreate | State, options?: { readonly resetRunCount?: boolean }) => Effect.Effect<void, StoreError>
  /** Ids of a flow run's task runs whose current state has one of `types`. */
  readonly taskRunIdsInStates: (flowRunId: string, types: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<string>, StoreError>
}>() {}
