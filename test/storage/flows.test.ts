import { describe, expect, layer } from "@effect/vitest"
import { Effect, Layer, TestClock } from "effect"
import { newUuid, ObjectNotFound } from "../../src/domain/index.js"
import { FlowRepository, Repositories } from "../../src/storage/repositories/index.js"
import { databases } from "../support/databases.js"
import { at, clearDatabase, countRows, insertDeployment, insertFlowRun, insertTaskRun } from "../support/fixtures.js"

describe.each(databases)("FlowRepository on $name", (db) => {
  layer(Layer.provideMerge(Repositories, db.layer()))((it) => {
    it.effect("create is graceful: a new name is created, an existing name returns the stored flow unchanged", () =>
      Effect.gen(function*() {
        yield* clearDatabase
        yield* TestClock.setTime(at("10:00").getTime())
        const repo = yield* FlowRepository
        const first = yield* repo.create({ name: "etl", tags: ["a", "b"] })
        expect(first.created).toBe(true)
        expect(first.value).toMatchObject({ name: "etl", tags: ["a", "b"], created: at("10:00"), updated: at("10:00") })
        yield* TestClock.adjust("1 minute")
        const again = yield* repo.create({ name: "etl", tags: ["other"] })
        expect(again.created).toBe(false)
        expect(again.value).toEqual(first.value)
        const other = yield* repo.create({ name: "ETL", tags: [] })
        expect(other.created).toBe(true)
        expect(other.value.id).not.toBe(first.value.id)
        expect(yield* countRows("flow")).toBe(2)
      }))

    it.effect("get and getByName; unknown ones are ObjectNotFound 'Flow not found'", () =>
      Effect.gen(function*() {
        yield* clearDatabase
        const repo = yield* FlowRepository
        const { value } = yield* repo.create({ name: "etl", tags: [] })
        expect(yield* repo.get(value.id)).toEqual(value)
        expect(yield* repo.getByName("etl")).toEqual(value)
        const missing = newUuid()
        const e = yield* Effect.flip(repo.get(missing))
        expect(e).toBeInstanceOf(ObjectNotFound)
        expect(e).toMatchObject({ thing: "Flow", id: missing, message: "Flow not found" })
        expect(yield* Effect.flip(repo.getByName("nope"))).toMatchObject({ thing: "Flow", id: "nope" })
      }))

    it.effect("filter orders by name and pages; count counts what filter finds", () =>
      Effect.gen(function*() {
        yield* clearDatabase
        const repo = yield* FlowRepository
        for (const name of ["delta", "alpha", "charlie", "bravo"]) yield* repo.create({ name, tags: name < "c" ? ["early"] : [] })
        const names = (limit: number, offset: number) => Effect.map(repo.filter({ limit, offset }), (fs) => fs.map((f) => f.name))
        expect(yield* names(200, 0)).toEqual(["alpha", "bravo", "charlie", "delta"])
        expect(yield* names(2, 1)).toEqual(["bravo", "charlie"])
        expect(yield* names(2, 3)).toEqual(["delta"])
        expect(yield* repo.count({})).toBe(4)
        expect(yield* repo.count({ flows: { tags: { all_: ["early"] } } })).toBe(2)
        const early = yield* repo.filter({ flows: { tags: { all_: ["early"] } }, limit: 1, offset: 1 })
        expect(early.map((f) => f.name)).toEqual(["bravo"])
      }))

    it.effect("update replaces tags and bumps updated; absent fields are left alone; unknown id is ObjectNotFound", () =>
      Effect.gen(function*() {
        yield* clearDatabase
        yield* TestClock.setTime(at("10:00").getTime())
        const repo = yield* FlowRepository
        const { value } = yield* repo.create({ name: "etl", tags: ["a"] })
        yield* TestClock.adjust("5 seconds")
        yield* repo.update(value.id, { tags: ["b", "c"] })
        expect(yield* repo.get(value.id)).toMatchObject({ name: "etl", tags: ["b", "c"], created: at("10:00"), updated: at("10:00:05") })
        yield* TestClock.adjust("5 seconds")
        yield* repo.update(value.id, {})
        expect(yield* repo.get(value.id)).toMatchObject({ tags: ["b", "c"], updated: at("10:00:10") })
        expect(yield* Effect.flip(repo.update(newUuid(), { tags: [] }))).toMatchObject({ _tag: "ObjectNotFound", thing: "Flow" })
      }))

    it.effect("delete removes the flow with its deployments, runs, task runs and states", () =>
      Effect.gen(function*() {
        yield* clearDatabase
        const repo = yield* FlowRepository
        const { value: doomed } = yield* repo.create({ name: "doomed", tags: [] })
        const { value: kept } = yield* repo.create({ name: "kept", tags: [] })
        const deployment = yield* insertDeployment(doomed.id, "d")
        const run = yield* insertFlowRun({ flow_id: doomed.id, deployment_id: deployment, state: { type: "RUNNING" } })
        yield* insertTaskRun({ flow_run_id: run, state: { type: "COMPLETED" } })
        const keptRun = yield* insertFlowRun({ flow_id: kept.id, state: { type: "PENDING" } })
        yield* repo.delete(doomed.id)
        expect(yield* Effect.flip(repo.get(doomed.id))).toBeInstanceOf(ObjectNotFound)
        expect(yield* countRows("flow_run", { column: "flow_id", value: doomed.id })).toBe(0)
        expect(yield* countRows("deployment", { column: "flow_id", value: doomed.id })).toBe(0)
        expect(yield* countRows("task_run", { column: "flow_run_id", value: run })).toBe(0)
        expect(yield* countRows("flow_run_state", { column: "flow_run_id", value: run })).toBe(0)
        expect(yield* countRows("task_run_state")).toBe(0)
        expect(yield* countRows("flow_run", { column: "id", value: keptRun })).toBe(1)
        expect(yield* Effect.flip(repo.delete(doomed.id))).toMatchObject({ _tag: "ObjectNotFound", thing: "Flow" })
      }))
  })
})
