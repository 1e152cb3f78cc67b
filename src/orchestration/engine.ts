/**
 * The orchestration engine (spec §3.1–3.3): enters the matching rules in order and the transforms innermost,
 * stores the (possibly substituted) proposal through `validate`, then exits everything in reverse, firing
 * `after` hooks — or `cleanup` for rules whose transition was changed by a later rule ("fizzled").
 */
import { Effect } from "effect"
import { materialize, type OrchestrationResult, type ResponseDetails, type SetStateStatus, type State, type StateCreate } from "../domain/index.js"
import type { From, OrchestratedRun, Policy, Rule, RuleContext, TransformContext } from "./rule.js"
import type { Steps } from "./steps.js"
import type { OrchestrationStore, StoreError } from "./store.js"

export interface EngineInput {
  readonly policy: Policy
  /** A working copy of the run; transforms update it in place. */
  readonly run: OrchestratedRun
  readonly proposed: State
  readonly force: boolean
  readonly now: Date
}

export interface EngineOutcome extends OrchestrationResult {
  /** The rule that rejected, delayed or aborted; null when accepted as proposed. */
  readonly decidedBy: string | null
  readonly reason: string | null
  /** The rules that took part, in order of entry. */
  readonly rules: ReadonlyArray<string>
}

/** A timestamp strictly after the run's current state, so a run's history has a total order (spec §1.5, §12.2). */
export const stampAfter = (initial: State | null, now: Date): Date =>
  initial !== null && now.getTime() <= initial.timestamp.getTime() ? new Date(initial.timestamp.getTime() + 1) : now

const isState = (s: StateCreate | State): s is State => "id" in s && "timestamp" in s


/** The rules of a policy that apply from one state type to another, and their names, worked out once per pair. */
interface Applicable {
  readonly rules: ReadonlyArray<Rule>
  /** The rules' names: a transition's `rules` when every one of them took part (it then shares this array). */
  readonly names: ReadonlyArray<string>
}
const applicable = new WeakMap<ReadonlyArray<Rule>, Map<From, Map<From, Applicable>>>()
const rulesFor = (policy: Policy, force: boolean, from: From, to: From): Applicable => {
  const all = force ? policy.forcedRules : policy.rules
  let byFrom = applicable.get(all)
  if (byFrom === undefined) applicable.set(all, byFrom = new Map())
  let byTo = byFrom.get(from)
  if (byTo === undefined) byFrom.set(from, byTo = new Map())
  let found = byTo.get(to)
  if (found === undefined) {
    const rules = all.filter((r) => r.from.includes(from) && r.to.includes(to))
    byTo.set(to, found = { rules, names: rules.map((r) => r.name) })
  }
  return found
}

/**
 * Stores the proposal as it finally stands (the caller's transaction): as steps, or — when it stores at once, as the
 * orchestrator does on SQLite — as a plain call that returns nothing.
 */
export type Validate<E, R> = (state: State) => Steps<void, E, R> | void

/** Applies `policy` to one proposal; `validate` stores the final state (the caller's transaction). */
export const orchestrate = <E, R>(
  input: EngineInput,
  validate: Validate<E, R>
): Effect.Effect<EngineOutcome, E | StoreError, R | OrchestrationStore> => Effect.gen(() => orchestrateSteps(input, validate))

/**
 * One transition being orchestrated: the proposal as the rules leave it and what they decided. It is the transforms'
 * context itself (they run only while there is a proposal, so `proposed` is then a state); each rule entered is a
 * `RuleScope` over it. Classes rather than closures: this runs three times per task run, and a context of closures
 * cost ~5 KB of short-lived objects per transition.
 */
class Transition {
  proposed: State | null
  validated: State | null = null
  status: SetStateStatus = "ACCEPT"
  details: ResponseDetails = acceptDetails
  decidedBy: string | null = null
  reason: string | null = null
  validating = false
  readonly kind: OrchestratedRun["kind"]
  readonly run: OrchestratedRun
  readonly initial: State | null
  readonly now: Date
  readonly forced: boolean

  constructor(input: EngineInput) {
    this.run = input.run
    this.kind = input.run.kind
    this.initial = input.run.state
    this.proposed = input.proposed
    this.now = input.now
    this.forced = input.force
  }

  decide(entry: RuleScope, status: SetStateStatus, details: ResponseDetails, why: string) {
    if (this.validating) throw new Error(`Rule ${entry.rule.name} tried to change a transition after it was stored`)
    this.status = status
    this.details = details
    this.decidedBy = entry.rule.name
    this.reason = why
  }
}

const acceptDetails: ResponseDetails = { type: "accept_details" }

/**
 * A rule entered for one transition — the state type it expected the proposal to move to, and whether it took part —
 * and what its hooks see: the transition, and the decisions it may take on it as this rule.
 */
class RuleScope implements RuleContext {
  constructor(private readonly t: Transition, readonly rule: Rule, public to: From, readonly valid: boolean) {}
  get kind() { return this.t.kind }
  get run() { return this.t.run }
  get initial() { return this.t.initial }
  get proposed() { return this.t.proposed }
  get validated() { return this.t.validated }
  get now() { return this.t.now }
  get forced() { return this.t.forced }
  reject(state: StateCreate | State, why: string) {
    const at = stampAfter(this.t.initial, this.t.now)
    this.t.proposed = isState(state) ? { ...state, timestamp: at } : materialize(state, at)
    this.to = this.t.proposed.type
    this.t.decide(this, "REJECT", { type: "reject_details", reason: why }, why)
  }
  delay(seconds: number, why: string) {
    this.t.proposed = null
    this.to = null
    this.t.decide(this, "WAIT", { type: "wait_details", delay_seconds: Math.max(0, Math.round(seconds * 1000) / 1000), reason: why }, why)
  }
  abort(why: string) {
    this.t.proposed = null
    this.to = null
    this.t.decide(this, "ABORT", { type: "abort_details", reason: why }, why)
  }
  rename(name: string) {
    if (this.t.validating) throw new Error(`Rule ${this.rule.name} tried to rename a state after it was stored`)
    if (this.t.proposed) this.t.proposed = { ...this.t.proposed, name }
  }
}

/**
 * `orchestrate` as steps (see `steps.ts`): the caller may drive them by Effect or, when its store answers at once,
 * synchronously. Only hooks that return an Effect (e.g. a cache lookup) and `validate` yield; the rest is plain code.
 */
export function* orchestrateSteps<E, R>(
  input: EngineInput,
  validate: Validate<E, R>
): Steps<EngineOutcome, E | StoreError, R | OrchestrationStore> {
  const { policy } = input
  const t = new Transition(input)
  const to: From = input.proposed.type
  const { rules, names } = rulesFor(policy, input.force, t.initial?.type ?? null, to)
  const entered: Array<RuleScope> = new Array(rules.length)
  // Every rule takes part unless one before it changed the proposal's type: only then is the list of names built anew.
  let allValid = true

  for (let i = 0; i < rules.length; i++) {
    const r = rules[i]!
    const entry = new RuleScope(t, r, to, (t.proposed?.type ?? null) === to)
    entered[i] = entry
    if (!entry.valid) {
      allValid = false
      continue
    }
    if (r.before === undefined) continue
    const effect = r.before(entry)
    if (effect) yield* effect
  }

  if (t.proposed !== null) {
    const tctx = t as TransformContext
    for (const transform of policy.transforms) {
      const effect = transform.before?.(tctx)
      if (effect) yield* effect
    }
  }

  t.validating = true
  if (t.proposed !== null) {
    const storing = validate(t.proposed)
    if (storing) yield* storing
    t.validated = t.proposed
    for (let i = policy.transforms.length - 1; i >= 0; i--) {
      const effect = policy.transforms[i]!.after?.(t as TransformContext)
      if (effect) yield* effect
    }
  }

  for (let i = entered.length - 1; i >= 0; i--) {
    const entry = entered[i]!
    if (!entry.valid) continue
    const hook = (t.proposed?.type ?? null) !== entry.to ? entry.rule.cleanup : entry.rule.after
    if (hook === undefined) continue
    const effect = hook(entry)
    if (effect) yield* effect
  }

  const signature = allValid ? names : entered.filter((e) => e.valid).map((e) => e.rule.name)
  return { state: t.validated, status: t.status, details: t.details, decidedBy: t.decidedBy, reason: t.reason, rules: signature }
}
