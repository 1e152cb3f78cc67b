/** Reads flow runs as list summaries (FlowRunSummary) under the same filters, sorts and paging as `/flow_runs/filter`. */
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"
import type { FlowRunFilterRequest } from "../domain/filters.js"
import { FlowRunSummary } from "../domain/flow-run-summary.js"
import { decodeRow } from "./codec.js"
import { flowRunsWhere, runOrderBy } from "./filters.js"
import { currentDate } from "./repositories/common.js"

const decodeSummary = decodeRow(FlowRunSummary, { json: ["tags"] })

const seconds = (from: number, to: number) => (to - from) / 1000

/**
 * The page of flow runs that `/flow_runs/filter` would answer, as summaries. `estimated_run_time` is the total run time
 * plus, while the run is RUNNING, the time since it entered that state (as on a whole flow run, spec §1.10).
 */
export const flowRunSummaries = (request: FlowRunFilterRequest) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.gen(function*() {
      const rows = yield* sql`SELECT fr.id, fr.name, fr.flow_id, fr.deployment_id, fr.state_type, fr.state_name, fr.tags,
          fr.expected_start_time, fr.next_scheduled_start_time, fr.start_time, fr.end_time, fr.total_run_time,
          s.timestamp AS state_timestamp
        FROM flow_run AS fr LEFT JOIN flow_run_state AS s ON s.id = fr.state_id
        WHERE ${flowRunsWhere(sql, request)}
        ORDER BY ${runOrderBy(sql, "fr", request.sort)} LIMIT ${request.limit} OFFSET ${request.offset}`
      const now = (yield* currentDate).getTime()
      return rows.map(({ state_timestamp, ...row }) => {
        const entered = state_timestamp instanceof Date ? state_timestamp.getTime() : typeof state_timestamp === "string" ? Date.parse(state_timestamp) : NaN
        const total = Number(row.total_run_time)
        const running = row.state_type === "RUNNING" && !Number.isNaN(entered)
        return decodeSummary({ ...row, estimated_run_time: running ? total + Math.max(0, seconds(entered, now)) : total })
      })
    }))
