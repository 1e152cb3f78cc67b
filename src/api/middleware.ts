/**
 * The server's safety net: request bodies capped in size (413), and every failure of a request — a typed error, a
 * body that does not decode, an unknown path, a defect — answered as JSON with its status; nothing takes the server down.
 */
import * as Headers from "@effect/platform/Headers"
import * as HttpApiError from "@effect/platform/HttpApiError"
import * as HttpIncomingMessage from "@effect/platform/HttpIncomingMessage"
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import { Cause, Effect, Option, Predicate } from "effect"
import type { IncomingMessage } from "node:http"
import type { ResolvedSettings } from "./config.js"
import type { ValidationIssue } from "./errors.js"

const respond = (status: number, body: Record<string, unknown>) => Effect.succeed(HttpServerResponse.unsafeJson(body, { status }))

const tooLarge = (limit: number) =>
  respond(413, { _tag: "PayloadTooLarge", detail: `Request body larger than ${limit} bytes`, max_bytes: limit })

/** The body limit of a request: results sent to `/api/data/persist` may be larger than JSON requests. */
const limitFor = (settings: ResolvedSettings, url: string) =>
  url.startsWith("/api/data/persist") ? settings.maxDataBytes : settings.maxBodyBytes

/**
 * Reads a body of undeclared length (chunked) up to `limit` bytes: its bytes, or `undefined` once it is larger — then
 * the rest is left unread (not destroyed), so the 413 answer still reaches the client before the connection closes.
 */
const readCapped = (source: IncomingMessage, limit: number) =>
  Effect.async<Buffer | undefined>((resume) => {
    const chunks: Array<Buffer> = []
    let bytes = 0
    const done = (result: Buffer | undefined) => {
      source.off("data", onData).off("end", onEnd).off("error", onError)
      resume(Effect.succeed(result))
    }
    const onData = (chunk: Buffer) => {
      bytes += chunk.length
      if (bytes > limit) {
        source.pause()
        return done(undefined)
      }
      chunks.push(chunk)
    }
    const onEnd = () => done(Buffer.concat(chunks))
    const onError = () => done(undefined)
    source.on("data", onData).once("end", onEnd).once("error", onError)
  })

/** The request with its body already read: `text`, `json` and `arrayBuffer` answer it, also after `modify`. */
const withBody = (request: HttpServerRequest.HttpServerRequest, body: Buffer): HttpServerRequest.HttpServerRequest =>
  Object.create(request, {
    textEffect: { value: Effect.sync(() => body.toString("utf8")) },
    arrayBuffer: { value: Effect.succeed(body) },
    modify: { value: (options: Parameters<HttpServerRequest.HttpServerRequest["modify"]>[0]) => withBody(request.modify(options), body) }
  })

/**
 * Refuses a body whose declared length exceeds the limit before reading it, and reads a body of undeclared length
 * (chunked) here, up to the same limit: one over it is answered 413 (then the connection closes, the rest unread).
 */
export const limitBodySize = (settings: ResolvedSettings) => <E, R>(app: HttpApp.Default<E, R>): HttpApp.Default<E, R> =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
    const limit = limitFor(settings, request.url)
    const declared = request.headers["content-length"]
    if (declared !== undefined) return Number(declared) > limit ? tooLarge(limit) : HttpIncomingMessage.withMaxBodySize(app, Option.some(limit))
    if (request.headers["transfer-encoding"] === undefined) return HttpIncomingMessage.withMaxBodySize(app, Option.some(limit))
    return Effect.flatMap(readCapped(NodeHttpServerRequest.toIncomingMessage(request), limit), (body) =>
      body === undefined
        ? Effect.map(tooLarge(limit), (response) => HttpServerResponse.setHeader(response, "connection", "close"))
        : Effect.provideService(app, HttpServerRequest.HttpServerRequest, withBody(request, body)))
  })

/**
 * API bodies are JSON whatever their declared type (as curl's default form type): the payloads are decoded as JSON,
 * so a bad body gets a 400 or 422 that says so. Raw uploads (`/api/data/persist`) are left as they are.
 */
export const jsonBodies = <E, R>(app: HttpApp.Default<E, R>): HttpApp.Default<E, R> =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
    const type = request.headers["content-type"] ?? ""
    const isApi = request.url.startsWith("/api/") && !request.url.startsWith("/api/data/persist")
    return isApi && !type.toLowerCase().includes("application/json")
      ? Effect.provideService(app, HttpServerRequest.HttpServerRequest,
        request.modify({ headers: Headers.set(request.headers, "content-type", "application/json") }))
      : app
  })

/** One log line per request: method, path, status and duration. */
export const logRequests = <E, R>(app: HttpApp.Default<E, R>): HttpApp.Default<E, R> =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
    const started = performance.now()
    const line = (status: number | string) => `${request.method} ${request.url} ${status} ${Math.round(performance.now() - started)}ms`
    return app.pipe(
      Effect.tap((response) => Effect.log(line(response.status))),
      Effect.tapErrorCause((cause) => Effect.log(line(Cause.isInterruptedOnly(cause) ? "(client went away)" : "(failed)")))
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
