/**
 * Orchestration rules and transforms as small declarative values: the states they apply to and their hooks.
 * A rule may reject, delay or abort a proposal before it is stored; a transform keeps a run's bookkeeping in step.
 */
import type { Effect, Schema } from "effect"
import type { OrchestratedFields, RunKind, RunPolicy, State, StateCreate, StateType } from "../domain/index.js"
import type { OrchestrationStore, StoreError } from "./store.js"

/** The orchestrated columns but `state_id` (a run holds its `state`), as orchestration changes them. */
type Orchestrated = { -readonly [K in Exclude<keyof typeof OrchestratedFields, "state_id">]: Schema.Schema.Type<(typeof OrchestratedFields)[K]> }

/** The part of a flow or task run that orchestration reads and maintains: its orchestrated columns and current state. */
export interface OrchestratedRun extends Orchestrated {
  readonly kind: RunKind
  readonly id: string
  /** The owning flow run of a task run; a flow run's own id. */
  readonly flow_run_id: string
  /** Set on a subflow's run: the placeholder task run in its parent. */
  readonly parent_task_run_id: string | null
  readonly tags: ReadonlyArray<string>
  readonly empirical_policy: RunPolicy
  state: State | null
}

/** A state type, or null for "the run has no state yet". */
export type From = StateType | null

/** What a rule's hooks see; `reject`, `delay`, `abort` and `rename` may only be called from `before`. */
export interface RuleContext {
  readonly kind: RunKind
  readonly run: Readonly<OrchestratedRun>
  readonly initial: State | null
  readonly proposed: State | null
  /** The stored state, in `after` and `cleanup`. */
  readonly validated: State | null
  readonly now: Date
  readonly forced: boolean
  /** Store `state` instead of the proposal: status REJECT. */
  readonly reject: (state: StateCreate | State, reason: string) => void
  /** Store nothing; the client should propose again after `seconds`: status WAIT. */
  readonly delay: (seconds: number, reason: string) => void
  /** Store nothing; the client must stop: status ABORT. */
  readonly abort: (reason: string) => void
  /** Store the proposal under another name. */
  readonly rename: (name: string) => void
}

export type Hook<C> = (ctx: C) => Effect.Effect<void, StoreError, OrchestrationStore> | void

/** An orchestration rule: applies when the intended transition goes from one of `from` to one of `to`. */
export interface Rule {
  readonly name: string
  readonly from: ReadonlyArray<From>
  readonly to: ReadonlyArray<From>
  readonly before?: Hook<RuleContext>
  readonly after?: Hook<RuleContext>
  /** Undoes `before`'s side effects when a later rule changed the transition (the rule "fizzled"). */
  readonly cleanup?: Hook<RuleContext>
}

/** What a transform sees: the live run, which it may update, and the proposal, which it may amend. */
export interface TransformContext {
  readonly kind: RunKind
  readonly run: OrchestratedRun
  readonly initial: State | null
  proposed: State
  readonly validated: State | null
  readonly now: Date
  readonly forced: boolean
}

/** A universal transform: runs for every transition that stores a state, innermost, even when forced. */
export interface Transform {
  readonly name: string
  readonly before?: Hook<TransformContext>
  readonly after?: Hook<TransformContext>
}

/** An ordered list of rules for normal proposals, a minimal list that still applies when forced, and the transforms. */
export interface Policy {
  readonly rules: ReadonlyArray<Rule>
  readonly forcedRules: ReadonlyArray<Rule>
  readonly transforms: ReadonlyArray<Transform>
}

/** One policy per kind of run. */
export type Policies = { readonly [K in RunKind]: Policy }

export const rule = (r: Rule): Rule => r
export const transform = (t: Transform): Transform => t
