/**
 * A flow run as the dashboard's lists show it (the flow-runs list and scatter, the dashboard's recent failures and late
 * runs, a flow's latest run, a deployment's next runs): name, flow, state, tags and times — no parameters, context,
 * policy or state document, which a list never shows.
 */
import { FlowRun } from "./runs.js"

export const FlowRunSummary = FlowRun.pick(
  "id", "name", "flow_id", "deployment_id", "state_type", "state_name", "tags",
  "expected_start_time", "next_scheduled_start_time", "start_time", "end_time", "total_run_time", "estimated_run_time"
).annotations({ identifier: "FlowRunSummary" })
export type FlowRunSummary = typeof FlowRunSummary.Type
