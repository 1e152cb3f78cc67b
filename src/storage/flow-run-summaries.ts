/** Reads flow runs as list summaries (FlowRunSummary) under the same filters, sorts and paging as `/flow_runs/filter`. */
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"
import type { FlowRunFilterRequest } from "../domain/filters.js"
import { FlowRunSummary } from "../domain/flow-run-summary.js"
import { decodeRow } from "./codec.js"
import { flowRunsWhere, runOrderBy } from "./filters.js"
import { currentDate } from "./repositories/common.js"

const decodeSummary = decodeRow(FlowRunSummary, { json: ["tags"] })

/** How many of the newest runs the first, quick try of a newest-first page looks through (at least). */
const NEWEST_WINDOW = 5000

/**
 * The page of flow runs that `/flow_runs/filter` would answer, as summaries. `estimated_run_time` is the total run time
 * plus, while the run is RUNNING, the time since it entered that state (as on a whole flow run, spec §1.10).
 *
 * Newest first (the list's default order) under a broad filter — "completed", a third of 100,000 runs — SQLite's planner
 * takes the state index and sorts every match (150–400 ms); reading the newest runs in id order finds the page in a few
 * hundred rows. So that order is tried first among the newest runs only; a prefix of the order holding the whole page
 * gives exactly the page, and when it does not (a rare filter), the plain query — fast for a rare filter — answers.
 */
export const flowRunSummaries = (request: FlowRunFilterRequest) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.gen(function*() {
      const page = (from: ReturnType<typeof sql.literal> | ReturnType<typeof sql>) =>
        sql`SELECT fr.id, fr.name, fr.flow_id, fr.deployment_id, fr.state_type, fr.state_name, fr.tags,
            fr.expected_start_time, fr.next_scheduled_start_time, fr.start_time, fr.end_time, fr.total_run_time,
            s.timestamp AS state_timestamp
          FROM ${from} LEFT JOIN flow_run_state AS s ON s.id = fr.state_id
          WHERE ${flowRunsWhere(sql, request)}
          ORDER BY ${runOrderBy(sql, "fr", request.sort)} LIMIT ${request.limit} OFFSET ${request.offset}`
      let rows: ReadonlyArray<Record<string, unknown>> = []
      if (request.sort === "ID_DESC" && request.limit > 0) {
        const window = Math.max(NEWEST_WINDOW, 20 * (request.offset + request.limit))
        rows = yield* page(sql`(SELECT * FROM flow_run ORDER BY id DESC LIMIT ${window}) AS fr`)
      }
      if (rows.length < request.limit) rows = yield* page(sql.literal("flow_run AS fr"))
      const now = (yield* currentDate).getTime()
      return rows.map(({ state_timestamp, ...row }) => {
        const entered = state_timestamp instanceof Date ? state_timestamp.getTime() : typeof state_timestamp === "string" ? Date.parse(state_timestamp) : NaN
        const total = Number(row.total_run_time)
        const running = row.state_type === "RUNNING" && !Number.isNaN(entered)
        return decodeSummary({ ...row, estimated_run_time: running ? total + Math.max(0, (now - entered) / 1000) : total })
      })
    }))
