/**
 * How a flow is run as an existing flow run (an agent's `orion flow-run execute <id>`): every flow carries a runner under
 * a registry-wide symbol, so the executor finds it even when the flow's module loaded another copy of Orion.
 */
import type { RunPolicy, State } from "../domain/index.js"

/** The key of a flow's runner (`Symbol.for`, so that it is the same in every copy of Orion in a process). */
export const FLOW_RUNNER: unique symbol = Symbol.for("@orion-ts/orion/flow-runner") as never

export interface FlowRunner {
  readonly flowName: string
  /** The flow's retry policy (from its options), which a deployment of it gives the runs it makes. */
  readonly policy: RunPolicy
  /** Runs the flow as flow run `flowRunId` (which must exist), on the services of the flow's own copy of Orion. */
  readonly runFlowRun: (flowRunId: string) => PromiseLike<State>
  /** Flushes and closes those services (logs shipped, database closed) before the process exits. */
  readonly shutdown: () => Promise<void>
}

/** The runner of `value` when it is a flow, else undefined. */
export const flowRunnerOf = (value: unknown): FlowRunner | undefined => {
  if (typeof value !== "function" || !(FLOW_RUNNER in value)) return undefined
  const runner = (value as { readonly [FLOW_RUNNER]: unknown })[FLOW_RUNNER]
  return typeof runner === "object" && runner !== null && typeof (runner as FlowRunner).runFlowRun === "function" ? runner as FlowRunner : undefined
}
