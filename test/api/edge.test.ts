/**
 * The server's edge over real HTTP: a `Host` that does not name the server (DNS rebinding), a foreign `Origin`, the API
 * key on every route of the OpenAPI document (and the event stream's query form), JSON too deep or carrying NUL, the
 * cap on event streams, and the database created private to its owner.
 */
import { describe, expect, it, layer } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as http from "node:http"
import * as path from "node:path"
import { type ChildProcess, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { jsonBodyProblem, loggableUrl, MAX_JSON_DEPTH } from "../../src/api/edge.js"
import { makeOrionClient } from "../../src/client/typed.js"
import * as Database from "../../src/storage/database.js"
import { databases, tempDir } from "../support/databases.js"
import { cleanEnv } from "../support/env.js"
import { apiServer, baseUrl, call, expectStatus, unique } from "./harness.js"

const root = fileURLToPath(new URL("../..", import.meta.url))
const sqlite = databases.find((d) => d.name === "sqlite")!
const KEY = "s3cret-key-for-tests"

/** A request with headers node's fetch will not let us set (Host), over plain node:http; answers status and body. */
const raw = (base: string, method: string, p: string, headers: Record<string, string>, body?: string) =>
  Effect.promise(() =>
    new Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }>((resolve, reject) => {
      const url = new URL(p, base)
      const request = http.request({ host: url.hostname, port: url.port, method, path: `${url.pathname}${url.search}`, headers }, (response) => {
        let text = ""
        response.on("data", (d) => (text += d))
        response.on("end", () => resolve({ status: response.statusCode ?? 0, headers: response.headers, text }))
      })
      request.on("error", reject)
      if (body !== undefined) request.end(body)
      else request.end()
    }))

/** Opens `/api/events` and resolves with the status and, for a 200, the first frame; the connection is then closed. */
const firstFrame = (base: string, p: string, headers: Record<string, string> = {}) =>
  Effect.promise(() =>
    new Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }>((resolve, reject) => {
      const request = http.get(`${base}${p}`, { headers }, (response) => {
        let text = ""
        response.on("data", (d) => {
          text += d
          if (response.statusCode !== 200 || text.includes("\n\n")) {
            request.destroy()
            resolve({ status: response.statusCode ?? 0, headers: response.headers, text })
          }
        })
        response.on("end", () => resolve({ status: response.statusCode ?? 0, headers: response.headers, text }))
      })
      request.on("error", (e) => (e.message.includes("socket hang up") ? undefined : reject(e)))
    }))

describe("the edge, without a key", () => {
  layer(apiServer(sqlite, { allowedHosts: ["orion.internal"] }), { excludeTestServices: true })((it) => {
    it.effect("a Host that does not name the server is refused 421 (DNS rebinding); loopback names, the bound host and allowed ones pass", () =>
      Effect.gen(function*() {
        const base = yield* baseUrl
        const port = new URL(base).port
        for (const host of ["attacker.example", `attacker.example:${port}`, "evil.com.", "192.168.1.20", "[2001:db8::1]"]) {
          const reply = yield* raw(base, "GET", "/api/health", { host })
          expect(reply.status, host).toBe(421)
          expect(JSON.parse(reply.text)).toMatchObject({ _tag: "MisdirectedRequest" })
        }
        const before = (yield* expectStatus(200, "POST", "/api/flows/filter", {})).length
        const forged = yield* raw(base, "POST", "/api/flows/", { host: "attacker.example", "content-type": "application/json" }, JSON.stringify({ name: unique("rebind") }))
        expect(forged.status).toBe(421)
        expect((yield* expectStatus(200, "POST", "/api/flows/filter", {})).length).toBe(before)
        for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, "LOCALHOST", `[::1]:${port}`, "app.localhost", "orion.internal", `orion.internal:${port}`]) {
          const reply = yield* raw(base, "GET", "/api/health", { host })
          expect(reply.status, host).toBe(200)
        }
      }))

    it.effect("a request from a foreign web Origin is refused 403 and changes nothing; the server's own origin and none pass", () =>
      Effect.gen(function*() {
        const base = yield* baseUrl
        const flow = yield* expectStatus(201, "POST", "/api/flows/", { name: unique("victim") })
        for (const origin of ["http://evil.example", "null", "http://localhost:1", `${base}.evil.example`]) {
          const clear = yield* call("POST", "/api/admin/database/clear", { confirm: true }, { headers: { origin } })
          expect(clear.status, origin).toBe(403)
          expect(clear.json).toMatchObject({ _tag: "Forbidden" })
          const read = yield* call("GET", `/api/flows/${flow.id}`, undefined, { headers: { origin } })
          expect(read.status).toBe(403)
        }
        yield* expectStatus(200, "GET", `/api/flows/${flow.id}`)
        const own = yield* call("POST", "/api/flows/", { name: unique("own") }, { headers: { origin: base } })
        expect(own.status).toBe(201)
      }))

    it.effect("JSON nested deeper than the limit, NUL characters and %00 in the URL are 4xx naming what was wrong; the server keeps serving", () =>
      Effect.gen(function*() {
        const deep = `{"name": "deep", "tags": [], "x": ${"[".repeat(20_000)}${"]".repeat(20_000)}}`
        const tooDeep = yield* call("POST", "/api/flows/", undefined, { raw: deep, headers: { "content-type": "application/json" } })
        expect(tooDeep.status).toBe(422)
        expect(tooDeep.json.message).toContain("deeper than 100 levels")
        const parameters = yield* call("POST", "/api/flow_runs/filter", undefined, { raw: `{"flow_runs": ${"{\"a\":".repeat(5000)}1${"}".repeat(5000)}}`, headers: { "content-type": "application/json" } })
        expect(parameters.status).toBe(422)
        const nul = yield* call("POST", "/api/flows/", { name: "a\u0000b" })
        expect(nul.status).toBe(422)
        expect(nul.json.message).toContain("NUL")
        // a backslash before "u0000" inside a string is text, not a NUL
        yield* expectStatus(201, "POST", "/api/flows/", { name: unique("back\\u0000slash") })
        for (const p of ["/api/flows/%00", "/api/flows/filter?limit=1%00", "/api/%E0%A4%A"]) {
          const reply = yield* call("GET", p)
          expect(reply.status, p).toBe(400)
        }
        expect(yield* expectStatus(200, "GET", "/api/health")).toBe(true)
      }))
  })
})

describe("the edge, with an API key", () => {
  const uiDir = (() => {
    const dir = tempDir("orion-ui-")
    fs.writeFileSync(path.join(dir, "index.html"), "<!doctype html><title>Orion UI</title>")
    return dir
  })()
  layer(apiServer(sqlite, { apiKey: KEY, uiDir, maxEventStreams: 2 }), { excludeTestServices: true })((it) => {
    const auth = { authorization: `Bearer ${KEY}` }

    it.effect("every route of the OpenAPI document is 401 without the key or with a wrong one, and served with it", () =>
      Effect.gen(function*() {
        const spec = yield* expectStatus(200, "GET", "/openapi.json", undefined, { headers: auth })
        const id = "00000000-0000-4000-8000-000000000000"
        let routes = 0
        for (const [template, operations] of Object.entries(spec.paths as Record<string, Record<string, unknown>>)) {
          const p = template.replace(/\{[^}]+\}/g, (param) => (param === "{tag}" ? "some-tag" : id))
          for (const method of Object.keys(operations).map((m) => m.toUpperCase())) {
            if (p === "/api/admin/database/clear" || p === "/api/admin/database/drop") continue // checked below, not run with the key
            routes++
            const body = method === "GET" ? undefined : {}
            for (const headers of [{}, { authorization: "Bearer wrong" }, { authorization: `Basic ${KEY}` }, { authorization: KEY }]) {
              const denied = yield* call(method, p, body, { headers })
              expect(denied.status, `${method} ${p} ${JSON.stringify(headers)}`).toBe(401)
              expect(denied.headers.get("www-authenticate")).toContain("Bearer")
            }
            if (p === "/api/events") continue // a stream: opened below
            const allowed = yield* call(method, p, body, { headers: auth })
            expect(allowed.status, `${method} ${p}`).not.toBe(401)
          }
        }
        expect(routes).toBeGreaterThan(50)
        for (const p of ["/api/admin/database/clear", "/api/admin/database/drop", "/docs", "/openapi.json", "/api/nope"]) {
          expect((yield* call(p.startsWith("/api/admin") ? "POST" : "GET", p, p.startsWith("/api/admin") ? { confirm: true } : undefined)).status, p).toBe(401)
        }
        expect((yield* call("GET", "/docs", undefined, { headers: auth })).status).toBe(200)
        // the dashboard's own files hold no data: the page loads, and then asks for the key
        const page = yield* call("GET", "/")
        expect(page.status).toBe(200)
        expect(page.text).toContain("Orion UI")
      }))

    it.effect("the event stream takes the key as a header or as ?api_key= (for EventSource), which is not passed on", () =>
      Effect.gen(function*() {
        const base = yield* baseUrl
        expect((yield* firstFrame(base, "/api/events")).status).toBe(401)
        expect((yield* firstFrame(base, "/api/events?api_key=wrong")).status).toBe(401)
        const header = yield* firstFrame(base, "/api/events", auth)
        expect(header.status).toBe(200)
        expect(header.text).toContain("event: hello")
        const query = yield* firstFrame(base, `/api/events?flow_run_id=00000000-0000-4000-8000-000000000000&api_key=${KEY}`)
        expect(query.status).toBe(200)
        // the query form is for the stream (and docs) only
        expect((yield* call("GET", `/api/health?api_key=${KEY}`)).status).toBe(401)
      }))

    it.effect("at most ORION_SSE_MAX_CLIENTS streams are open at once: one more gets 503 with Retry-After, and a place frees when one closes", () =>
      Effect.gen(function*() {
        const base = yield* baseUrl
        const open = () =>
          new Promise<http.ClientRequest>((resolve, reject) => {
            const request = http.get(`${base}/api/events`, { headers: auth }, (response) => {
              if (response.statusCode !== 200) reject(new Error(`status ${response.statusCode}`))
              response.once("data", () => resolve(request))
            })
            request.on("error", () => undefined)
          })
        const first = yield* Effect.promise(open)
        const second = yield* Effect.promise(open)
        const third = yield* firstFrame(base, "/api/events", auth)
        expect(third.status).toBe(503)
        expect(third.headers["retry-after"]).toBe("5")
        expect(JSON.parse(third.text).detail).toContain("ORION_SSE_MAX_CLIENTS")
        first.destroy()
        yield* Effect.promise(async () => {
          for (let i = 0; i < 100; i++) {
            const status = await new Promise<number>((resolve) => {
              const r = http.get(`${base}/api/events`, { headers: auth }, (response) => {
                resolve(response.statusCode ?? 0)
                r.destroy()
              })
              r.on("error", () => undefined)
            })
            if (status === 200) return
            await new Promise((r) => setTimeout(r, 20))
          }
          throw new Error("no place freed after a stream closed")
        })
        second.destroy()
      }))
  })

  it.effect("the exported typed client sends the key it is given (or ORION_API_KEY) and reads runs and decisions; without it, 401", () =>
    Effect.gen(function*() {
      const base = yield* baseUrl
      const flow = yield* expectStatus(201, "POST", "/api/flows/", { name: unique("typed") }, { headers: { authorization: `Bearer ${KEY}` } })
      const run = yield* expectStatus(201, "POST", "/api/flow_runs/", { flow_id: flow.id }, { headers: { authorization: `Bearer ${KEY}` } })
      const client = yield* makeOrionClient({ url: `${base}/api`, apiKey: KEY })
      const runs = yield* client.flow_runs.filter({ payload: { flows: { id: { any_: [flow.id] } }, sort: "ID_DESC", limit: 10, offset: 0 } })
      expect(runs.map((r) => r.id)).toEqual([run.id])
      const decisions = yield* client.flow_runs.decisions({ path: { id: run.id } })
      expect(decisions.length).toBeGreaterThan(0)
      const keyless = yield* makeOrionClient({ url: `${base}/api` }).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map())))
      const refused = yield* Effect.flip(keyless.flow_runs.filter({ payload: { sort: "ID_DESC", limit: 10, offset: 0 } }))
      expect(refused._tag).toBe("ResponseError")
      expect((refused as { response: { status: number } }).response.status).toBe(401)
      const fromEnv = yield* makeOrionClient({ url: base }).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["ORION_API_KEY", KEY]]))))
      expect((yield* fromEnv.flows.get({ path: { id: flow.id } })).id).toBe(flow.id)
    }).pipe(Effect.provide(apiServer(sqlite, { apiKey: KEY }))))

  it.effect("a script in remote mode sends ORION_API_KEY; without it, it fails saying the server wants a key", () =>
    Effect.gen(function*() {
      const base = yield* baseUrl
      const run = (env: Record<string, string>) =>
        Effect.promise(() =>
          new Promise<{ code: number | null; output: string }>((resolve) => {
            const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", "test/support/remote-flow-script.ts", "sleepy", "3"], {
              cwd: root, env: cleanEnv({ ORION_HOME: tempDir("orion-key-script-"), ORION_API_URL: `${base}/api`, ORION_API_RETRY_SECONDS: "1", ...env }), stdio: ["ignore", "pipe", "pipe"]
            })
            let output = ""
            child.stdout!.on("data", (d) => (output += d))
            child.stderr!.on("data", (d) => (output += d))
            child.once("exit", (code) => resolve({ code, output }))
          }))
      const keyed = yield* run({ ORION_API_KEY: KEY })
      expect(keyed.output).toContain("\"type\":\"COMPLETED\"")
      const keyless = yield* run({})
      expect(keyless.output).toContain("401")
      expect(keyless.output).toContain("API key")
      expect(keyless.output).not.toContain("\"type\":\"COMPLETED\"")
    }).pipe(Effect.provide(apiServer(sqlite, { apiKey: KEY }))), 90_000)
})

describe("a data folder that cannot be made", () => {
  layer(apiServer(sqlite, { dataDir: "/proc/nonexistent/x" }), { excludeTestServices: true })((it) => {
    it.effect("persist answers 503 naming the folder, at once, and the server keeps serving", () =>
      Effect.gen(function*() {
        const reply = yield* call("POST", "/api/data/persist", undefined, { raw: "hello", headers: { "content-type": "application/octet-stream" } })
        expect(reply.status).toBe(503)
        expect(reply.json.detail).toContain("/proc/nonexistent")
        expect(yield* expectStatus(200, "GET", "/api/health")).toBe(true)
      }).pipe(Effect.timeout("10 seconds")))
  })
})

describe("the edge's checks", () => {
  it("an api_key in a URL is masked in the request log", () => {
    expect(loggableUrl(`/api/events?api_key=${KEY}&last_event_id=3`)).toBe("/api/events?api_key=***&last_event_id=3")
    expect(loggableUrl(`/docs?x=1&api_key=${KEY}`)).toBe("/docs?x=1&api_key=***")
  })

  it("JSON depth is counted outside strings only, up to the limit", () => {
    const bytes = (s: string) => new TextEncoder().encode(s)
    expect(jsonBodyProblem(bytes(`${"[".repeat(MAX_JSON_DEPTH)}${"]".repeat(MAX_JSON_DEPTH)}`))).toBeUndefined()
    expect(jsonBodyProblem(bytes(`${"[".repeat(MAX_JSON_DEPTH + 1)}${"]".repeat(MAX_JSON_DEPTH + 1)}`))).toBe("depth")
    const json = (value: unknown) => bytes(JSON.stringify(value))
    expect(jsonBodyProblem(json({ a: `${"[".repeat(500)}\\` }))).toBeUndefined()
    expect(jsonBodyProblem(json({ a: `"${"{".repeat(500)}` }))).toBeUndefined()
    expect(jsonBodyProblem(json({ a: "x\u0000" }))).toBe("nul")
    expect(jsonBodyProblem(bytes("{\"a\": \"x\u0000\"}"))).toBe("nul")
    expect(jsonBodyProblem(json({ a: "x\\u0000" }))).toBeUndefined()
  })
})

describe("the database, private to its owner", () => {
  layer(Layer.empty)((it) => {
    it.effect("a new ORION_HOME is created 0700, the SQLite file and its WAL 0600", () =>
      Effect.gen(function*() {
        const home = path.join(tempDir("orion-perm-"), "home")
        const file = path.join(home, "orion.db")
        yield* Effect.scoped(Effect.zipRight(Layer.build(Database.layerFromUrl(file)), Effect.void))
        expect(fs.statSync(home).mode & 0o777).toBe(0o700)
        expect(fs.statSync(file).mode & 0o777).toBe(0o600)
        for (const side of [`${file}-wal`, `${file}-shm`]) {
          if (fs.existsSync(side)) expect(fs.statSync(side).mode & 0o777, side).toBe(0o600)
        }
      }))

    it.effect("a database folder that cannot be made is one error naming it, at once (Node's recursive mkdir would never return)", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(Effect.scoped(Layer.build(Database.layerFromUrl("/proc/nonexistent/x/orion.db"))))
        expect(String((error as { message?: unknown }).message ?? error)).toContain("/proc/nonexistent")
      }).pipe(Effect.timeout("10 seconds")))
  })
})
