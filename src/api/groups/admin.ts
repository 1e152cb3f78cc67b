/** `/api/admin` and `/api/health`: greeting, version, settings, health, and guarded database maintenance (spec §4.4 "Admin"). */
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as OpenApi from "@effect/platform/OpenApi"
import { Schema } from "effect"
import { BadRequest } from "../errors.js"
import { ConfirmRequest, ServerSettings, strict } from "../schemas.js"

const destructive = <const Name extends string>(name: Name, path: `/${string}`, description: string) =>
  HttpApiEndpoint.post(name, path)
    .setPayload(strict(ConfirmRequest))
    .addError(BadRequest)
    .annotate(OpenApi.Description, `${description} Refused (400) unless the body is {"confirm": true}.`)

export class AdminGroup extends HttpApiGroup.make("admin")
  .add(HttpApiEndpoint.get("health", "/api/health").addSuccess(Schema.Boolean)
    .annotate(OpenApi.Description, "true when the server is up and its database answers (503 otherwise)."))
  .add(HttpApiEndpoint.get("hello", "/api/admin/hello").addSuccess(Schema.String))
  .add(HttpApiEndpoint.get("version", "/api/admin/version").addSuccess(Schema.String))
  .add(HttpApiEndpoint.get("settings", "/api/admin/settings").addSuccess(ServerSettings)
    .annotate(OpenApi.Description, "The server's effective settings; the database password is masked."))
  .add(destructive("clear", "/api/admin/database/clear", "Deletes every row of every Orion table (the schema stays)."))
  .add(destructive("drop", "/api/admin/database/drop", "Drops Orion's tables: the API answers 503 until `create` is called."))
  .add(destructive("create", "/api/admin/database/create", "Creates Orion's tables (applies the migrations)."))
  .annotate(OpenApi.Description, "Administration")
{}
