/** A real Orion API server on 127.0.0.1 (any free port) over a test database, and plain-fetch helpers to call it. */
import { HttpServer } from "@effect/platform"
import { Effect } from "effect"
import { onDatabase, serverLayer } from "../../src/api/server.js"
import type { ServerOptions } from "../../src/api/config.js"
import { type TestDatabase, tempDir } from "../support/databases.js"

/** The server on `db`, listening on a free port of 127.0.0.1; results go to a fresh temp directory. */
export const apiServer = (db: TestDatabase, options: Partial<ServerOptions> = {}) =>
  onDatabase(serverLayer({ host: "127.0.0.1", port: 0, dataDir: tempDir("orion-data-"), ...options }), db.layer())

/** The base URL of the server in the layer, e.g. `http://127.0.0.1:41234`. */
export const baseUrl = Effect.map(HttpServer.HttpServer, (server) => {
  const address = server.address
  if (address._tag !== "TcpAddress") throw new Error("expected a TCP address")
  return `http://127.0.0.1:${address.port}`
})

export interface Reply {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  /** The body parsed as JSON, or undefined when it is not JSON. */
  readonly json: any
}

export interface CallOptions {
  readonly headers?: Record<string, string>
  /** Sent as the body as is (instead of JSON-encoding `body`). */
  readonly raw?: string | Uint8Array
}

/** One HTTP request over the wire; the body is sent as JSON unless `raw` is given. */
export const call = (method: string, path: string, body?: unknown, options: CallOptions = {}) =>
  Effect.flatMap(baseUrl, (base) =>
    Effect.promise(async (): Promise<Reply> => {
      const hasBody = options.raw !== undefined || body !== undefined
      const response = await fetch(`${base}${path}`, {
        method,
        headers: { ...(hasBody && options.raw === undefined ? { "content-type": "application/json" } : {}), ...options.headers },
        ...(hasBody ? { body: (options.raw ?? JSON.stringify(body)) as BodyInit } : {})
      })
      const text = await response.text()
      let json: unknown
      try {
        json = JSON.parse(text)
      } catch {
        json = undefined
      }
      return { status: response.status, headers: response.headers, text, json }
    }))

/** Calls and expects `status`, failing the test with the body otherwise; answers the parsed body. */
export const expectStatus = (status: number, method: string, path: string, body?: unknown, options?: CallOptions) =>
  Effect.flatMap(call(method, path, body, options), (reply) =>
    reply.status === status
      ? Effect.succeed(reply.json)
      : Effect.die(new Error(`${method} ${path}: expected ${status}, got ${reply.status}: ${reply.text.slice(0, 500)}`)))

/** A name no other test uses. */
export const unique = (prefix: string) => `${prefix}-${Math.random().toString(36).slice(2, 10)}`

/** `…T…+00:00`: the wire form of timestamps (spec §0.1). */
export const wireTimestamp = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?\+00:00$/
