/** Reads a flow run's task runs as summaries (id, name, state, times), a page at a time in id order, for the dashboard. */
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"
import { ObjectNotFound } from "../domain/errors.js"
import type { Uuid } from "../domain/primitives.js"
import { TaskRunSummary } from "../domain/task-run-summary.js"
import { decodeRow } from "./codec.js"

const decodeSummary = decodeRow(TaskRunSummary, {})

/** Up to `limit` task runs of flow run `flowRunId` with an id after `afterId` (all when null), in id order; 404 for an unknown flow run. */
export const taskRunSummaries = (flowRunId: Uuid, afterId: Uuid | null, limit: number) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.gen(function*() {
      const found = yield* sql`SELECT 1 AS found FROM flow_run WHERE id = ${flowRunId}`
      if (found.length === 0) return yield* new ObjectNotFound({ thing: "Flow run", id: flowRunId })
      const rows = yield* sql`SELECT id, created, name, state_type, state_name, start_time, end_time FROM task_run
        WHERE flow_run_id = ${flowRunId} ${afterId === null ? sql`` : sql`AND id > ${afterId}`} ORDER BY id LIMIT ${limit}`
      return rows.map(decodeSummary)
    }))
