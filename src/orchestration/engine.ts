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


/** The rules of a policy that apply from one state type to another, worked out once per pair. */
const applicable = new WeakMap<ReadonlyArray<Rule>, Map<string, ReadonlyArray<Rule>>>()
const rulesFor = (policy: Policy, force: boolean, from: From, to: From): ReadonlyArray<Rule> => {
  const all = force ? policy.forcedRules : policy.rules
  let byPair = applicable.get(all)
  if (byPair === undefined) applicable.set(all, byPair = new Map())
  const pair = `${from}>${to}`
  let rules = byPair.get(pair)
  if (rules === undefined) byPair.set(pair, rules = all.filter((r) => r.from.includes(from) && r.to.includes(to)))
  return rules
}

/** Applies `policy` to one proposal; `validate` stores the final state (the caller's transaction). */
export const orchestrate = <E, R>(
  input: EngineInput,
  validate: (state: State) => Steps<void, E, R>
): Effect.Effect<EngineOutcome, E | StoreError, R | OrchestrationStore> => Effect.gen(() => orchestrateSteps(input, validate))

/**
 * `orchestrate` as steps (see `steps.ts`): the caller may drive them by Effect or, when its store answers at once,
 * synchronously. Only hooks that return an Effect (e.g. a cache lookup) and `validate` yield; the rest is plain code.
 */
export function* orchestrateSteps<E, R>(
  input: EngineInput,
  validate: (state: State) => Steps<void, E, R>
): Steps<EngineOutcome, E | StoreError, R | OrchestrationStore> {
    const { policy, now, force } = input
    const initial = input.run.state
    const from: From = initial?.type ?? null
    const to: From = input.proposed.type
    const rules = rulesFor(policy, force, from, to)

    let proposed: State | null = input.proposed
    let validated: State | null = null
    let status: SetStateStatus = "ACCEPT"
    let details: ResponseDetails = { type: "accept_details" }
    let decidedBy: string | null = null
    let reason: string | null = null
    let validating = false
    const signature: Array<string> = []

    interface Entered { readonly rule: Rule; to: From; readonly valid: boolean; context?: RuleContext }
    const entered: Array<Entered> = []

    const contextFor = (entry: Entered): RuleContext => (entry.context ??= makeContext(entry))
    const makeContext = (entry: Entered): RuleContext => {
      const decide = (s: SetStateStatus, d: ResponseDetails, why: string) => {
        if (validating) throw new Error(`Rule ${entry.rule.name} tried to change a transition after it was stored`)
        status = s
        details = d
        decidedBy = entry.rule.name
        reason = why
      }
      return {
        kind: input.run.kind,
        run: input.run,
        initial,
        get proposed() { return proposed },
        get validated() { return validated },
        now,
        forced: force,
        reject: (state, why) => {
          const at = stampAfter(initial, now)
          proposed = isState(state) ? { ...state, timestamp: at } : materialize(state, at)
          entry.to = proposed.type
          decide("REJECT", { type: "reject_details", reason: why }, why)
        },
        delay: (seconds, why) => {
          proposed = null
          entry.to = null
          decide("WAIT", { type: "wait_details", delay_seconds: Math.max(0, Math.round(seconds * 1000) / 1000), reason: why }, why)
        },
        abort: (why) => {
          proposed = null
          entry.to = null
          decide("ABORT", { type: "abort_details", reason: why }, why)
        },
        rename: (name) => {
          if (validating) throw new Error(`Rule ${entry.rule.name} tried to rename a state after it was stored`)
          if (proposed) proposed = { ...proposed, name }
        }
      }
    }

    for (const r of rules) {
      const entry: Entered = { rule: r, to, valid: (proposed?.type ?? null) === to }
      entered.push(entry)
      if (!entry.valid) continue
      signature.push(r.name)
      const effect = r.before?.(contextFor(entry))
      if (effect) yield* effect
    }

    const transformContext = (): TransformContext => ({
      kind: input.run.kind,
      run: input.run,
      initial,
      get proposed() { return proposed! },
      set proposed(s: State) { proposed = s },
      get validated() { return validated },
      now,
      forced: force
    })
    const tctx = transformContext()
    if (proposed !== null) {
      for (const t of policy.transforms) {
        const effect = t.before?.(tctx)
        if (effect) yield* effect
      }
    }

    validating = true
    if (proposed !== null) {
      yield* validate(proposed)
      validated = proposed
      for (let i = policy.transforms.length - 1; i >= 0; i--) {
        const effect = policy.transforms[i]!.after?.(tctx)
        if (effect) yield* effect
      }
    }

    for (const entry of entered.reverse()) {
      if (!entry.valid) continue
      const hook = (proposed?.type ?? null) !== entry.to ? entry.rule.cleanup : entry.rule.after
      const effect = hook?.(contextFor(entry))
      if (effect) yield* effect
    }

    return { state: validated, status, details, decidedBy, reason, rules: signature }
}
