/**
 * What an agent does with a deployment's run that has fallen due, by the deployment's catch-up window and overlap
 * policy: run it, skip it (saying why), or run it after cancelling the deployment's earlier runs still under way.
 */
import type { Deployment } from "../src/domain/deployment.js"
import { formatTimestamp } from "../src/domain/primitives.js"
import type { FlowRun } from "../src/domain/runs.js"

export type Verdict =
  | { readonly _tag: "Run"; readonly cancel: ReadonlyArray<FlowRun> }
  | { readonly _tag: "Skip"; readonly reason: string }

const run: Verdict = { _tag: "Run", cancel: [] }

/** "90 s", "25 min", "3 h 20 min". */
const span = (ms: number): string => {
  const s = Math.round(ms / 1000)
  if (s < 120) return `${s} s`
  const m = Math.round(s / 60)
  return m < 120 ? `${m} min` : `${Math.floor(m / 60)} h${m % 60 === 0 ? "" : ` ${m % 60} min`}`
}

/**
 * The verdict on `due`, found due at `now` (ms), given the deployment's other runs that are Pending, Running or
 * Cancelling (`underWay`). A run waiting for its retry (AwaitingRetry) is never skipped as missed: it was started once.
 */
export const verdictOn = (
  deployment: Pick<Deployment, "catchup_seconds" | "overlap">,
  due: FlowRun,
  now: number,
  underWay: ReadonlyArray<FlowRun>
): Verdict => {
  const at = due.next_scheduled_start_time ?? due.expected_start_time
  if (deployment.catchup_seconds !== null && at !== null && due.state_name !== "AwaitingRetry") {
    const late = now - at.getTime()
    if (late > deployment.catchup_seconds * 1000) {
      return {
        _tag: "Skip",
        reason: `Missed: due at ${formatTimestamp(at)}, found due ${span(late)} later, beyond the deployment's catch-up window of ${span(deployment.catchup_seconds * 1000)}.`
      }
    }
  }
  const others = underWay.filter((r) => r.id !== due.id)
  if (others.length === 0 || deployment.overlap === "allow") return run
  if (deployment.overlap === "skip") {
    const first = others[0]!
    return { _tag: "Skip", reason: `Overlap: run '${first.name}' of this deployment is still ${first.state_name ?? first.state_type} (overlap policy: skip).` }
  }
  return { _tag: "Run", cancel: others }
}
