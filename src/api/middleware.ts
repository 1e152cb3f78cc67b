/**
 * The server's safety net: every failure of a request — a typed error, a body that does not decode, an unknown path, a
 * defect — answered as JSON with its status, so nothing takes the server down; and the request log.
 */
import * as HttpApiError from "@effect/platform/HttpApiError"
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Cause, Effect, Option, Predicate } from "effect"
import type { ResolvedSettings } from "./config.js"
import { limitFor, loggableUrl, respond, tooLarge } from "./edge.js"
import type { ValidationIssue } from "./errors.js"


/** One log line per request: method, path (an `api_key` in it masked), status and duration. */
export const logRequests = <E, R>(app: HttpApp.Default<E, R>): HttpApp.Default<E, R> =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
    const started = performance.now()
    const line = (status: number | string) => `${request.method} ${loggableUrl(request.url)} ${status} ${Math.round(performance.now() - started)}ms`
    const log = (text: string) => Effect.annotateLogs(Effect.log(text), "orion.logger", "orion.api")
    return app.pipe(
      Effect.tap((response) => log(line(response.status))),
      Effect.tapErrorCause((cause) => log(line(Cause.isInterruptedOnly(cause) ? "(client went away)" : "(failed)")))
    )
  })

/** Was the body larger than allowed while it was read (a RequestError carrying the reader's "maxBytes exceeded")? */
export const isBodyTooLarge = (e: unknown): boolean =>
  Predicate.isTagged(e, "RequestError") && /maxBytes/.test(String((e as { cause?: { message?: unknown } }).cause?.message ?? ""))

const issueOf = (issue: typeof HttpApiError.Issue.Type): ValidationIssue => {
  const loc = issue.path.map((p) => (typeof p === "number" ? p : String(p)))
  switch (issue._tag) {
    case "Unexpected":
      return { loc, msg: `unknown field ${JSON.stringify(String(loc[loc.length - 1] ?? ""))}`, type: "unknown_field" }
    case "Missing":
      return { loc, msg: "field required", type: "missing" }
    default:
      return { loc, msg: issue.message, type: issue._tag.toLowerCase() }
  }
}

/** 422 with one entry per problem: `{"_tag": "ValidationError", "message": "...", "detail": [{loc, msg, type}]}`. */
const validationError = (e: HttpApiError.HttpApiDecodeError) => {
  const detail = e.issues.map(issueOf)
  const message = `Invalid request: ${detail.map((i) => `${i.loc.length > 0 ? i.loc.join(".") : "body"}: ${i.msg}`).join("; ")}`
  return respond(422, { _tag: "ValidationError", message, detail })
}

/** Statuses of the typed errors that carry their own `detail` (or, for ObjectNotFound, compose it). */
const statuses: Record<string, number> = {
  ObjectNotFound: 404, Conflict: 409, InvalidRequest: 422, BadRequest: 400, PayloadTooLarge: 413,
  ServiceUnavailable: 503, InternalError: 500
}

const typedError = (e: { readonly _tag: string } & Record<string, unknown>) => {
  const { _tag, ...fields } = e
  const detail = _tag === "ObjectNotFound" ? `${String(fields.thing)} not found` : fields.detail
  return respond(statuses[_tag]!, { _tag, ...fields, detail })
}

const internalError = (cause: Cause.Cause<unknown>) =>
  Effect.zipRight(
    Effect.logError("request failed unexpectedly", cause),
    respond(500, { _tag: "InternalError", detail: "Internal server error: the request was not applied (see the server log)" })
  )

/** The JSON response for a request that failed; interruption (the client went away) is left to the server. */
const toResponse = (settings: ResolvedSettings) => (cause: Cause.Cause<unknown>): Effect.Effect<HttpServerResponse.HttpServerResponse, unknown> => {
  if (Cause.isInterruptedOnly(cause)) return Effect.failCause(cause)
  const failure = Cause.failureOption(cause)
  const error: unknown = Option.isSome(failure) ? failure.value : Option.getOrUndefined(Cause.dieOption(cause))
  if (error instanceof HttpApiError.HttpApiDecodeError) return validationError(error)
  if (Predicate.isTagged(error, "RouteNotFound")) {
    const request = (error as unknown as { request: HttpServerRequest.HttpServerRequest }).request
    return respond(404, { _tag: "RouteNotFound", detail: `Not Found: ${request.method} ${request.url}` })
  }
  if (isBodyTooLarge(error)) return tooLarge(limitFor(settings, (error as { request: HttpServerRequest.HttpServerRequest }).request.url))
  if (Predicate.isTagged(error, "RequestError")) return respond(400, { _tag: "BadRequest", detail: "The request body could not be read as JSON" })
  if (Predicate.hasProperty(error, "_tag") && typeof error._tag === "string" && error._tag in statuses) {
    return typedError(error as { readonly _tag: string } & Record<string, unknown>)
  }
  return internalError(cause)
}

/** Wraps the API's router: every failure becomes a JSON response (installed with `HttpApiBuilder.middleware`). */
export const jsonErrors = (settings: ResolvedSettings) => (app: HttpApp.Default): HttpApp.Default =>
  Effect.catchAllCause(app, toResponse(settings)) as HttpApp.Default
