/**
 * How the remote client keeps a retried write from applying twice when the answer to an earlier attempt was lost
 * (the server committed, then the connection broke): before sending a proposal again it reads the run back, and takes
 * the decision the server recorded on the earlier attempt as the answer.
 */
import { Effect, Option } from "effect"
import { defaultStateName, type Decision, type OrchestrationResult, type RunRef, type State, type StateCreate } from "../domain/index.js"
import type { ApiClient } from "./remote-http.js"

/** Runs whose current state this client has seen (id → state id), least recently used first. */
export class KnownStates {
  private readonly states = new Map<string, string | null>()
  constructor(private readonly capacity: number) {}
  get(runId: string): string | null | undefined {
    return this.states.get(runId)
  }
  learn(runId: string, state: Pick<State, "id"> | null) {
    this.states.delete(runId)
    this.states.set(runId, state?.id ?? null)
    if (this.states.size > this.capacity) this.states.delete(this.states.keys().next().value!)
  }
}

const group = (api: ApiClient, ref: RunRef) => (ref.kind === "flow_run" ? api.flow_runs : api.task_runs)

/** Was `decision` made on this proposal (same type, name and force), and did it store a state? */
const decidedOn = (decision: Decision | undefined, proposal: StateCreate, force: boolean): decision is Decision & { readonly status: "ACCEPT" | "REJECT" } =>
  decision !== undefined && decision.proposed_type === proposal.type && decision.forced === force &&
  decision.proposed_name === (proposal.name ?? defaultStateName(proposal.type)) && (decision.status === "ACCEPT" || decision.status === "REJECT")

const answerOf = (decision: Decision & { readonly status: "ACCEPT" | "REJECT" }, state: State): OrchestrationResult => ({
  state,
  status: decision.status,
  details: decision.status === "ACCEPT" ? { type: "accept_details" } : { type: "reject_details", reason: decision.reason }
})

/**
 * Did an earlier attempt of this proposal take effect? Yes when the run has left the state it was in (`before`) and the
 * decision that stored its current state was on this proposal: that decision is the answer. Otherwise the proposal was
 * not applied (or someone else's came after it) and it is sent again, to be decided against the run as it is now.
 */
export const earlierAnswer = (api: ApiClient, ref: RunRef, proposal: StateCreate, force: boolean, before: string | null) =>
  Effect.gen(function*() {
    const run = yield* group(api, ref).get({ path: { id: ref.id } })
    if (run.state === null || run.state_id === before) return Option.none<OrchestrationResult>()
    const decisions = yield* group(api, ref).decisions({ path: { id: ref.id } })
    const decided = [...decisions].reverse().find((d) => d.state_id === run.state_id)
    return decidedOn(decided, proposal, force) ? Option.some(answerOf(decided, run.state)) : Option.none<OrchestrationResult>()
  })

/**
 * For a task run that a retried create found rather than created: was it created by the earlier attempt, with its
 * `start` proposal? Yes when its second decision is on that proposal, made with its creation (same transaction, same
 * time), and is what stored its current state: that decision is the answer the lost attempt carried.
 */
export const earlierStart = (api: ApiClient, id: RunRef["id"], start: StateCreate) =>
  Effect.gen(function*() {
    const run = yield* api.task_runs.get({ path: { id } })
    const [creation, first] = yield* api.task_runs.decisions({ path: { id } })
    const sameTransaction = creation !== undefined && first !== undefined && first.timestamp.getTime() === creation.timestamp.getTime()
    return sameTransaction && run.state !== null && first.state_id === run.state_id && decidedOn(first, start, false)
      ? Option.some(answerOf(first, run.state))
      : Option.none<OrchestrationResult>()
  })
