/** `/api/saved_searches`: named UI filter sets, upserted by name (spec §4.4 "Saved searches"). */
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as OpenApi from "@effect/platform/OpenApi"
import { Schema } from "effect"
import { Conflict, ObjectNotFound } from "../../domain/errors.js"
import { SavedSearchFilterRequest } from "../../domain/filters.js"
import { SavedSearch, SavedSearchCreate } from "../../domain/saved-search.js"
import { IdPath, conflict, strict } from "../schemas.js"
import { PayloadTooLarge, ValidationError } from "../errors.js"

export class SavedSearchesGroup extends HttpApiGroup.make("saved_searches")
  .add(HttpApiEndpoint.put("create", "/api/saved_searches/").annotate(OpenApi.Summary, "Create or replace a saved search").addError(Conflict, conflict).addError(PayloadTooLarge).addError(ValidationError)
    .setPayload(strict(SavedSearchCreate))
    .addSuccess(SavedSearch, { status: 201 })
    .addSuccess(SavedSearch)
    .annotate(OpenApi.Description, "Creates the search (201) or replaces the filters of the one with the same name (200)."))
  .add(HttpApiEndpoint.get("get", "/api/saved_searches/:id").annotate(OpenApi.Summary, "Read a saved search").addError(ValidationError).setPath(IdPath).addSuccess(SavedSearch).addError(ObjectNotFound, { status: 404 }))
  .add(HttpApiEndpoint.post("filter", "/api/saved_searches/filter").annotate(OpenApi.Summary, "List saved searches").addError(PayloadTooLarge).addError(ValidationError).setPayload(strict(SavedSearchFilterRequest)).addSuccess(Schema.Array(SavedSearch)))
  .add(HttpApiEndpoint.del("delete", "/api/saved_searches/:id").annotate(OpenApi.Summary, "Delete a saved search").addError(Conflict, conflict).addError(ValidationError).setPath(IdPath).addError(ObjectNotFound, { status: 404 }))
  .annotate(OpenApi.Description, "Saved searches: named sets of dashboard filters")
{}
