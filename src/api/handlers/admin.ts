/**
 * Handlers of `/api/admin` and `/api/health`. The database routes act only on `{"confirm": true}`; each runs in
 * one transaction (clear) or through the migrator (create), and makes the orchestrator forget the runs it remembers.
 */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect, Option } from "effect"
import { orionHome } from "../../settings.js"
import { Database, dropAll } from "../../storage/database.js"
import { migrations } from "../../storage/migrations.js"
import { Orchestrator } from "../../../runtime/orchestrator.js"
import { OrionApi } from "../api.js"
import { ApiSettings } from "../config.js"
import { ServiceStatuses } from "../services-status.js"
import { BadRequest, ServiceUnavailable } from "../errors.js"
import { orionVersion } from "../version.js"
import { liftRead } from "./respond.js"

/** Orion's tables with data, dependents first (the migrator's own table is kept). */
const dataTables = [
  "event", "decision_without_state", "log", "concurrency_limit", "saved_search", "task_run_state_cache", "task_run_state",
  "flow_run_state", "task_run", "flow_run", "deployment", "flow"
] as const

const runMigrations = Migrator.make({})({ loader: Migrator.fromRecord(migrations) })

export const AdminLive = HttpApiBuilder.group(OrionApi, "admin", (handlers) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const database = yield* Database
    const settings = yield* ApiSettings
    const orchestrator = yield* Orchestrator
    const home = yield* orionHome
    const services = yield* Effect.serviceOption(ServiceStatuses)

    const confirmed = (confirm: boolean, action: string) =>
      confirm ? Effect.void : Effect.fail(new BadRequest({ detail: `Refusing to ${action} without {"confirm": true} in the body` }))
    const migrationFailed = (e: { readonly message: string }) => new ServiceUnavailable({ detail: `Could not create the tables: ${e.message}` })

    return handlers
      .handle("health", () => liftRead(Effect.as(sql`SELECT 1 AS one`, true)))
      .handle("hello", () => Effect.succeed("👋"))
      .handle("version", () => Effect.succeed(orionVersion))
      .handle("services", () => Option.match(services, { onNone: () => Effect.succeed([]), onSome: (s) => s.read }))
      .handle("settings", () =>
        Effect.succeed({
          version: orionVersion,
          home,
          database_url: database.url,
          api: {
            host: settings.host,
            port: settings.port,
            cors_origins: settings.corsOrigins,
            max_body_bytes: settings.maxBodyBytes,
            max_data_bytes: settings.maxDataBytes
          },
          data: { scheme: "file" as const, base_path: settings.dataDir },
          ui: { dir: settings.uiDir },
          services: settings.services
        }))
      .handle("clear", ({ payload }) =>
        Effect.zipRight(
          confirmed(payload.confirm, "delete all data"),
          liftRead(Effect.zipRight(
            sql.withTransaction(Effect.forEach(dataTables, (table) => sql`DELETE FROM ${sql(table)}`, { discard: true })),
            orchestrator.invalidate()
          ))
        ))
      .handle("drop", ({ payload }) =>
        Effect.zipRight(confirmed(payload.confirm, "drop the tables"), liftRead(Effect.zipRight(dropAll, orchestrator.invalidate()))))
      .handle("create", ({ payload }) =>
        Effect.zipRight(
          confirmed(payload.confirm, "create the tables"),
          liftRead(Effect.zipRight(Effect.mapError(runMigrations, (e) => (e._tag === "MigrationError" ? migrationFailed(e) : e)), orchestrator.invalidate()))
        ))
  }))
