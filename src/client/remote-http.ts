/**
 * The HTTP side of the remote client: `OrionApi`'s typed `HttpApiClient` on a keep-alive connection pool, and `call`,
 * which retries connection failures and 5xx answers with bounded exponential back-off, then gives up as `OrionUnavailable`.
 */
import * as HttpApiClient from "@effect/platform/HttpApiClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Agent } from "@effect/platform-node/Undici"
import { Clock, type ConfigError, Context, Duration, Effect, Layer, Option, ParseResult, Predicate, Redacted, Schedule } from "effect"
import { OrionApi } from "../api/api.js"
import type { ObjectNotFound } from "../domain/errors.js"
import * as Settings from "../settings.js"
import { type ClientError, OrionUnavailable } from "./orion-client.js"
import { tracerInstalled } from "../../runtime/internal/tracing.js"

export interface RemoteOptions {
  /** The API's URL, as `ORION_API_URL`: `http://127.0.0.1:4200/api` (a trailing `/api` is optional). */
  readonly url: string
  /** How long a request keeps being retried while the server is unreachable or answers 5xx (default `ORION_API_RETRY_SECONDS`, 30 s). */
  readonly retryFor?: Duration.DurationInput
  /** How long one attempt may take before it counts as failed and is retried (default 60 s). */
  readonly requestTimeout?: Duration.DurationInput
  /** Connections kept open to the server (default 64); more requests than this queue on them. */
  readonly connections?: number
  /** The server's API key, sent as `Authorization: Bearer …` (default `ORION_API_KEY`; none: no header). */
  readonly apiKey?: string | Redacted.Redacted | undefined
}

/** The HTTP client sending `key` (when there is one) with every request. */
export const withApiKey = (client: HttpClient.HttpClient, key: Option.Option<Redacted.Redacted>): HttpClient.HttpClient =>
  Option.match(key, {
    onNone: () => client,
    onSome: (k) => HttpClient.mapRequest(client, HttpClientRequest.bearerToken(Redacted.value(k)))
  })

/** The API key of `options`, else `ORION_API_KEY`. */
export const resolveApiKey = (apiKey: RemoteOptions["apiKey"]) =>
  apiKey === undefined ? Settings.apiKey : Effect.succeed(Option.some(Redacted.isRedacted(apiKey) ? apiKey : Redacted.make(apiKey)))

/** The API's origin (and any path prefix in front of `/api`): the routes of `OrionApi` all start with `/api/`. */
export const apiBaseUrl = (url: string): string => url.trim().replace(/\/+$/, "").replace(/\/api$/, "")

const makeApi = (httpClient: HttpClient.HttpClient, baseUrl: string) =>
  HttpApiClient.makeWith(OrionApi, { httpClient, baseUrl })

/** The typed client of every route of `OrionApi`. */
export type ApiClient = Effect.Effect.Success<ReturnType<typeof makeApi>>

/** Why an attempt failed: the run is not there, the server is unreachable or failing (retry), or it refused the request. */
type Failure =
  | { readonly _tag: "NotFound"; readonly error: ObjectNotFound }
  | { readonly _tag: "Retry"; readonly reason: string }
  | { readonly _tag: "Refused"; readonly reason: string }

const causeText = (cause: unknown): string => {
  const seen: Array<string> = []
  let c: unknown = cause
  for (let depth = 0; depth < 4 && Predicate.isObject(c); depth++) {
    const { code, message } = c as { code?: unknown; message?: unknown }
    const text = typeof code === "string" && typeof message === "string" && !message.includes(code) ? `${code}: ${message}` : message
    if (typeof text === "string" && text !== "" && !seen.includes(text)) seen.push(text)
    c = (c as { cause?: unknown }).cause
  }
  return seen.length > 0 ? seen.join(": ") : String(cause)
}

/** The server's own words in an error body (`detail`, else `message`), or the start of the body. */
const bodyMessage = (text: string): string => {
  try {
    const body = JSON.parse(text) as { detail?: unknown; message?: unknown }
    if (typeof body.message === "string") return body.message
    if (typeof body.detail === "string") return body.detail
  } catch { /* not JSON */ }
  return text.slice(0, 300)
}

const retryableTags = new Set(["ServiceUnavailable", "InternalError"])
const refusedStatus: Record<string, number> = { ValidationError: 422, InvalidRequest: 422, BadRequest: 400, Conflict: 409, PayloadTooLarge: 413 }

/** Sorts a failed attempt: 404 stays typed, transport failures and 5xx are retried, other 4xx are refusals. */
const classify = (e: unknown): Effect.Effect<Failure> => {
  if (Predicate.isTagged(e, "ObjectNotFound")) return Effect.succeed({ _tag: "NotFound", error: e as ObjectNotFound })
  if (Predicate.isTagged(e, "TimeoutException")) return Effect.succeed({ _tag: "Retry", reason: "no answer in time" })
  if (HttpClientError.isHttpClientError(e)) {
    if (e._tag === "RequestError") {
      return Effect.succeed(e.reason === "Transport"
        ? { _tag: "Retry", reason: causeText(e.cause) }
        : { _tag: "Refused", reason: `the request could not be made (${e.reason}): ${causeText(e.cause)}` })
    }
    const status = e.response.status
    if (e.reason === "Decode" && status < 300) return Effect.succeed({ _tag: "Retry", reason: `the answer was cut off: ${causeText(e.cause)}` })
    return Effect.map(Effect.orElseSucceed(e.response.text, () => ""), (text): Failure =>
      status >= 500 || status === 429
        ? { _tag: "Retry", reason: `HTTP ${status}: ${bodyMessage(text)}` }
        : { _tag: "Refused", reason: `HTTP ${status}: ${bodyMessage(text)}${status === 404 ? " (is ORION_API_URL the API's address, ending in /api?)" : ""}` })
  }
  if (ParseResult.isParseError(e)) {
    return Effect.succeed({
      _tag: "Refused",
      reason: `a request or answer did not match the API's schema (a bad value, or a server of another Orion version): ${ParseResult.TreeFormatter.formatErrorSync(e)}`
    })
  }
  if (!Predicate.hasProperty(e, "_tag") || typeof e._tag !== "string") return Effect.succeed({ _tag: "Refused", reason: causeText(e) })
  const tag = e._tag
  const message = causeText(e)
  if (retryableTags.has(tag)) return Effect.succeed({ _tag: "Retry", reason: `${tag}: ${message}` })
  return Effect.succeed({ _tag: "Refused", reason: `HTTP ${refusedStatus[tag] ?? "4xx"} ${tag}: ${message}` })
}

export class OrionHttp extends Context.Tag("orion/OrionHttp")<OrionHttp, {
  /** The API's URL as configured, for messages. */
  readonly url: string
  readonly api: ApiClient
  /**
   * Makes one request (`attempt` is called again on each retry, with the number of attempts already made), mapping
   * its failures to `ObjectNotFound` or `OrionUnavailable`; `what` names it in messages, e.g. "POST /api/flows/".
   */
  readonly call: <A>(what: string, attempt: (api: ApiClient, attempts: number) => Effect.Effect<A, unknown>) => Effect.Effect<A, ClientError>
}>() {}

const seconds = (d: Duration.Duration) => `${(Duration.toMillis(d) / 1000).toFixed(1)} s`

/** Errors of requests the server refused (4xx other than 404, or a value the API's schema rejects): sending again won't help. */
const refusals = new WeakSet<object>()
export const isRefusal = (e: ClientError): boolean => refusals.has(e)

/** The typed client of the server at `options.url`; its connections close with the layer. */
export const make = (options: RemoteOptions) =>
  Effect.gen(function*() {
    const retryFor = options.retryFor !== undefined ? Duration.decode(options.retryFor) : Duration.seconds(yield* Settings.apiRetrySeconds)
    const requestTimeout = Duration.decode(options.requestTimeout ?? "60 seconds")
    const agent = yield* Effect.acquireRelease(
      Effect.sync(() => new Agent({ connections: options.connections ?? 64, keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000 })),
      (a) => Effect.promise(() => a.close().catch(() => a.destroy()))
    )
    const url = options.url.trim()
    // No span and no trace headers per call unless a tracer is installed (src/tracing.ts): they cost more than the call
    // itself on the hot path (set_state). With one, each request is a span whose context the server continues.
    const key = yield* resolveApiKey(options.apiKey)
    const api = yield* makeApi(withApiKey(HttpClient.withTracerDisabledWhen(NodeHttpClient.makeUndici(agent), () => !tracerInstalled()), key), apiBaseUrl(url))
    // 100 ms, 200 ms, 400 ms … at most 5 s apart, jittered, while the time since the first failure is under `retryFor`.
    const backoff = Schedule.exponential("100 millis", 2).pipe(
      Schedule.modifyDelay((_, delay) => Duration.min(delay, Duration.seconds(5))),
      Schedule.jittered,
      Schedule.upTo(retryFor)
    )
    const call = <A>(what: string, attempt: (api: ApiClient, attempts: number) => Effect.Effect<A, unknown>): Effect.Effect<A, ClientError> =>
      Effect.gen(function*() {
        const started = yield* Clock.currentTimeMillis
        let attempts = 0
        const once = Effect.suspend(() => attempt(api, attempts++)).pipe(
          Effect.timeout(requestTimeout),
          Effect.catchAll((e) => Effect.flatMap(classify(e), Effect.fail))
        )
        return yield* once.pipe(
          Effect.retry({ schedule: backoff, while: (f) => f._tag === "Retry" }),
          Effect.catchAll((f): Effect.Effect<never, ClientError> => {
            if (f._tag === "NotFound") return Effect.fail(f.error)
            if (f._tag === "Refused") {
              const refused = new OrionUnavailable({ message: `The Orion API at ${url} refused ${what}: ${f.reason}` })
              refusals.add(refused)
              return Effect.fail(refused)
            }
            return Effect.flatMap(Clock.currentTimeMillis, (now) =>
              Effect.fail(new OrionUnavailable({
                message: `The Orion API at ${url} could not be reached for ${what} (${attempts} attempts over ${seconds(Duration.millis(now - started))}): ` +
                  `${f.reason}. Is the server running (orion start) and ORION_API_URL right?`
              })))
          })
        )
      })
    return OrionHttp.of({ url, api, call })
  })

/** `OrionHttp` for the server at `options.url`. */
export const layer = (options: RemoteOptions): Layer.Layer<OrionHttp, ConfigError.ConfigError> => Layer.scoped(OrionHttp, make(options))
