/**
 * The API's own error bodies (beside the domain's ObjectNotFound / Conflict / InvalidRequest), each with its HTTP
 * status; every body carries a human-readable `detail`, as Orion's wire format does.
 */
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import { Schema } from "effect"

/** One reason a request was refused: where (`loc`, the path into the request) and what (`msg`). */
export const ValidationIssue = Schema.Struct({
  loc: Schema.Array(Schema.Union(Schema.String, Schema.Number)),
  msg: Schema.String,
  type: Schema.String
}).annotations({ identifier: "ValidationIssue" })
export type ValidationIssue = typeof ValidationIssue.Type

/** The request's path, query or body did not match its schema (unknown fields included): HTTP 422. */
export class ValidationError extends Schema.TaggedError<ValidationError>()("ValidationError", {
  message: Schema.String,
  detail: Schema.Array(ValidationIssue)
}, HttpApiSchema.annotations({ status: 422, description: "The request did not match its schema; `detail` names each field" })) {}

/** The request was refused as a whole (malformed JSON, an unconfirmed destructive action): HTTP 400. */
export class BadRequest extends Schema.TaggedError<BadRequest>()("BadRequest", {
  detail: Schema.String
}, HttpApiSchema.annotations({ status: 400 })) {
  override get message() {
    return this.detail
  }
}

/** The request body is larger than the server accepts: HTTP 413. */
export class PayloadTooLarge extends Schema.TaggedError<PayloadTooLarge>()("PayloadTooLarge", {
  detail: Schema.String,
  max_bytes: Schema.Int
}, HttpApiSchema.annotations({ status: 413 })) {
  override get message() {
    return this.detail
  }
}

/** The database (or the orchestrator in front of it) could not serve the request; nothing was written: HTTP 503. */
export class ServiceUnavailable extends Schema.TaggedError<ServiceUnavailable>()("ServiceUnavailable", {
  detail: Schema.String
}, HttpApiSchema.annotations({ status: 503 })) {
  override get message() {
    return this.detail
  }
}

/** An unexpected failure inside the server; the cause is logged, not sent: HTTP 500. */
export class InternalError extends Schema.TaggedError<InternalError>()("InternalError", {
  detail: Schema.String
}, HttpApiSchema.annotations({ status: 500 })) {
  override get message() {
    return this.detail
  }
}
