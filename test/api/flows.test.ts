/** Flows, saved searches, concurrency limits and logs over real HTTP, on SQLite and PostgreSQL. */
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { newUuid } from "../../src/domain/index.js"
import { databases } from "../support/databases.js"
import { apiServer, call, expectStatus, unique, wireTimestamp } from "./harness.js"

describe.each(databases)("API flows and small objects on $name", (db) => {
  layer(apiServer(db), { excludeTestServices: true })((it) => {
    it.effect("creates a flow (201), finds it again gracefully (200), reads, filters, counts, updates and deletes it", () =>
      Effect.gen(function*() {
        const name = unique("etl")
        const created = yield* call("POST", "/api/flows/", { name, tags: ["nightly"] })
        expect(created.status).toBe(201)
        expect(created.json).toMatchObject({ name, tags: ["nightly"] })
        expect(created.json.created).toMatch(wireTimestamp)
        expect(created.json.updated).toMatch(wireTimestamp)
        const again = yield* call("POST", "/api/flows", { name, tags: ["other"] })
        expect(again.status).toBe(200)
        expect(again.json).toEqual(created.json)

        const id = created.json.id as string
        expect(yield* expectStatus(200, "GET", `/api/flows/${id}`)).toEqual(created.json)
        expect(yield* expectStatus(200, "GET", `/api/flows/name/${name}`)).toEqual(created.json)
        expect(yield* expectStatus(200, "POST", "/api/flows/filter", { flows: { name: { any_: [name] } } })).toEqual([created.json])
        expect(yield* expectStatus(200, "POST", "/api/flows/count", { flows: { tags: { all_: ["nightly"] }, name: { any_: [name] } } })).toBe(1)

        const patched = yield* call("PATCH", `/api/flows/${id}`, { tags: ["weekly"] })
        expect(patched.status).toBe(204)
        expect(patched.text).toBe("")
        expect((yield* expectStatus(200, "GET", `/api/flows/${id}`)).tags).toEqual(["weekly"])

        expect((yield* call("DELETE", `/api/flows/${id}`)).status).toBe(204)
        const gone = yield* call("GET", `/api/flows/${id}`)
        expect(gone.status).toBe(404)
        expect(gone.json).toEqual({ _tag: "ObjectNotFound", thing: "Flow", id, detail: "Flow not found" })
        expect((yield* call("DELETE", `/api/flows/${id}`)).status).toBe(404)
        expect((yield* call("PATCH", `/api/flows/${id}`, { tags: [] })).status).toBe(404)
        expect((yield* call("GET", `/api/flows/name/${unique("none")}`)).json).toMatchObject({ thing: "Flow", detail: "Flow not found" })
      }))

    it.effect("refuses unknown fields and bad values with 422 naming each field", () =>
      Effect.gen(function*() {
        const reply = yield* call("POST", "/api/flows/", { name: "x", tags: "nightly", colour: "red" })
        expect(reply.status).toBe(422)
        expect(reply.json._tag).toBe("ValidationError")
        const locs = reply.json.detail.map((d: { loc: Array<string> }) => d.loc.join("."))
        expect(locs).toEqual(expect.arrayContaining(["colour", "tags"]))
        expect(reply.json.detail.find((d: { loc: Array<string> }) => d.loc[0] === "colour")).toMatchObject({ type: "unknown_field" })
        expect(reply.json.message).toContain("colour")

        const missing = yield* call("POST", "/api/flows/", {})
        expect(missing.status).toBe(422)
        expect(missing.json.detail).toEqual([{ loc: ["name"], msg: "field required", type: "missing" }])

        // nested objects are strict too
        const nested = yield* call("POST", "/api/flows/filter", { flows: { name: { any_: ["a"], some_: ["b"] } } })
        expect(nested.status).toBe(422)
        expect(nested.json.detail[0].loc).toEqual(["flows", "name", "some_"])

        const badId = yield* call("GET", "/api/flows/not-a-uuid")
        expect(badId.status).toBe(422)
        expect(badId.json.detail[0].loc).toEqual(["id"])
      }))

    it.effect("names and keys stored in indexed columns are at most 400 characters: longer ones get 422, not a database error", () =>
      Effect.gen(function*() {
        const longest = `${unique("n")}-`.padEnd(400, "é")
        expect((yield* call("POST", "/api/flows/", { name: longest })).status).toBe(201)
        const tooLong = yield* call("POST", "/api/flows/", { name: `${longest}é` })
        expect(tooLong.status).toBe(422)
        expect(tooLong.json.detail[0]).toMatchObject({ loc: ["name"] })
        expect((yield* call("POST", "/api/concurrency_limits/", { tag: "t".repeat(401), concurrency_limit: 1 })).status).toBe(422)
        expect((yield* call("PUT", "/api/saved_searches/", { name: "s".repeat(401) })).status).toBe(422)
      }))

    it.effect("integers kept in INTEGER columns are 32-bit: larger ones get 422 on both databases, not a PostgreSQL error", () =>
      Effect.gen(function*() {
        const tag = unique("int32")
        expect((yield* call("POST", "/api/concurrency_limits/", { tag, concurrency_limit: 2 ** 31 })).json.detail[0]).toMatchObject({ loc: ["concurrency_limit"] })
        expect((yield* call("POST", "/api/concurrency_limits/", { tag, concurrency_limit: 2 ** 31 - 1 })).status).toBe(201)
        expect((yield* call("POST", "/api/logs/filter", { logs: { level: { ge_: 2 ** 40 } } })).json.detail[0]).toMatchObject({ loc: ["logs", "level", "ge_"] })
        expect(yield* expectStatus(200, "POST", "/api/logs/filter", { logs: { level: { ge_: 2 ** 31 - 1, le_: -(2 ** 31) } } })).toEqual([])
      }))

    it.effect("a lone surrogate in JSON (tags, filters) is stored as U+FFFD on both databases, not refused by PostgreSQL", () =>
      Effect.gen(function*() {
        const tag = unique("lone")
        const flow = yield* expectStatus(201, "POST", "/api/flows/", { name: unique("surrogate"), tags: [tag, "a\ud800b", "\udc00"] })
        expect(flow.tags).toEqual([tag, "a\ufffdb", "\ufffd"])
        // a filter's lone surrogate is read the same way
        expect(yield* expectStatus(200, "POST", "/api/flows/count", { flows: { tags: { all_: [tag, "\ud800"] } } })).toBe(1)
      }))

    it.effect("pages: limit above 200 is refused, offset and limit page through results ordered by name", () =>
      Effect.gen(function*() {
        const tag = unique("page")
        for (const n of ["c", "a", "b"]) yield* expectStatus(201, "POST", "/api/flows/", { name: `${tag}-${n}`, tags: [tag] })
        const over = yield* call("POST", "/api/flows/filter", { limit: 201 })
        expect(over.status).toBe(422)
        expect(over.json.detail[0]).toMatchObject({ loc: ["limit"] })
        expect((yield* call("POST", "/api/flows/filter", { offset: -1 })).status).toBe(422)
        const page = yield* expectStatus(200, "POST", "/api/flows/filter", { flows: { tags: { all_: [tag] } }, limit: 2, offset: 1 })
        expect(page.map((f: { name: string }) => f.name)).toEqual([`${tag}-b`, `${tag}-c`])
      }))

    it.effect("saved searches: PUT creates (201) then replaces (200); get, filter, delete, 404", () =>
      Effect.gen(function*() {
        const name = unique("search")
        const first = yield* call("PUT", "/api/saved_searches/", { name, filters: { flow_runs: { state: ["FAILED"] } } })
        expect(first.status).toBe(201)
        const second = yield* call("PUT", "/api/saved_searches/", { name, filters: { x: 1 } })
        expect(second.status).toBe(200)
        expect(second.json).toMatchObject({ id: first.json.id, name, filters: { x: 1 } })
        expect(yield* expectStatus(200, "GET", `/api/saved_searches/${first.json.id}`)).toMatchObject({ filters: { x: 1 } })
        const listed = yield* expectStatus(200, "POST", "/api/saved_searches/filter", {})
        expect(listed.map((s: { name: string }) => s.name)).toContain(name)
        expect((yield* call("DELETE", `/api/saved_searches/${first.json.id}`)).status).toBe(204)
        expect((yield* call("GET", `/api/saved_searches/${first.json.id}`)).json).toMatchObject({ thing: "Saved search" })
        expect((yield* call("PUT", "/api/saved_searches/", { name: "" })).status).toBe(422)
      }))

    it.effect("concurrency limits: upsert by tag, read by id and tag, filter, delete by id and tag", () =>
      Effect.gen(function*() {
        const tag = unique("db")
        const created = yield* call("POST", "/api/concurrency_limits/", { tag, concurrency_limit: 2 })
        expect(created.status).toBe(201)
        expect(created.json).toMatchObject({ tag, concurrency_limit: 2, active_slots: [] })
        const changed = yield* call("POST", "/api/concurrency_limits/", { tag, concurrency_limit: 5 })
        expect(changed.status).toBe(200)
        expect(changed.json).toMatchObject({ id: created.json.id, concurrency_limit: 5 })
        expect(yield* expectStatus(200, "GET", `/api/concurrency_limits/${created.json.id}`)).toMatchObject({ tag })
        expect(yield* expectStatus(200, "GET", `/api/concurrency_limits/tag/${tag}`)).toMatchObject({ id: created.json.id })
        expect((yield* expectStatus(200, "POST", "/api/concurrency_limits/filter", { limit: 200 })).map((l: { tag: string }) => l.tag)).toContain(tag)
        expect((yield* call("POST", "/api/concurrency_limits/", { tag, concurrency_limit: -1 })).status).toBe(422)
        expect((yield* call("DELETE", `/api/concurrency_limits/tag/${tag}`)).status).toBe(204)
        expect((yield* call("GET", `/api/concurrency_limits/tag/${tag}`)).status).toBe(404)
        const other = yield* expectStatus(201, "POST", "/api/concurrency_limits/", { tag: unique("x"), concurrency_limit: 1 })
        expect((yield* call("DELETE", `/api/concurrency_limits/${other.id}`)).status).toBe(204)
        expect((yield* call("DELETE", `/api/concurrency_limits/${other.id}`)).json).toMatchObject({ thing: "Concurrency limit" })
      }))

    it.effect("logs: a batch is stored (201) and filtered by run and level, sorted by timestamp", () =>
      Effect.gen(function*() {
        const flowRunId = newUuid()
        const at = (s: number) => `2021-11-19T10:00:0${s}+00:00`
        const created = yield* call("POST", "/api/logs/", [
          { name: "etl", level: 20, message: "second", timestamp: at(2), flow_run_id: flowRunId },
          { name: "etl", level: 40, message: "first", timestamp: at(1), flow_run_id: flowRunId, task_run_id: null },
          { name: "etl", level: 10, message: "debug", timestamp: at(3), flow_run_id: flowRunId }
        ])
        expect(created.status).toBe(201)
        const logs = yield* expectStatus(200, "POST", "/api/logs/filter", { logs: { flow_run_id: { any_: [flowRunId] }, level: { ge_: 20 } } })
        expect(logs.map((l: { message: string }) => l.message)).toEqual(["first", "second"])
        expect(logs[0].timestamp).toBe("2021-11-19T10:00:01.000000+00:00")
        const desc = yield* expectStatus(200, "POST", "/api/logs/filter", { logs: { flow_run_id: { any_: [flowRunId] } }, sort: "TIMESTAMP_DESC", limit: 1 })
        expect(desc.map((l: { message: string }) => l.message)).toEqual(["debug"])
        // one bad line refuses the whole batch: nothing is stored
        const bad = yield* call("POST", "/api/logs/", [
          { name: "etl", level: 20, message: "ok", timestamp: at(4), flow_run_id: flowRunId },
          { name: "etl", level: 20, message: "no time", flow_run_id: flowRunId }
        ])
        expect(bad.status).toBe(422)
        expect(bad.json.detail[0].loc).toEqual([1, "timestamp"])
        expect((yield* expectStatus(200, "POST", "/api/logs/filter", { logs: { flow_run_id: { any_: [flowRunId] } } })).length).toBe(3)
      }))

    it.effect("timestamps before the year 1000 are stored and read back with four-digit years; ones outside 1–9999 are refused", () =>
      Effect.gen(function*() {
        const flowRunId = newUuid()
        const line = (timestamp: string) => ({ name: "old", level: 20, message: timestamp, timestamp, flow_run_id: flowRunId })
        expect((yield* call("POST", "/api/logs/", [line("0983-06-12T20:07:47.545Z")])).status).toBe(201)
        const logs = yield* expectStatus(200, "POST", "/api/logs/filter", { logs: { flow_run_id: { any_: [flowRunId] } } })
        expect(logs.map((l: { timestamp: string }) => l.timestamp)).toEqual(["0983-06-12T20:07:47.545000+00:00"])
        for (const outside of ["0000-12-31T23:00:00Z", "0001-01-01T00:30:00+01:00", "9999-12-31T23:30:00-01:00"]) {
          const refused = yield* call("POST", "/api/logs/", [line(outside)])
          expect(refused.status).toBe(422)
          expect(refused.json.detail[0].loc).toEqual([0, "timestamp"])
        }
      }))
  })
})
