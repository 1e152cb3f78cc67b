/** The agent's verdict on a deployment's due run, over its catch-up window and overlap policy: a table of cases. */
import { describe, expect, it } from "vitest"
import type { Deployment } from "../../src/domain/deployment.js"
import type { FlowRun } from "../../src/domain/runs.js"
import { verdictOn } from "../../services/agent-policies.js"

const now = Date.parse("2026-12-07T12:00:00Z")
const run = (id: string, over: Partial<FlowRun> = {}): FlowRun => ({
  id, name: `run-${id}`, state_type: "SCHEDULED", state_name: "Scheduled",
  next_scheduled_start_time: new Date(now - 5_000), expected_start_time: new Date(now - 5_000), ...over
}) as FlowRun
const policies = (catchup_seconds: number | null, overlap: Deployment["overlap"]) => ({ catchup_seconds, overlap })
const running = run("b", { state_type: "RUNNING", state_name: "Running" })

describe("verdictOn", () => {
  it.each([
    { case: "no window, allow: run", d: policies(null, "allow"), due: run("a"), underWay: [running], expected: { _tag: "Run", cancel: [] } },
    { case: "within the window: run", d: policies(60, "allow"), due: run("a"), underWay: [], expected: { _tag: "Run", cancel: [] } },
    { case: "missed by 2 h, window 10 min: skip", d: policies(600, "allow"), due: run("a", { next_scheduled_start_time: new Date(now - 7_200_000) }), underWay: [],
      expected: { _tag: "Skip", reason: "Missed: due at 2026-12-07T10:00:00.000000+00:00, found due 2 h later, beyond the deployment's catch-up window of 10 min." } },
    { case: "Late is still missed", d: policies(0, "allow"), due: run("a", { state_name: "Late" }), underWay: [],
      expected: { _tag: "Skip", reason: "Missed: due at 2026-12-07T11:59:55.000000+00:00, found due 5 s later, beyond the deployment's catch-up window of 0 s." } },
    { case: "a retry is never missed", d: policies(0, "allow"), due: run("a", { state_name: "AwaitingRetry" }), underWay: [], expected: { _tag: "Run", cancel: [] } },
    { case: "skip with nothing under way: run", d: policies(null, "skip"), due: run("a"), underWay: [], expected: { _tag: "Run", cancel: [] } },
    { case: "skip counts only other runs", d: policies(null, "skip"), due: run("a"), underWay: [run("a", { state_type: "PENDING" })], expected: { _tag: "Run", cancel: [] } },
    { case: "skip while another runs", d: policies(null, "skip"), due: run("a"), underWay: [running],
      expected: { _tag: "Skip", reason: "Overlap: run 'run-b' of this deployment is still Running (overlap policy: skip)." } },
    { case: "cancel_previous names the others", d: policies(null, "cancel_previous"), due: run("a"), underWay: [running, run("a")], expected: { _tag: "Run", cancel: [running] } },
    { case: "the window is judged before the overlap", d: policies(1, "cancel_previous"), due: run("a"), underWay: [running],
      expected: { _tag: "Skip", reason: "Missed: due at 2026-12-07T11:59:55.000000+00:00, found due 5 s later, beyond the deployment's catch-up window of 1 s." } }
  ])("$case", ({ d, due, underWay, expected }) => {
    expect(verdictOn(d, due, now, underWay)).toEqual(expected)
  })
})
