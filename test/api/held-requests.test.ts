/**
 * A request that reaches `orion start` after it listens but before its application is attached (every layer above the
 * server still building) is answered once the application is there — over real HTTP on 127.0.0.1. Node's own server,
 * used as the platform uses it, never answers such a request: the contrast shows what the test guards.
 */
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { createServer, type Server } from "node:http"
import { serverHoldingEarlyRequests } from "../../src/api/held-requests.js"
import { freePort } from "../support/ports.js"

/** Serves "ready" on `makeServer`; between its listening and the application's attachment, a request is sent. */
const earlyRequest = (makeServer: () => Server) =>
  Effect.scoped(Effect.gen(function*() {
    const port = yield* Effect.promise(freePort)
    let early: Promise<string> | undefined
    const stillBuilding = Layer.effectDiscard(Effect.zipRight(
      Effect.sync(() => {
        early = fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(3000) }).then((r) => r.text(), (e: Error) => `no answer (${e.name})`)
      }),
      Effect.sleep("300 millis")
    ))
    yield* Layer.build(HttpServer.serve(HttpServerResponse.text("ready")).pipe(
      Layer.provide(stillBuilding),
      Layer.provide(NodeHttpServer.layer(makeServer, { host: "127.0.0.1", port }))
    ))
    return yield* Effect.promise(() => early!)
  }))

describe("a request arriving while the server starts", () => {
  it.live("is held, and answered once the application is attached", () =>
    Effect.gen(function*() {
      expect(yield* earlyRequest(serverHoldingEarlyRequests)).toBe("ready")
    }))

  it.live("(Node's own server never answers it)", () =>
    Effect.gen(function*() {
      expect(yield* earlyRequest(() => createServer())).toBe("no answer (TimeoutError)")
    }))
})
