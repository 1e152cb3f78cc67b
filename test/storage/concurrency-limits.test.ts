import { SqlClient } from "@effect/sql"
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Layer, TestClock } from "effect"
import { newUuid, ObjectNotFound } from "../../src/domain/index.js"
import { ConcurrencyLimitRepository, Repositories } from "../../src/storage/repositories/index.js"
import { databases } from "../support/databases.js"
import { at, clearDatabase } from "../support/fixtures.js"

describe.each(databases)("ConcurrencyLimitRepository on $name", (db) => {
  layer(Layer.provideMerge(Repositories, db.layer()))((it) => {
    it.effect("upsert by tag creates, then changes the limit while keeping the taken slots", () =>
      Effect.gen(function*() {
        yield* clearDatabase
        yield* TestClock.setTime(at("10:00").getTime())
        const repo = yield* ConcurrencyLimitRepository
        const first = yield* repo.upsert({ tag: "db", concurrency_limit: 2 })
        expect(first).toMatchObject({ created: true, value: { tag: "db", concurrency_limit: 2, active_slots: [], created: at("10:00") } })
        const slots = [newUuid(), newUuid()]
        const sql = yield* SqlClient.SqlClient
        yield* sql`UPDATE concurrency_limit SET active_slots = ${JSON.stringify(slots)} WHERE id = ${first.value.id}`
        yield* TestClock.adjust("1 second")
        const second = yield* repo.upsert({ tag: "db", concurrency_limit: 5 })
        expect(second.created).toBe(false)
        expect(second.value).toEqual({ ...first.value, concurrency_limit: 5, active_slots: slots, updated: at("10:00:01") })
        expect(yield* repo.get(first.value.id)).toEqual(second.value)
        expect(yield* repo.getByTag("db")).toEqual(second.value)
      }))

    it.effect("filter orders by tag and pages; delete by id and by tag; unknown ones are ObjectNotFound", () =>
      Effect.gen(function*() {
        yield* clearDatabase
        const repo = yield* ConcurrencyLimitRepository
        const ids: Record<string, string> = {}
        for (const tag of ["s3", "api", "db"]) ids[tag] = (yield* repo.upsert({ tag, concurrency_limit: 1 })).value.id
        expect((yield* repo.filter({ limit: 200, offset: 0 })).map((l) => l.tag)).toEqual(["api", "db", "s3"])
        expect((yield* repo.filter({ limit: 2, offset: 1 })).map((l) => l.tag)).toEqual(["db", "s3"])
        yield* repo.delete(ids.api!)
        yield* repo.deleteByTag("s3")
        expect((yield* repo.filter({ limit: 200, offset: 0 })).map((l) => l.tag)).toEqual(["db"])
        const e = yield* Effect.flip(repo.get(ids.api!))
        expect(e).toBeInstanceOf(ObjectNotFound)
        expect(e.message).toBe("Concurrency limit not found")
        expect(yield* Effect.flip(repo.getByTag("s3"))).toMatchObject({ thing: "Concurrency limit", id: "s3" })
        expect(yield* Effect.flip(repo.delete(ids.api!))).toMatchObject({ _tag: "ObjectNotFound" })
        expect(yield* Effect.flip(repo.deleteByTag("s3"))).toMatchObject({ _tag: "ObjectNotFound" })
      }))
  })
})
