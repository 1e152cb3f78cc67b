/**
 * The API the daily-work commands talk to — always the typed client of `OrionApi`: the server at `ORION_API_URL`, or,
 * when it is unset, an ephemeral server on the local database started inside the command (127.0.0.1, a free port, a
 * random API key), so both modes go through the same client and the same handlers.
 */
import * as HttpServer from "@effect/platform/HttpServer"
import { Context, Effect, Layer, Option, Redacted } from "effect"
import { randomBytes } from "node:crypto"
import { makeOrionClient, type OrionApiClient } from "../client/typed.js"
import { apiKey, apiUrl } from "../settings.js"
import * as Database from "../storage/database.js"

export interface CliApi {
  readonly client: OrionApiClient
  /** The API's URL (`…/api`), for the event stream. */
  readonly url: string
  /** The key to send, if any. */
  readonly key: Option.Option<Redacted.Redacted>
  /** Where the data lives, for messages: the server's URL or the local database (password masked). */
  readonly where: string
}

export class Api extends Context.Tag("orion/cli/Api")<Api, CliApi>() {}

const remote = (url: string) =>
  Effect.gen(function*() {
    const key = yield* apiKey
    const client = yield* makeOrionClient({ url, apiKey: Option.getOrUndefined(key) })
    const base = url.trim().replace(/\/+$/, "").replace(/\/api$/, "")
    return { client, url: `${base}/api`, key, where: base }
  })

const local = Effect.gen(function*() {
  const { onDatabase, serverLayer } = yield* Effect.promise(() => import("../api/server.js"))
  const key = randomBytes(24).toString("hex")
  const context = yield* Layer.build(onDatabase(serverLayer({ host: "127.0.0.1", port: 0, apiKey: key }), Database.layer))
  const address = Context.get(context, HttpServer.HttpServer).address
  if (address._tag !== "TcpAddress") return yield* Effect.dieMessage("the local API did not listen on TCP")
  const url = `http://127.0.0.1:${address.port}/api`
  const client = yield* makeOrionClient({ url, apiKey: key })
  const db = Context.get(context, Database.Database)
  return { client, url, key: Option.some(Redacted.make(key)), where: db.url }
})

/** The API: remote with `ORION_API_URL`, else the local database's (open for the scope). */
export const layer = Layer.scoped(Api, Effect.flatMap(apiUrl, (url) => url === undefined ? local : remote(url)))
