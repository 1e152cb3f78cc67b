/**
 * The dashboard's one way to the server's REST API: the typed `HttpApiClient` derived from `OrionApi` (the same
 * definition the server implements), on fetch, with the API key (if one was given) sent as a Bearer token.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpApiClient from "@effect/platform/HttpApiClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { Cause, Effect, Exit } from "effect"
import { OrionApi } from "../../src/api/api.js"
import type { Uuid } from "../../src/domain/primitives.js"
import { apiKey, setApiKey } from "./api-key.js"

/** The API key (see api-key.ts), re-exported for the pages. */
export { apiKey, setApiKey }

const withKey = (client: HttpClient.HttpClient, key: string) =>
  key === "" ? client : HttpClient.mapRequest(client, HttpClientRequest.bearerToken(key))

/** The whole client as `HttpApiClient.make` builds it: its type is the client's type (the page builds it lazily, below). */
const makeClient = (key: string) =>
  HttpApiClient.make(OrionApi, { baseUrl: location.origin, transformClient: (client) => withKey(client, key) })
    .pipe(Effect.provide(FetchHttpClient.layer))

export type Client = Effect.Effect.Success<ReturnType<typeof makeClient>>
type GroupName = keyof Client & string

const fetchClient = Effect.runSync(Effect.provide(HttpClient.HttpClient, FetchHttpClient.layer))

/**
 * The client, one group at a time: a group's methods (its endpoints' encoders and decoders) are built the first time
 * the page calls into it — building all of them up front was a third of the page's start-up. Each group's client is
 * exactly `HttpApiClient.make(OrionApi)[group]`.
 */
const lazyClient = (key: string): Client => {
  const groups = new Map<string, unknown>()
  const httpClient = withKey(fetchClient, key)
  return new Proxy({} as Client, {
    get: (_, name) => {
      if (typeof name !== "string") return undefined
      let group = groups.get(name)
      if (group === undefined) {
        group = Effect.runSync(HttpApiClient.group(OrionApi, { group: name as GroupName, httpClient, baseUrl: location.origin }))
        groups.set(name, group)
      }
      return group
    }
  })
}

let cached: { key: string; client: Client } | undefined
const client = (): Client => {
  const key = apiKey()
  if (cached === undefined || cached.key !== key) cached = { key, client: lazyClient(key) }
  return cached.client
}

/** An error of the API as the page shows it: one sentence, from the server's answer when there is one. */
export class ApiError extends Error {
  constructor(message: string, readonly tag: string | undefined) {
    super(message)
  }
}

const describe = (e: unknown): ApiError => {
  const err = e as { _tag?: string; message?: string; detail?: string; reason?: unknown; response?: { status?: number } }
  const status = err.response?.status
  if (status === 401) return new ApiError("The server requires an API key: enter it under “API key” at the top.", "Unauthorized")
  const text = err.detail ?? err.message ?? (typeof err.reason === "string" ? err.reason : undefined) ?? String(e)
  return new ApiError(`${err._tag ?? "Error"}${status !== undefined ? ` (${status})` : ""}: ${text}`, err._tag)
}

/** Runs one request through the typed client; rejects with an `ApiError` that says what went wrong. */
export const call = async <A, E>(request: (c: Client) => Effect.Effect<A, E>): Promise<A> => {
  const exit = await Effect.runPromiseExit(request(client()))
  if (Exit.isSuccess(exit)) return exit.value
  const failure = Cause.failureOption(exit.cause)
  throw describe(failure._tag === "Some" ? failure.value : Cause.squash(exit.cause))
}

/**
 * An id from a URL or an event as the typed client's `Uuid`; the client checks it against the schema when it encodes
 * the request, so a malformed one is an error shown in place, never a request.
 */
export const uuid = (id: string) => id as Uuid
