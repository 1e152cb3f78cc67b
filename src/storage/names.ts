/** Reads flows and deployments as names only (FlowName, DeploymentName), under the same filters, order and paging as their `/filter` routes. */
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"
import type { DeploymentFilterRequest, FlowFilterRequest } from "../domain/filters.js"
import { DeploymentName, FlowName } from "../domain/names.js"
import { decodeRow } from "./codec.js"
import { deploymentsWhere, flowsWhere } from "./filters.js"

const decodeFlowName = decodeRow(FlowName, {})
const decodeDeploymentName = decodeRow(DeploymentName, {})

/** The flows `/flows/filter` would answer, id and name only. */
export const flowNames = (request: FlowFilterRequest) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(
      sql`SELECT f.id, f.name FROM flow AS f WHERE ${flowsWhere(sql, request)} ORDER BY f.name LIMIT ${request.limit} OFFSET ${request.offset}`,
      (rows) => rows.map(decodeFlowName)
    ))

/** The deployments `/deployments/filter` would answer, id, name and flow only. */
export const deploymentNames = (request: DeploymentFilterRequest) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(
      sql`SELECT d.id, d.name, d.flow_id FROM deployment AS d WHERE ${deploymentsWhere(sql, request)}
        ORDER BY d.name, d.id LIMIT ${request.limit} OFFSET ${request.offset}`,
      (rows) => rows.map(decodeDeploymentName)
    ))
