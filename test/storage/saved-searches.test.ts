import { describe, expect, layer } from "@effect/vitest"
import { Effect, Layer, TestClock } from "effect"
import { newUuid, ObjectNotFound } from "../../src/domain/index.js"
import { Repositories, SavedSearchRepository } from "../../src/storage/repositories/index.js"
import { databases } from "../support/databases.js"
import { at, clearDatabase, countRows } from "../support/fixtures.js"

describe.each(databases)("SavedSearchRepository on $name", (db) => {
  layer(Layer.provideMerge(Repositories, db.layer()))((it) => {
    it.effect("upsert creates by name, then replaces the filters of the same name", () =>
      Effect.gen(function*() {
        yield* clearDatabase
        yield* TestClock.setTime(at("10:00").getTime())
        const repo = yield* SavedSearchRepository
        const filters = { flow_runs: { state: { type: { any_: ["FAILED"] } } }, nested: [1, "two", null] }
        const first = yield* repo.upsert({ name: "failures", filters })
        expect(first.created).toBe(true)
        expect(first.value).toMatchObject({ name: "failures", filters, created: at("10:00"), updated: at("10:00") })
        yield* TestClock.adjust("1 minute")
        const second = yield* repo.upsert({ name: "failures", filters: { flows: {} } })
        expect(second.created).toBe(false)
        expect(second.value).toEqual({ ...first.value, filters: { flows: {} }, updated: at("10:01") })
        expect(yield* repo.get(first.value.id)).toEqual(second.value)
        expect(yield* countRows("saved_search")).toBe(1)
      }))

    it.effect("filter orders by name and pages; get and delete; unknown ids are ObjectNotFound", () =>
      Effect.gen(function*() {
        yield* clearDatabase
        const repo = yield* SavedSearchRepository
        const ids: Record<string, string> = {}
        for (const name of ["c", "a", "b"]) ids[name] = (yield* repo.upsert({ name, filters: {} })).value.id
        expect((yield* repo.filter({ limit: 200, offset: 0 })).map((s) => s.name)).toEqual(["a", "b", "c"])
        expect((yield* repo.filter({ limit: 1, offset: 1 })).map((s) => s.name)).toEqual(["b"])
        yield* repo.delete(ids.b!)
        expect((yield* repo.filter({ limit: 200, offset: 0 })).map((s) => s.name)).toEqual(["a", "c"])
        const e = yield* Effect.flip(repo.get(ids.b!))
        expect(e).toBeInstanceOf(ObjectNotFound)
        expect(e.message).toBe("Saved search not found")
        expect(yield* Effect.flip(repo.delete(ids.b!))).toMatchObject({ thing: "Saved search" })
        expect(yield* Effect.flip(repo.get(newUuid()))).toMatchObject({ _tag: "ObjectNotFound" })
      }))
  })
})
