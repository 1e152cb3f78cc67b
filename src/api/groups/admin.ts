/** `/api/admin` and `/api/health`: greeting, version, settings, health, and guarded database maintenance (spec §4.4 "Admin"). */
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as OpenApi from "@effect/platform/OpenApi"
import { Schema } from "effect"
import { BadRequest, PayloadTooLarge, ValidationError } from "../errors.js"
import { ServiceStatus } from "../../domain/service-status.js"
import { ConfirmRequest, ServerSettings, strict } from "../schemas.js"

const destructive = <const Name extends string>(name: Name, path: `/${string}`, summary: string, description: string) =>
  HttpApiEndpoint.post(name, path).annotate(OpenApi.Summary, summary).addError(PayloadTooLarge).addError(ValidationError)
    .setPayload(strict(ConfirmRequest))
    .addError(BadRequest)
    .annotate(OpenApi.Description, `${description} Refused (400) unless the body is {"confirm": true}.`)

export class AdminGroup extends HttpApiGroup.make("admin")
  .add(HttpApiEndpoint.get("health", "/api/health").annotate(OpenApi.Summary, "Check the server and its database").addSuccess(Schema.Boolean)
    .annotate(OpenApi.Description, "true when the server is up and its database answers (503 otherwise)."))
  .add(HttpApiEndpoint.get("hello", "/api/admin/hello").annotate(OpenApi.Summary, "Say hello").addSuccess(Schema.String))
  .add(HttpApiEndpoint.get("version", "/api/admin/version").annotate(OpenApi.Summary, "Read the server's version").addSuccess(Schema.String))
  .add(HttpApiEndpoint.get("settings", "/api/admin/settings").annotate(OpenApi.Summary, "Read the server's settings").addSuccess(ServerSettings)
    .annotate(OpenApi.Description, "The server's effective settings; the database password is masked."))
  .add(HttpApiEndpoint.get("services", "/api/admin/services").annotate(OpenApi.Summary, "Read the status of the services").addSuccess(Schema.Array(ServiceStatus))
    .annotate(OpenApi.Description, "Each long-lived service running in this server (scheduler, late runs, crash detection …): its state, last loop, last error, next due time and restarts. [] when the server runs no services (`orion start --no-services`)."))
  .add(destructive("clear", "/api/admin/database/clear", "Delete every row", "Deletes every row of every Orion table (the schema stays)."))
  .add(destructive("drop", "/api/admin/database/drop", "Drop the tables", "Drops Orion's tables: the API answers 503 until `create` is called."))
  .add(destructive("create", "/api/admin/database/create", "Create the tables", "Creates Orion's tables (applies the migrations)."))
  .annotate(OpenApi.Description, "Administration")
{}
