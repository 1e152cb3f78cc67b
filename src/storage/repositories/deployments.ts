/** Deployments in the database: upsert on (flow, name), reads, filters, deletes and schedule activation (spec §1.4, §4.4). */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { Effect, Schema } from "effect"
import { Deployment, type DeploymentCreate } from "../../domain/deployment.js"
import { ObjectNotFound } from "../../domain/errors.js"
import type { CountRequest, DeploymentFilterRequest } from "../../domain/filters.js"
import { newUuid, type Uuid } from "../../domain/primitives.js"
import { decodeRow, rowToDb } from "../codec.js"
import { Columns } from "../tables.js"
import { Database } from "../database.js"
import { deploymentsWhere } from "../filters.js"
import { retryingConflicts } from "../conflicts.js"
import { deleteUnstartedRunsOf } from "../service-queries.js"
import { countFrom, currentDate, firstOrNotFound, touchedOrNotFound, type Upserted } from "./common.js"

const decodeDeployment = decodeRow(Deployment, Columns.deployment)
const encodeDeployment = Schema.encodeSync(Deployment)

export class DeploymentRepository extends Effect.Service<DeploymentRepository>()("orion/DeploymentRepository", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const { dialect } = yield* Database

    /**
     * Removes the runs the scheduler made for this deployment that have not started (still SCHEDULED, never run), so
     * they can be made afresh; answers their ids (the orchestrator must forget them).
     */
    const deleteAutoScheduledRuns = (deploymentId: string) => Effect.provideService(deleteUnstartedRunsOf(deploymentId), SqlClient.SqlClient, sql)

    /**
     * Creates the deployment, or overwrites schedule, activation, tags, parameters, flow data, location, work queue and
     * run policies of the one with the same flow and name; then deletes its auto-scheduled runs not started yet (spec §4.4),
     * answered as `removedRuns`.
     */
    const upsert = (input: DeploymentCreate): Effect.Effect<Upserted<Deployment> & { readonly removedRuns: ReadonlyArray<Uuid> }, ObjectNotFound | SqlError> =>
      retryingConflicts(sql.withTransaction(Effect.gen(function*() {
        const flows = yield* sql`SELECT id FROM flow WHERE id = ${input.flow_id}`
        if (flows.length === 0) return yield* new ObjectNotFound({ thing: "Flow", id: input.flow_id })
        const now = yield* currentDate
        const id = newUuid()
        const row = rowToDb(dialect, encodeDeployment({ ...input, id, created: now, updated: now }))
        const rows = yield* sql`INSERT INTO deployment ${sql.insert(row)}
          ON CONFLICT (flow_id, name) DO UPDATE SET
            flow_data = excluded.flow_data, schedule = excluded.schedule, is_schedule_active = excluded.is_schedule_active,
            parameters = excluded.parameters, tags = excluded.tags, flow_path = excluded.flow_path,
            flow_export = excluded.flow_export, work_queue = excluded.work_queue, empirical_policy = excluded.empirical_policy,
            catchup_seconds = excluded.catchup_seconds, overlap = excluded.overlap, updated = excluded.updated
          RETURNING *`
        const value = decodeDeployment(rows[0] as Record<string, any>)
        const removedRuns = yield* deleteAutoScheduledRuns(value.id)
        return { value, created: value.id === id, removedRuns }
      })))

    const get = (id: string) =>
      Effect.flatMap(sql`SELECT * FROM deployment WHERE id = ${id}`, firstOrNotFound("Deployment", id, decodeDeployment))

    /** The deployment addressed as "<flow name>/<deployment name>". */
    const getByName = (flowName: string, deploymentName: string) =>
      Effect.flatMap(
        sql`SELECT d.* FROM deployment AS d JOIN flow AS f ON f.id = d.flow_id WHERE f.name = ${flowName} AND d.name = ${deploymentName}`,
        firstOrNotFound("Deployment", `${flowName}/${deploymentName}`, decodeDeployment)
      )

    const filter = (request: DeploymentFilterRequest) =>
      Effect.map(
        sql`SELECT d.* FROM deployment AS d WHERE ${deploymentsWhere(sql, request)}
          ORDER BY d.name, d.id LIMIT ${request.limit} OFFSET ${request.offset}`,
        (rows) => rows.map(decodeDeployment)
      )

    const count = (request: CountRequest) =>
      Effect.map(sql`SELECT CAST(COUNT(*) AS INTEGER) AS count FROM deployment AS d WHERE ${deploymentsWhere(sql, request)}`, countFrom)

    /**
     * Deletes the deployment and, in the same transaction, its runs not started yet (answers their ids): the
     * auto-scheduled ones, and those made by hand (`orion deployment run`) that no agent could run without it. Its
     * other runs keep existing with `deployment_id` set to null.
     */
    const remove = (id: string): Effect.Effect<ReadonlyArray<Uuid>, ObjectNotFound | SqlError> =>
      retryingConflicts(sql.withTransaction(Effect.gen(function*() {
        // The deployment first, then its runs, as every other transaction here takes them: two of them never wait on each other.
        yield* sql.onDialectOrElse({ pg: () => sql`SELECT id FROM deployment WHERE id = ${id} FOR UPDATE`, orElse: () => Effect.void })
        const removedRuns = yield* deleteAutoScheduledRuns(id)
        const byHand = yield* sql`DELETE FROM flow_run WHERE deployment_id = ${id} AND state_type = 'SCHEDULED' AND run_count = 0 RETURNING id`
        yield* Effect.flatMap(sql`DELETE FROM deployment WHERE id = ${id} RETURNING id`, touchedOrNotFound("Deployment", id))
        return [...removedRuns, ...byHand.map((r) => (r as { id: Uuid }).id)]
      })))

    /**
     * Turns the schedule on or off; turning it off also deletes the auto-scheduled runs not started yet, in the same
     * transaction (answered as `removedRuns`).
     */
    const changeScheduleActive = (id: string, active: boolean): Effect.Effect<{ readonly deployment: Deployment; readonly removedRuns: ReadonlyArray<Uuid> }, ObjectNotFound | SqlError> =>
      retryingConflicts(sql.withTransaction(Effect.gen(function*() {
        const now = yield* currentDate
        const fields = rowToDb(dialect, { is_schedule_active: active, updated: now })
        const deployment = yield* Effect.flatMap(
          sql`UPDATE deployment SET ${sql.update(fields)} WHERE id = ${id} RETURNING *`,
          firstOrNotFound("Deployment", id, decodeDeployment)
        )
        const removedRuns = active ? [] : yield* deleteAutoScheduledRuns(id)
        return { deployment, removedRuns }
      })))

    /** Turns the schedule on or off, as `changeScheduleActive`; answers the deployment. */
    const setScheduleActive = (id: string, active: boolean): Effect.Effect<Deployment, ObjectNotFound | SqlError> =>
      Effect.map(changeScheduleActive(id, active), (r) => r.deployment)

    return { upsert, get, getByName, filter, count, delete: remove, setScheduleActive, changeScheduleActive, deleteAutoScheduledRuns } as const
  })
}) {}
