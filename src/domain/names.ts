/**
 * Flows and deployments as a picker shows them (the flow-runs page's dropdowns): id and name, and a deployment's flow —
 * no tags, parameters, schedule or policy, which a picker never shows.
 */
import { Deployment } from "./deployment.js"
import { Flow } from "./flow.js"

export const FlowName = Flow.pick("id", "name").annotations({ identifier: "FlowName" })
export type FlowName = typeof FlowName.Type

export const DeploymentName = Deployment.pick("id", "name", "flow_id").annotations({ identifier: "DeploymentName" })
export type DeploymentName = typeof DeploymentName.Type
