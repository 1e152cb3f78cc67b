import { describe, expect, layer } from "@effect/vitest"
import { Effect, Layer, TestClock } from "effect"
import { type LogCreate, type LogFilter, type LogSort, newUuid, type Uuid } from "../../src/domain/index.js"
import { LogRepository, Repositories } from "../../src/storage/repositories/index.js"
import { databases } from "../support/databases.js"
import { at, clearDatabase, countRows } from "../support/fixtures.js"

describe.each(databases)("LogRepository on $name", (db) => {
  layer(Layer.provideMerge(Repositories, db.layer()))((it) => {
    it.effect("createMany stores batches beyond one statement's bind-parameter limit and returns how many were stored", () =>
      Effect.gen(function*() {
        yield* clearDatabase
        yield* TestClock.setTime(at("12:00").getTime())
        const repo = yield* LogRepository
        const run = newUuid()
        const logs: Array<LogCreate> = Array.from({ length: 8003 }, (_, i) => ({
          name: "orion.flow_runs", level: 20, message: `line ${i}`, timestamp: new Date(at("10:00").getTime() + i), flow_run_id: run, task_run_id: null
        }))
        expect(yield* repo.createMany(logs)).toBe(8003)
        expect(yield* repo.createMany([])).toBe(0)
        expect(yield* countRows("log")).toBe(8003)
        const last = yield* repo.filter({ logs: null, sort: "TIMESTAMP_DESC", limit: 1, offset: 0 })
        expect(last[0]).toMatchObject({ message: "line 8002", flow_run_id: run, task_run_id: null, created: at("12:00"), timestamp: new Date(at("10:00").getTime() + 8002) })
      }))

    it.effect("logs with client-chosen ids are stored once however often they are sent, with one event each", () =>
      Effect.gen(function*() {
        yield* clearDatabase
        const repo = yield* LogRepository
        const run = newUuid()
        const batch: Array<LogCreate> = Array.from({ length: 3 }, (_, i) => ({
          id: newUuid(), name: "orion.flow_runs", level: 20, message: `line ${i}`, timestamp: at("10:00"), flow_run_id: run, task_run_id: null
        }))
        expect(yield* repo.createMany(batch)).toBe(3)
        // the same batch again (an answer lost, the batch retried), and a bigger one overlapping it
        expect(yield* repo.createMany(batch)).toBe(0)
        const more: LogCreate = { id: newUuid(), name: "orion.flow_runs", level: 20, message: "line 3", timestamp: at("10:00"), flow_run_id: run, task_run_id: null }
        expect(yield* repo.createMany([...batch, more])).toBe(1)
        expect(yield* countRows("log")).toBe(4)
        expect(yield* countRows("event")).toBe(4)
        const stored = yield* repo.filter({ logs: null, sort: "TIMESTAMP_ASC", limit: 10, offset: 0 })
        expect(stored.map((l) => l.id).sort()).toEqual([...batch.map((l) => l.id!), more.id!].sort())
        // the same id twice in one batch: the first line is stored, with one event
        const twice: LogCreate = { ...more, id: newUuid(), message: "first" }
        expect(yield* repo.createMany([twice, { ...twice, message: "second" }])).toBe(1)
        expect(yield* countRows("log")).toBe(5)
        expect(yield* countRows("event")).toBe(5)
        expect((yield* repo.filter({ logs: { flow_run_id: { any_: [run] } }, sort: "TIMESTAMP_ASC", limit: 10, offset: 0 })).filter((l) => l.id === twice.id).map((l) => l.message)).toEqual(["first"])
      }))

    it.effect("filter by level, timestamp, flow run and task run; sorted by timestamp either way; paged", () =>
      Effect.gen(function*() {
        yield* clearDatabase
        const repo = yield* LogRepository
        const [r1, r2, t1] = [newUuid(), newUuid(), newUuid()]
        const line = (message: string, level: number, time: string, flow_run_id: Uuid, task_run_id: Uuid | null = null): LogCreate =>
          ({ name: "n", level, message, timestamp: at(time), flow_run_id, task_run_id })
        yield* repo.createMany([
          line("debug", 10, "10:00:03", r1),
          line("info", 20, "10:00:01", r1, t1),
          line("warn", 30, "10:00:02", r2),
          line("error", 40, "10:00:04", r1, t1)
        ])
        const messages = (logs: LogFilter | null, sort: LogSort = "TIMESTAMP_ASC", limit = 200, offset = 0) =>
          Effect.map(repo.filter({ logs, sort, limit, offset }), (ls) => ls.map((l) => l.message))
        expect(yield* messages(null)).toEqual(["info", "warn", "debug", "error"])
        expect(yield* messages(null, "TIMESTAMP_DESC")).toEqual(["error", "debug", "warn", "info"])
        expect(yield* messages({ level: { ge_: 20 } })).toEqual(["info", "warn", "error"])
        expect(yield* messages({ level: { le_: 20 } })).toEqual(["info", "debug"])
        expect(yield* messages({ level: { ge_: 20, le_: 30 } })).toEqual(["info", "warn"])
        expect(yield* messages({ timestamp: { after_: at("10:00:02") } })).toEqual(["warn", "debug", "error"])
        expect(yield* messages({ timestamp: { before_: at("10:00:02") } })).toEqual(["info", "warn"])
        expect(yield* messages({ flow_run_id: { any_: [r1] } })).toEqual(["info", "debug", "error"])
        expect(yield* messages({ flow_run_id: { any_: [] } })).toEqual([])
        expect(yield* messages({ task_run_id: { any_: [t1] } })).toEqual(["info", "error"])
        expect(yield* messages({ flow_run_id: { any_: [r1] }, level: { ge_: 15 } }, "TIMESTAMP_DESC")).toEqual(["error", "info"])
        expect(yield* messages(null, "TIMESTAMP_ASC", 2, 1)).toEqual(["warn", "debug"])
        const [info] = yield* repo.filter({ logs: { task_run_id: { any_: [t1] } }, sort: "TIMESTAMP_ASC", limit: 1, offset: 0 })
        expect(info).toMatchObject({ name: "n", level: 20, message: "info", timestamp: at("10:00:01"), flow_run_id: r1, task_run_id: t1 })
      }))
  })
})
