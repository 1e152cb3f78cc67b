/** `/api/logs`: batches of run log lines in, filtered and sorted log lines out (spec §11 "Logs API"). */
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as OpenApi from "@effect/platform/OpenApi"
import { Schema } from "effect"
import { LogFilterRequest } from "../../domain/filters.js"
import { Log, LogCreate } from "../../domain/log.js"
import { conflict, strict } from "../schemas.js"
import { Conflict } from "../../domain/errors.js"
import { PayloadTooLarge, ValidationError } from "../errors.js"

export class LogsGroup extends HttpApiGroup.make("logs")
  .add(HttpApiEndpoint.post("create", "/api/logs/").annotate(OpenApi.Summary, "Store log lines").addError(Conflict, conflict).addError(PayloadTooLarge).addError(ValidationError)
    .setPayload(strict(Schema.Array(LogCreate)))
    .addSuccess(HttpApiSchema.Created)
    .annotate(OpenApi.Description, "Stores a batch of log lines in one transaction: all or none."))
  .add(HttpApiEndpoint.post("filter", "/api/logs/filter").annotate(OpenApi.Summary, "List log lines").addError(PayloadTooLarge).addError(ValidationError).setPayload(strict(LogFilterRequest)).addSuccess(Schema.Array(Log)))
  .annotate(OpenApi.Description, "Logs emitted by flow runs and task runs")
{}
