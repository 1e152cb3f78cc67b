/**
 * The dashboard's one way to the server's REST API: a client typed by `OrionApi` (the same definition the server
 * implements; a type-only import, nothing of it runs here) whose routes come from a table derived from `OrionApi` at
 * build time (`virtual:orion-api`). Requests and answers are the API's JSON: answers are typed as the definition's
 * values with each instant an ISO-8601 string. The API key (if one was given) goes as a Bearer token.
 */
import type * as HttpApi from "@effect/platform/HttpApi"
import type * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import type * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import type { OrionApi } from "../../src/api/api.js"
import type { Uuid } from "../../src/domain/primitives.js"
import { routes } from "virtual:orion-api"
import { storedApiKey } from "./stored-api-key.js"

/** A value as the API's JSON carries it: instants (Dates in the definition) are ISO-8601 strings. */
export type Wire<A> = A extends Date ? string
  : A extends string | number | boolean | null | undefined ? A
  : A extends ReadonlyArray<infer X> ? ReadonlyArray<Wire<X>>
  : A extends object ? { readonly [K in keyof A]: Wire<A[K]> }
  : A

type Groups = typeof OrionApi extends HttpApi.HttpApi<infer _Id, infer G, infer _E, infer _R> ? G : never

/** One endpoint's call: its request as `HttpApiClient` takes it (path, urlParams, payload), its answer as JSON. */
type Method<Endpoint> = Endpoint extends HttpApiEndpoint.HttpApiEndpoint<
  infer _Name, infer _Method, infer Path, infer UrlParams, infer Payload, infer Headers, infer Success, infer _Error, infer _R, infer _RE
> ? (request: HttpApiEndpoint.HttpApiEndpoint.ClientRequest<Path, UrlParams, Payload, Headers, false>) => Promise<Wire<Success>>
  : never

/** The client: every group of `OrionApi`, every endpoint of it, as `HttpApiClient.make(OrionApi)` names them. */
export type Client = {
  readonly [G in Groups as HttpApiGroup.HttpApiGroup.Name<G>]: {
    readonly [E in HttpApiGroup.HttpApiGroup.Endpoints<G> as HttpApiEndpoint.HttpApiEndpoint.Name<E>]: Method<E>
  }
}

/** An error of the API as the page shows it: one sentence, from the server's answer when there is one. */
export class ApiError extends Error {
  constructor(message: string, readonly tag: string | undefined, readonly status?: number) {
    super(message)
  }
}

/** A request's query: numbers and booleans as text, arrays as repeated keys, absent values left out. */
const query = (params: Record<string, unknown> | undefined): string => {
  const search = new URLSearchParams()
  for (const [key, value] of Object.entries(params ?? {})) {
    for (const v of Array.isArray(value) ? value : [value]) {
      if (v !== undefined && v !== null) search.append(key, v instanceof Date ? v.toISOString() : String(v))
    }
  }
  const text = search.toString()
  return text === "" ? "" : `?${text}`
}

/** The server's error answer as one sentence: `ObjectNotFound (404): Flow run … not found`. */
const describe = (status: number, text: string): ApiError => {
  if (status === 401) return new ApiError("The server requires an API key: enter it under “API key” at the top.", "Unauthorized", status)
  let body: { _tag?: string; message?: string; detail?: string } = {}
  try {
    body = JSON.parse(text)
  } catch {
    // not JSON (a proxy's page): its text is the message
  }
  const message = body.detail ?? body.message ?? (text.trim() || `HTTP ${status}`)
  return new ApiError(`${body._tag ?? "Error"} (${status}): ${message}`, body._tag, status)
}

interface Request {
  readonly path?: Record<string, string>
  readonly urlParams?: Record<string, unknown>
  readonly payload?: unknown
}

/** One endpoint's call from its route: the URL from its path and query, the payload as a JSON body (or the query). */
const endpoint = (route: { readonly method: string; readonly path: string; readonly body: boolean }, key: string) =>
  async (request: Request | void): Promise<unknown> => {
    const r: Request = request ?? {}
    const path = route.path.replace(/:(\w+)\??/g, (_, name: string) => encodeURIComponent(r.path?.[name] ?? ""))
    const inQuery = { ...r.urlParams, ...(route.body ? {} : (r.payload as Record<string, unknown> | undefined)) }
    const headers: Record<string, string> = { accept: "application/json" }
    if (key !== "") headers.authorization = `Bearer ${key}`
    const hasBody = route.body && r.payload !== undefined
    if (hasBody) headers["content-type"] = "application/json"
    let response: Response
    try {
      response = await fetch(`${path}${query(inQuery)}`, { method: route.method, headers, ...(hasBody ? { body: JSON.stringify(r.payload) } : {}) })
    } catch (e) {
      throw new ApiError(`The server did not answer (${e instanceof Error ? e.message : String(e)}): is \`orion start\` running?`, "RequestError")
    }
    const text = await response.text()
    if (!response.ok) throw describe(response.status, text)
    return text === "" ? undefined : JSON.parse(text)
  }

const makeClient = (key: string): Client =>
  Object.fromEntries(Object.entries(routes).map(([group, endpoints]) => [
    group,
    Object.fromEntries(Object.entries(endpoints).map(([name, route]) => [name, endpoint(route, key)]))
  ])) as unknown as Client

let cached: { key: string; client: Client } | undefined
const client = (): Client => {
  const key = storedApiKey()
  if (cached === undefined || cached.key !== key) cached = { key, client: makeClient(key) }
  return cached.client
}

/** Runs one request through the typed client; rejects with an `ApiError` that says what went wrong. */
export const call = async <A>(request: (c: Client) => Promise<A>): Promise<A> => {
  try {
    return await request(client())
  } catch (e) {
    throw e instanceof ApiError ? e : new ApiError(e instanceof Error ? e.message : String(e), undefined)
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/**
 * An id from a URL or an event as the API's `Uuid`; a malformed one throws, so (inside `call`) it is an error shown in
 * place, never a request.
 */
export const uuid = (id: string): Uuid => {
  if (!UUID.test(id)) throw new ApiError(`Not a valid id: ${JSON.stringify(id)} (an id is a UUID such as 0190c8e2-…)`, "InvalidId")
  return id as Uuid
}
