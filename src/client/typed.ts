/**
 * The typed client of Orion's REST API for TypeScript users: `OrionApi`'s `HttpApiClient` at a server's URL, on fetch,
 * sending the API key (given, else `ORION_API_KEY`) with every request.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpApiClient from "@effect/platform/HttpApiClient"
import * as HttpClient from "@effect/platform/HttpClient"
import { Effect, type Redacted } from "effect"
import { OrionApi } from "../api/api.js"
import { apiBaseUrl, resolveApiKey, withApiKey } from "./remote-http.js"

export interface OrionClientOptions {
  /** The API's URL, e.g. `http://127.0.0.1:4200/api` (a trailing `/api` is optional). */
  readonly url: string
  /** The server's API key (default `ORION_API_KEY`; none: no `Authorization` header). */
  readonly apiKey?: string | Redacted.Redacted | undefined
}

/** A client with one method per route: `client.flow_runs.filter({ payload })`, `client.flow_runs.decisions({ path })` … */
export const makeOrionClient = (options: OrionClientOptions) =>
  Effect.gen(function*() {
    const key = yield* resolveApiKey(options.apiKey)
    const http = yield* HttpClient.HttpClient
    return yield* HttpApiClient.makeWith(OrionApi, { httpClient: withApiKey(http, key), baseUrl: apiBaseUrl(options.url) })
  }).pipe(Effect.provide(FetchHttpClient.layer))

/** The typed client's type. */
export type OrionApiClient = Effect.Effect.Success<ReturnType<typeof makeOrionClient>>
