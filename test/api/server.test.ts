/**
 * The server around the API, over real HTTP: OpenAPI and Swagger UI, JSON 404s, body limits, malformed bodies, CORS,
 * the UI with its SPA fallback (traversal-safe), results persistence, the event stream route, and the admin routes.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as http from "node:http"
import * as path from "node:path"
import * as Database from "../../src/storage/database.js"
import { onDatabase, serverLayer } from "../../src/api/server.js"
import { databases, tempDir, type TestDatabase } from "../support/databases.js"
import { apiServer, baseUrl, call, expectStatus, unique } from "./harness.js"

/** A built UI: index.html and one asset, with a file beside (outside) the directory that must never be served. */
const makeUi = () => {
  const parent = tempDir("orion-ui-")
  const dir = path.join(parent, "dist")
  fs.mkdirSync(path.join(dir, "assets"), { recursive: true })
  fs.writeFileSync(path.join(dir, "index.html"), "<!doctype html><title>Orion UI</title>")
  fs.writeFileSync(path.join(dir, "assets", "app.js"), "console.log('orion')")
  fs.writeFileSync(path.join(parent, "secret.txt"), "top secret")
  return dir
}

/** The test database, reached with a password in its URL on PostgreSQL (trust authentication ignores it). */
const withPassword = (db: TestDatabase) => {
  if (db.name === "sqlite") return db.layer()
  const { url, lifecycle } = db.fresh()
  const u = new URL(url)
  u.password = "s3cret"
  return Layer.provideMerge(Database.layerFromUrl(u.toString()), lifecycle)
}

describe.each(databases)("API server on $name", (db) => {
  layer(apiServer(db, { uiDir: makeUi(), maxBodyBytes: 64 * 1024, maxDataBytes: 128 * 1024 }), { excludeTestServices: true })((it) => {
    it.effect("serves the OpenAPI document generated from the definition, and Swagger UI at /docs", () =>
      Effect.gen(function*() {
        const spec = yield* expectStatus(200, "GET", "/openapi.json")
        expect(spec.openapi).toBe("3.1.0")
        expect(spec.info).toMatchObject({ title: "Orion", version: "0.1.0" })
        for (const p of ["/api/flows/", "/api/flow_runs/{id}/set_state", "/api/task_runs/{id}/decisions", "/api/deployments/{id}/schedule",
          "/api/saved_searches/", "/api/data/persist", "/api/admin/database/clear", "/api/logs/filter", "/api/concurrency_limits/tag/{tag}",
          "/api/flow_run_states/", "/api/health", "/api/events"]) {
          expect(Object.keys(spec.paths)).toContain(p)
        }
        expect(spec.paths["/api/flows/"].post.operationId).toBe("flows.create")
        expect(Object.keys(spec.paths["/api/flows/"].post.responses)).toEqual(expect.arrayContaining(["200", "201", "409", "422", "503"]))
        expect(Object.keys(spec.paths["/api/flows/{id}"].get.responses)).toContain("404")
        expect(Object.keys(spec.paths["/api/events"].get.responses["200"].content)).toEqual(["text/event-stream"])
        const docs = yield* call("GET", "/docs")
        expect(docs.status).toBe(200)
        expect(docs.headers.get("content-type")).toContain("text/html")
        expect(docs.text).toContain("SwaggerUIBundle")
      }))

    it.effect("unknown /api paths answer a JSON 404, never the UI page; other paths get the UI with SPA fallback", () =>
      Effect.gen(function*() {
        for (const [method, p] of [["GET", "/api/nope"], ["POST", "/api/flows/nope/deeper"], ["GET", "/api"], ["DELETE", "/api/flows/"]] as const) {
          const reply = yield* call(method, p)
          expect(reply.status).toBe(404)
          expect(reply.headers.get("content-type")).toContain("application/json")
          expect(reply.json).toMatchObject({ _tag: "RouteNotFound" })
        }
        const home = yield* call("GET", "/")
        expect(home.status).toBe(200)
        expect(home.text).toContain("Orion UI")
        const deep = yield* call("GET", "/flow-run/123/radar")
        expect(deep.text).toContain("Orion UI")
        const asset = yield* call("GET", "/assets/app.js")
        expect(asset.text).toBe("console.log('orion')")
        expect(asset.headers.get("content-type")).toContain("javascript")
        // traversal attempts get the page, never the file beside the UI directory
        const base = yield* baseUrl
        for (const p of ["/../secret.txt", "/%2e%2e/secret.txt", "/assets/..%2f..%2fsecret.txt", "/..%5csecret.txt"]) {
          const text = yield* Effect.promise(() => fetch(`${base}${p}`).then((r) => r.text()))
          expect(text).not.toContain("top secret")
        }
      }))

    it.effect("a body over the limit gets 413 (JSON); a malformed body 400; the server keeps serving", () =>
      Effect.gen(function*() {
        const big = "x".repeat(70 * 1024)
        const tooLarge = yield* call("POST", "/api/flows/", { name: big })
        expect(tooLarge.status).toBe(413)
        expect(tooLarge.json).toEqual({ _tag: "PayloadTooLarge", detail: "Request body larger than 65536 bytes", max_bytes: 65536 })
        const malformed = yield* call("POST", "/api/flows/", undefined, { raw: "{\"name\": ", headers: { "content-type": "application/json" } })
        expect(malformed.status).toBe(400)
        expect(malformed.json).toMatchObject({ _tag: "BadRequest" })
        // only JSON is read as JSON: a form or text body (what a browser may send cross-site unasked) is 415
        for (const type of ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x"]) {
          const other = yield* call("POST", "/api/flows/", undefined, { raw: JSON.stringify({ name: unique("form") }), headers: { "content-type": type } })
          expect(other.status).toBe(415)
          expect(other.json).toMatchObject({ _tag: "UnsupportedMediaType" })
        }
        const charset = yield* call("POST", "/api/flows/", undefined, { raw: JSON.stringify({ name: unique("utf8") }), headers: { "content-type": "application/json; charset=utf-8" } })
        expect(charset.status).toBe(201)
        const empty = yield* call("POST", "/api/flows/filter")
        expect(empty.status).toBe(422)
        expect(yield* expectStatus(200, "GET", "/api/health")).toBe(true)
      }))

    // Without a declared length the body is read up to the limit, then answered 413 and the connection closed.
    it.effect("a chunked body over the limit gets 413 (JSON), one under it is served, and the server keeps serving", () =>
      Effect.gen(function*() {
        const base = yield* baseUrl
        const chunk = new TextEncoder().encode("x".repeat(16 * 1024))
        const outcome = yield* Effect.promise(async () => {
          let sent = 0
          const body = new ReadableStream<Uint8Array>({
            pull(controller) {
              if (sent++ < 10) controller.enqueue(chunk)
              else controller.close()
            }
          })
          const r = await fetch(`${base}/api/logs/`, { method: "POST", body, headers: { "content-type": "application/json" }, duplex: "half" } as RequestInit)
          return { status: r.status, body: await r.json() as { _tag?: string } }
        })
        expect(outcome).toMatchObject({ status: 413, body: { _tag: "PayloadTooLarge" } })
        const small = yield* Effect.promise(async () => {
          const text = JSON.stringify({ name: `chunked-${crypto.randomUUID()}` })
          const body = new ReadableStream<Uint8Array>({
            start(controller) {
              const bytes = new TextEncoder().encode(text)
              controller.enqueue(bytes.slice(0, 10))
              controller.enqueue(bytes.slice(10))
              controller.close()
            }
          })
          const r = await fetch(`${base}/api/flows/`, { method: "POST", body, headers: { "content-type": "application/json" }, duplex: "half" } as RequestInit)
          return { status: r.status, body: await r.json() as { name?: string } }
        })
        expect(small).toMatchObject({ status: 201, body: { name: expect.stringMatching(/^chunked-/) } })
        expect(yield* expectStatus(200, "GET", "/api/health")).toBe(true)
      }))

    it.effect("data: persist stores the raw body (201) and retrieve hands it back; foreign documents are refused", () =>
      Effect.gen(function*() {
        const bytes = new Uint8Array([0, 1, 2, 250, 255])
        const persisted = yield* call("POST", "/api/data/persist", undefined, { raw: bytes, headers: { "content-type": "application/octet-stream" } })
        expect(persisted.status).toBe(201)
        expect(persisted.json.encoding).toBe("orion")
        const inner = JSON.parse(persisted.json.blob)
        expect(inner.encoding).toBe("file")
        expect(path.isAbsolute(inner.blob)).toBe(true)
        const base = yield* baseUrl
        const back = yield* Effect.promise(() =>
          fetch(`${base}/api/data/retrieve`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(persisted.json) })
            .then(async (r) => ({ status: r.status, type: r.headers.get("content-type"), bytes: new Uint8Array(await r.arrayBuffer()) })))
        expect(back).toMatchObject({ status: 200, type: "application/octet-stream" })
        expect([...back.bytes]).toEqual([...bytes])
        // a JSON body is stored as it came
        const jsonDoc = yield* expectStatus(201, "POST", "/api/data/persist", { encoding: "json", blob: "[1,2,3]" })
        const jsonBack = yield* call("POST", "/api/data/retrieve", jsonDoc)
        expect(jsonBack.json).toEqual({ encoding: "json", blob: "[1,2,3]" })

        expect((yield* call("POST", "/api/data/retrieve", { encoding: "json", blob: "{}" })).json).toMatchObject({ _tag: "InvalidRequest" })
        const outside = yield* call("POST", "/api/data/retrieve", { encoding: "orion", blob: JSON.stringify({ encoding: "file", blob: "/etc/passwd" }) })
        expect(outside.status).toBe(422)
        expect(outside.json.detail).toContain("outside")
        const dir = path.dirname(inner.blob)
        const gone = yield* call("POST", "/api/data/retrieve", { encoding: "orion", blob: JSON.stringify({ encoding: "file", blob: path.join(dir, "0".repeat(32)) }) })
        expect(gone.status).toBe(404)
        // names persist never makes (longer than a file name may be, a NUL byte) are refused, not looked up
        const named = (name: string) => call("POST", "/api/data/retrieve", { encoding: "orion", blob: JSON.stringify({ encoding: "file", blob: path.join(dir, name) }) })
        for (const name of ["a".repeat(300), "x.json", "0".repeat(31)]) expect((yield* named(name)).json).toMatchObject({ _tag: "InvalidRequest" })
        const nul = yield* named(`${"0".repeat(32)}\u0000`)
        expect(nul.status >= 400 && nul.status < 500).toBe(true)
        const tooBig = yield* call("POST", "/api/data/persist", undefined, { raw: new Uint8Array(129 * 1024), headers: { "content-type": "application/octet-stream" } })
        expect(tooBig.status).toBe(413)
        expect(tooBig.json.max_bytes).toBe(128 * 1024)
        // chunked uploads (no Content-Length): stored whole under the limit, answered 413 over it
        const chunked = (chunks: ReadonlyArray<Uint8Array>) =>
          Effect.promise(async () => {
            const body = new ReadableStream<Uint8Array>({
              start(controller) {
                for (const c of chunks) controller.enqueue(c)
                controller.close()
              }
            })
            const r = await fetch(`${base}/api/data/persist`, { method: "POST", body, headers: { "content-type": "application/octet-stream" }, duplex: "half" } as RequestInit)
            return { status: r.status, json: await r.json() as Record<string, unknown> }
          })
        const small = yield* chunked([new Uint8Array([1, 2, 3]), new Uint8Array([250, 251])])
        expect(small.status).toBe(201)
        const smallBack = yield* Effect.promise(() =>
          fetch(`${base}/api/data/retrieve`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(small.json) })
            .then(async (r) => [...new Uint8Array(await r.arrayBuffer())]))
        expect(smallBack).toEqual([1, 2, 3, 250, 251])
        const big = yield* chunked(Array.from({ length: 10 }, () => new Uint8Array(16 * 1024)))
        expect(big).toMatchObject({ status: 413, json: { _tag: "PayloadTooLarge", max_bytes: 128 * 1024 } })
        expect(yield* expectStatus(200, "GET", "/api/health")).toBe(true)
      }))

    it.effect("events: the SSE route streams text/event-stream from a hello frame, and replays after a given id", () =>
      Effect.gen(function*() {
        const base = yield* baseUrl
        const flow = yield* expectStatus(201, "POST", "/api/flows/", { name: unique("sse") })
        const run = yield* expectStatus(201, "POST", "/api/flow_runs/", { flow_id: flow.id })
        // node:http, so the connection is really closed when the test has read enough
        const read = (url: string, headers: Record<string, string>, until: (text: string) => boolean) =>
          Effect.async<{ status: number; type: string; text: string }>((resume) => {
            const request = http.get(url, { headers }, (response) => {
              let text = ""
              response.setEncoding("utf8")
              response.on("data", (chunk: string) => {
                text += chunk
                if (!until(text)) return
                request.destroy()
                resume(Effect.succeed({ status: response.statusCode ?? 0, type: String(response.headers["content-type"]), text }))
              })
            })
            return Effect.sync(() => request.destroy())
          }).pipe(Effect.timeout("5 seconds"), Effect.orDie)
        const hello = yield* read(`${base}/api/events`, {}, (t) => t.includes("event: hello"))
        expect(hello.status).toBe(200)
        expect(hello.type).toContain("text/event-stream")
        expect(hello.text).toContain("event: hello")
        const replay = yield* read(`${base}/api/events?flow_run_id=${run.id}`, { "last-event-id": "0" }, (t) => t.includes("flow_run.created"))
        expect(replay.text).toContain("event: flow_run.created")
        expect(replay.text).toContain(run.id)
        expect((yield* call("GET", "/api/events?flow_run_id=nope")).status).toBe(422)
      }))
  })

  layer(onDatabase(serverLayer({ host: "127.0.0.1", port: 0, dataDir: tempDir(), cors: { allowedOrigins: ["http://ui.example"] } }), withPassword(db)), { excludeTestServices: true })((it) => {
    it.effect("CORS: allowed origins get the headers and preflights; others do not", () =>
      Effect.gen(function*() {
        const preflight = yield* call("OPTIONS", "/api/flows/filter", undefined, {
          headers: { origin: "http://ui.example", "access-control-request-method": "POST", "access-control-request-headers": "content-type" }
        })
        expect(preflight.status).toBeLessThan(300)
        expect(preflight.headers.get("access-control-allow-origin")).toBe("http://ui.example")
        const allowed = yield* call("POST", "/api/flows/filter", {}, { headers: { origin: "http://ui.example" } })
        expect(allowed.status).toBe(200)
        expect(allowed.headers.get("access-control-allow-origin")).toBe("http://ui.example")
        const other = yield* call("POST", "/api/flows/filter", {}, { headers: { origin: "http://evil.example" } })
        expect(other.headers.get("access-control-allow-origin")).not.toBe("http://evil.example")
      }))

    it.effect("admin: hello, version, health, settings with the database password masked", () =>
      Effect.gen(function*() {
        expect(yield* expectStatus(200, "GET", "/api/admin/hello")).toBe("👋")
        expect(yield* expectStatus(200, "GET", "/api/admin/version")).toBe("0.1.0")
        expect(yield* expectStatus(200, "GET", "/api/health")).toBe(true)
        const settings = yield* expectStatus(200, "GET", "/api/admin/settings")
        expect(settings).toMatchObject({ version: "0.1.0", api: { host: "127.0.0.1", cors_origins: ["http://ui.example"], max_body_bytes: 1024 * 1024 }, ui: { dir: null } })
        expect(JSON.stringify(settings)).not.toContain("s3cret")
        if (db.name === "pg") expect(settings.database_url).toContain(":***@")
      }))

    it.effect("admin: clear needs {confirm: true}, then empties every table; drop and create take the schema away and back", () =>
      Effect.gen(function*() {
        const flow = yield* expectStatus(201, "POST", "/api/flows/", { name: unique("doomed") })
        yield* expectStatus(201, "POST", "/api/flow_runs/", { flow_id: flow.id })
        const refused = yield* call("POST", "/api/admin/database/clear", {})
        expect(refused.status).toBe(400)
        expect(refused.json.detail).toContain("confirm")
        expect((yield* call("POST", "/api/admin/database/clear", { confirm: false })).status).toBe(400)
        expect((yield* call("GET", `/api/flows/${flow.id}`)).status).toBe(200)
        expect((yield* call("POST", "/api/admin/database/clear", { confirm: true })).status).toBe(204)
        expect(yield* expectStatus(200, "POST", "/api/flows/count", {})).toBe(0)
        expect(yield* expectStatus(200, "POST", "/api/flow_runs/count", {})).toBe(0)

        expect((yield* call("POST", "/api/admin/database/drop", {})).status).toBe(400)
        expect((yield* call("POST", "/api/admin/database/drop", { confirm: true })).status).toBe(204)
        const down = yield* call("POST", "/api/flows/", { name: "x" })
        expect(down.status).toBe(503)
        expect(down.json).toMatchObject({ _tag: "ServiceUnavailable" })
        expect((yield* call("GET", "/api/health")).status).toBe(200)
        expect((yield* call("POST", "/api/admin/database/create", { confirm: true })).status).toBe(204)
        expect((yield* call("POST", "/api/flows/", { name: "x" })).status).toBe(201)
      }))
  })
})
