/** `/api/concurrency_limits`: tag concurrency limits, upserted by tag (spec §11 "Tag concurrency limits"). */
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as OpenApi from "@effect/platform/OpenApi"
import { Schema } from "effect"
import { ConcurrencyLimit, ConcurrencyLimitCreate } from "../../domain/concurrency-limit.js"
import { Conflict, ObjectNotFound } from "../../domain/errors.js"
import { ConcurrencyLimitFilterRequest } from "../../domain/filters.js"
import { IdPath, conflict, strict } from "../schemas.js"
import { PayloadTooLarge, ValidationError } from "../errors.js"

const notFound = { status: 404 } as const
const TagPath = Schema.Struct({ tag: Schema.String })

export class ConcurrencyLimitsGroup extends HttpApiGroup.make("concurrency_limits")
  .add(HttpApiEndpoint.post("create", "/api/concurrency_limits/").annotate(OpenApi.Summary, "Create or change a tag's concurrency limit").addError(Conflict, conflict).addError(PayloadTooLarge).addError(ValidationError)
    .setPayload(strict(ConcurrencyLimitCreate))
    .addSuccess(ConcurrencyLimit, { status: 201 })
    .addSuccess(ConcurrencyLimit)
    .annotate(OpenApi.Description, "Creates the limit for a tag (201) or changes the existing one, keeping its taken slots (200)."))
  .add(HttpApiEndpoint.get("get", "/api/concurrency_limits/:id").annotate(OpenApi.Summary, "Read a concurrency limit").addError(ValidationError).setPath(IdPath).addSuccess(ConcurrencyLimit).addError(ObjectNotFound, notFound))
  .add(HttpApiEndpoint.get("getByTag", "/api/concurrency_limits/tag/:tag").annotate(OpenApi.Summary, "Read a tag's concurrency limit").addError(ValidationError).setPath(TagPath).addSuccess(ConcurrencyLimit).addError(ObjectNotFound, notFound))
  .add(HttpApiEndpoint.post("filter", "/api/concurrency_limits/filter").annotate(OpenApi.Summary, "List concurrency limits").addError(PayloadTooLarge).addError(ValidationError).setPayload(strict(ConcurrencyLimitFilterRequest)).addSuccess(Schema.Array(ConcurrencyLimit)))
  .add(HttpApiEndpoint.del("delete", "/api/concurrency_limits/:id").annotate(OpenApi.Summary, "Delete a concurrency limit").addError(Conflict, conflict).addError(ValidationError).setPath(IdPath).addError(ObjectNotFound, notFound))
  .add(HttpApiEndpoint.del("deleteByTag", "/api/concurrency_limits/tag/:tag").annotate(OpenApi.Summary, "Delete a tag's concurrency limit").addError(Conflict, conflict).addError(ValidationError).setPath(TagPath).addError(ObjectNotFound, notFound))
  .annotate(OpenApi.Description, "Tag concurrency limits: at most N task runs with a tag RUNNING at once")
{}
