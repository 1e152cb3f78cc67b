/** `/api/data`: results stored by the server as files and handed back by reference (spec §4.4 "Data", §7.13). */
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as OpenApi from "@effect/platform/OpenApi"
import { DataDocument } from "../../domain/data.js"
import { InvalidRequest, ObjectNotFound } from "../../domain/errors.js"
import { Bytes, strict } from "../schemas.js"
import { PayloadTooLarge, ValidationError } from "../errors.js"

export class DataGroup extends HttpApiGroup.make("data")
  .add(HttpApiEndpoint.post("persist", "/api/data/persist").annotate(OpenApi.Summary, "Store a result").addError(PayloadTooLarge)
    .setPayload(Bytes)
    .addSuccess(DataDocument, { status: 201 })
    .annotate(OpenApi.Description,
      "Stores the raw request body as a file under the data directory; answers an `orion` DataDocument whose blob is the JSON of a `file` document naming it."))
  .add(HttpApiEndpoint.post("retrieve", "/api/data/retrieve").annotate(OpenApi.Summary, "Read a stored result").addError(PayloadTooLarge).addError(ValidationError)
    .setPayload(strict(DataDocument))
    .addSuccess(Bytes)
    .addError(ObjectNotFound, { status: 404 })
    .addError(InvalidRequest, { status: 422 })
    .annotate(OpenApi.Description, "The bytes stored for an `orion` DataDocument made by `persist`."))
  .annotate(OpenApi.Description, "Result persistence")
{}
