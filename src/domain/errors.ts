/** Errors that cross module boundaries: each says what was wrong; the API maps them to HTTP statuses. */
import { Schema } from "effect"

/** A looked-up object does not exist (HTTP 404 `{"detail": "<Thing> not found"}`). */
export class ObjectNotFound extends Schema.TaggedError<ObjectNotFound>()("ObjectNotFound", {
  thing: Schema.String,
  id: Schema.String
}) {
  override get message() {
    return `${this.thing} not found`
  }
}

/** A request that is well-formed but cannot be applied (HTTP 409), e.g. deleting a flow run's parent. */
export class Conflict extends Schema.TaggedError<Conflict>()("Conflict", {
  detail: Schema.String
}) {
  override get message() {
    return this.detail
  }
}

/** A request that is understood but refused as invalid beyond its schema (HTTP 422), e.g. a history interval < 1 s. */
export class InvalidRequest extends Schema.TaggedError<InvalidRequest>()("InvalidRequest", {
  detail: Schema.String
}) {
  override get message() {
    return this.detail
  }
}
