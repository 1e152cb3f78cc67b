/**
 * The server's edge: what a request must be to reach Orion at all. Its `Host` names this server (a DNS-rebinding page
 * cannot reach the API under a name of its own); a browser page of a foreign origin cannot call it; with an API key,
 * every route but the dashboard's own files asks for it; JSON routes take `application/json` only (so no "simple"
 * cross-site request is read as JSON); bodies are read once, in linear time, within their limit, and JSON nested too
 * deeply or carrying NUL characters is refused before anything parses it.
 */
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import { Effect, Option, Redacted } from "effect"
import { createHash, timingSafeEqual } from "node:crypto"
import type { IncomingMessage } from "node:http"
import * as os from "node:os"
import type { ResolvedSettings } from "./config.js"

/** JSON deeper than this is refused (422) before it is parsed: no payload of Orion's needs more, and deeper input only overflows stacks. */
export const MAX_JSON_DEPTH = 100

/** A JSON answer with its status (and headers). */
export const respond = (status: number, body: Record<string, unknown>, headers?: Record<string, string>) =>
  Effect.succeed(HttpServerResponse.unsafeJson(body, { status, ...(headers !== undefined ? { headers } : {}) }))

export const tooLarge = (limit: number) =>
  respond(413, { _tag: "PayloadTooLarge", detail: `Request body larger than ${limit} bytes`, max_bytes: limit })

/** The body limit of a request: results sent to `/api/data/persist` may be larger than JSON requests. */
export const limitFor = (settings: ResolvedSettings, url: string) =>
  url.startsWith("/api/data/persist") ? settings.maxDataBytes : settings.maxBodyBytes

/** Paths that serve Orion's data or describe its API; everything else is the dashboard's static files. */
const isGuarded = (pathname: string) =>
  pathname === "/api" || pathname.startsWith("/api/") || pathname === "/openapi.json" || pathname === "/docs" || pathname.startsWith("/docs/")

/** Routes a browser opens without being able to set headers: they also take the key as `?api_key=`. */
const takesKeyInQuery = (pathname: string) => pathname === "/api/events" || pathname === "/docs"

/** Routes whose bodies are raw bytes, not JSON. */
const isRaw = (pathname: string) => pathname === "/api/data/persist"

const unsafeMethods = new Set(["POST", "PUT", "PATCH", "DELETE"])

// ---------------------------------------------------------------------------------------------------------------
// Host

/** A host name without brackets, port or trailing dot, lower-cased; null when the header is not a host. */
const hostnameOf = (host: string): string | null => {
  try {
    return new URL(`http://${host}`).hostname.replace(/^\[(.*)\]$/, "$1").replace(/\.$/, "").toLowerCase()
  } catch {
    return null
  }
}

const isLoopbackName = (name: string) =>
  name === "localhost" || name.endsWith(".localhost") || name === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name)

const isWildcard = (host: string) => host === "0.0.0.0" || host === "::" || host === ""

/** The names a request's `Host` may give: loopback, the bound host (all of this machine's when bound to every interface), and the allowed list. */
export const hostPolicy = (settings: Pick<ResolvedSettings, "host" | "allowedHosts">): (name: string) => boolean => {
  if (settings.allowedHosts.includes("*")) return () => true
  const names = new Set(settings.allowedHosts.map((h) => hostnameOf(h) ?? h))
  const bound = hostnameOf(settings.host)
  if (bound !== null && !isWildcard(settings.host)) names.add(bound)
  if (isWildcard(settings.host)) {
    names.add(os.hostname().toLowerCase())
    for (const addresses of Object.values(os.networkInterfaces())) {
      for (const a of addresses ?? []) names.add(a.address.toLowerCase())
    }
  }
  return (name) => isLoopbackName(name) || names.has(name)
}

// ---------------------------------------------------------------------------------------------------------------
// Origin

/** Whether a browser's `Origin` is this server itself, as the request reached it (same scheme, host and port). */
const isOwnOrigin = (origin: string, host: string | undefined): boolean => {
  if (host === undefined) return false
  try {
    const o = new URL(origin)
    return new URL(`${o.protocol}//${host}`).host === o.host
  } catch {
    return false
  }
}

// ---------------------------------------------------------------------------------------------------------------
// API key

const digest = (key: string) => createHash("sha256").update(key, "utf8").digest()

/** Compares a presented key with the server's in constant time (both hashed first, so lengths do not leak either). */
const keyCheck = (key: Redacted.Redacted) => {
  const expected = digest(Redacted.value(key))
  return (presented: string | undefined) => presented !== undefined && timingSafeEqual(digest(presented), expected)
}

const bearer = (authorization: string | undefined): string | undefined => {
  const match = authorization === undefined ? null : /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization)
  return match?.[1]
}

/** The URL without its `api_key` query parameter: the key goes no further than the edge (and never into a log). */
const withoutKey = (url: string): string => {
  const q = url.indexOf("?")
  if (q < 0) return url
  const params = url.slice(q + 1).split("&").filter((p) => !p.startsWith("api_key="))
  return params.length > 0 ? `${url.slice(0, q)}?${params.join("&")}` : url.slice(0, q)
}

/** The URL as it may be logged: an `api_key` query parameter masked. */
export const loggableUrl = (url: string): string => url.replace(/([?&]api_key=)[^&]*/g, "$1***")

const queryKey = (url: string): string | undefined => {
  const q = url.indexOf("?")
  if (q < 0) return undefined
  try {
    return new URLSearchParams(url.slice(q + 1)).get("api_key") ?? undefined
  } catch {
    return undefined
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Bodies

type BodyRead =
  | { readonly _tag: "Read"; readonly body: Buffer }
  | { readonly _tag: "TooLarge" }
  | { readonly _tag: "Failed" }

/**
 * Reads a request body up to `limit` bytes, in linear time: into one buffer of the declared length, or (chunked) as
 * chunks joined once at the end. One over the limit leaves the rest unread (not destroyed), so that the 413 answer
 * still reaches the client before the connection closes.
 */
const readBody = (source: IncomingMessage, limit: number, declared: number | undefined) =>
  Effect.async<BodyRead>((resume) => {
    const whole = declared !== undefined && declared > 0 ? Buffer.allocUnsafe(declared) : undefined
    const chunks: Array<Buffer> = []
    let bytes = 0
    const detach = () => {
      source.off("data", onData).off("end", onEnd).off("error", onError).off("aborted", onError)
    }
    const done = (result: BodyRead) => {
      detach()
      resume(Effect.succeed(result))
    }
    const onData = (chunk: Buffer) => {
      bytes += chunk.length
      if (bytes > limit || (whole !== undefined && bytes > whole.length)) {
        source.pause()
        return done({ _tag: "TooLarge" })
      }
      if (whole !== undefined) chunk.copy(whole, bytes - chunk.length)
      else chunks.push(chunk)
    }
    const onEnd = () =>
      done({ _tag: "Read", body: whole !== undefined ? whole.subarray(0, bytes) : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, bytes) })
    const onError = () => done({ _tag: "Failed" })
    source.on("data", onData).once("end", onEnd).once("error", onError).once("aborted", onError)
    return Effect.sync(detach)
  })

/** The request with its body already read: `text`, `json` and `arrayBuffer` answer it, also after `modify`. */
const withBody = (request: HttpServerRequest.HttpServerRequest, body: Buffer): HttpServerRequest.HttpServerRequest =>
  Object.create(request, {
    textEffect: { value: Effect.sync(() => body.toString("utf8")) },
    arrayBuffer: { value: Effect.succeed(body) },
    modify: { value: (options: Parameters<HttpServerRequest.HttpServerRequest["modify"]>[0]) => withBody(request.modify(options), body) }
  })

/** What is wrong with a JSON body before parsing: nested deeper than `MAX_JSON_DEPTH`, or a NUL character in it. */
export const jsonBodyProblem = (body: Uint8Array): "depth" | "nul" | undefined => {
  let depth = 0
  let inString = false
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!
    if (c === 0) return "nul"
    if (inString) {
      if (c === 0x5c) {
        // `\u0000`: a NUL written as an escape
        if (body[i + 1] === 0x75 && body[i + 2] === 0x30 && body[i + 3] === 0x30 && body[i + 4] === 0x30 && body[i + 5] === 0x30) return "nul"
        i++
      } else if (c === 0x22) inString = false
    } else if (c === 0x22) inString = true
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > MAX_JSON_DEPTH) return "depth"
    } else if (c === 0x7d || c === 0x5d) depth--
  }
  return undefined
}

const isJson = (contentType: string) => {
  const media = contentType.split(";", 1)[0]!.trim().toLowerCase()
  return media === "application/json" || (media.startsWith("application/") && media.endsWith("+json"))
}

// ---------------------------------------------------------------------------------------------------------------
// The guard

/** Refusals, each a JSON body with `_tag` and a `detail` that says what to do. */
const refuse = {
  badUrl: () => respond(400, { _tag: "BadRequest", detail: "The URL is malformed or contains a NUL character (%00)" }),
  host: (host: string) =>
    respond(421, {
      _tag: "MisdirectedRequest",
      detail: `This Orion server does not answer to the host ${JSON.stringify(host)}; add it to ORION_API_ALLOWED_HOSTS if it is really this server's name`
    }),
  origin: (origin: string) =>
    respond(403, {
      _tag: "Forbidden",
      detail: `Requests from the web origin ${origin} are refused; add it to ORION_API_CORS_ORIGINS to allow that origin`
    }),
  key: () =>
    respond(401, { _tag: "Unauthorized", detail: "This Orion server requires an API key: send Authorization: Bearer <ORION_API_KEY>" }, {
      "www-authenticate": "Bearer realm=\"orion\""
    }),
  mediaType: (type: string | undefined) =>
    respond(415, {
      _tag: "UnsupportedMediaType",
      detail: `Send the body as JSON with Content-Type: application/json${type === undefined ? " (none was given)" : ` (not ${type})`}`
    }),
  depth: () => respond(422, { _tag: "ValidationError", message: `Invalid request: JSON nested deeper than ${MAX_JSON_DEPTH} levels`, detail: [{ loc: ["body"], msg: `JSON nested deeper than ${MAX_JSON_DEPTH} levels`, type: "too_deep" }] }),
  nul: () => respond(422, { _tag: "ValidationError", message: "Invalid request: NUL characters (\\u0000) are not accepted", detail: [{ loc: ["body"], msg: "NUL characters (\\u0000) are not accepted", type: "nul_character" }] }),
  unreadable: () => respond(400, { _tag: "BadRequest", detail: "The request body could not be read" })
}

const hasBody = (headers: Record<string, string | undefined>) =>
  headers["transfer-encoding"] !== undefined || (headers["content-length"] !== undefined && headers["content-length"] !== "0")

/**
 * The edge as middleware around the whole application (API, docs, dashboard). In order: a well-formed URL; a `Host`
 * naming this server; no foreign browser origin on the API; the API key when one is set; JSON as JSON; the body read
 * within its limit and, for JSON, checked for depth and NUL characters.
 */
export const edge = (settings: ResolvedSettings) => {
  const hostAllowed = hostPolicy(settings)
  const corsAny = settings.corsOrigins.includes("*")
  const originAllowed = (origin: string) => corsAny || settings.corsOrigins.includes(origin)
  const keyMatches = Option.map(settings.apiKey, keyCheck)

  return <E, R>(app: HttpApp.Default<E, R>): HttpApp.Default<E, R> =>
    Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
      const url = request.url
      const q = url.indexOf("?")
      let pathname: string
      try {
        pathname = decodeURIComponent(q < 0 ? url : url.slice(0, q))
      } catch {
        return refuse.badUrl()
      }
      if (url.includes("%00") || url.includes("\0")) return refuse.badUrl()

      const headers = request.headers
      const host = headers.host
      if (host !== undefined) {
        const name = hostnameOf(host)
        if (name === null || !hostAllowed(name)) return refuse.host(host)
      }
      const guarded = isGuarded(pathname)
      const origin = headers.origin
      if (guarded && origin !== undefined && !isOwnOrigin(origin, host) && !originAllowed(origin)) return refuse.origin(origin)

      let forwarded = request
      if (Option.isSome(keyMatches) && (guarded || !(request.method === "GET" || request.method === "HEAD"))) {
        const fromQuery = takesKeyInQuery(pathname) && request.method === "GET" ? queryKey(url) : undefined
        if (!keyMatches.value(bearer(headers.authorization) ?? fromQuery)) return refuse.key()
        if (fromQuery !== undefined) forwarded = request.modify({ url: withoutKey(url) })
      }

      const unsafe = unsafeMethods.has(request.method)
      const json = unsafe && guarded && !isRaw(pathname)
      const type = headers["content-type"]
      const withBodyToRead = unsafe && hasBody(headers)
      if (json && (type !== undefined ? !isJson(type) : withBodyToRead)) return refuse.mediaType(type)
      if (!withBodyToRead) {
        return forwarded === request ? app : Effect.provideService(app, HttpServerRequest.HttpServerRequest, forwarded)
      }

      const limit = limitFor(settings, pathname)
      const declared = headers["content-length"] === undefined ? undefined : Number(headers["content-length"])
      if (declared !== undefined && declared > limit) return tooLarge(limit)
      return Effect.flatMap(readBody(NodeHttpServerRequest.toIncomingMessage(request), limit, declared), (read) => {
        switch (read._tag) {
          case "TooLarge":
            return Effect.map(tooLarge(limit), (response) => HttpServerResponse.setHeader(response, "connection", "close"))
          case "Failed":
            return refuse.unreadable()
          case "Read": {
            if (json) {
              const problem = jsonBodyProblem(read.body)
              if (problem !== undefined) return refuse[problem]()
            }
            return Effect.provideService(app, HttpServerRequest.HttpServerRequest, withBody(forwarded, read.body))
          }
        }
      })
    })
}
