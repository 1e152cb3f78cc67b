/**
 * `POST /api/flows/names` and `POST /api/deployments/names`: the flows and deployments `/filter` answers, each with only
 * what a picker shows (id and name; a deployment's flow), on SQLite and PostgreSQL.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { databases } from "../support/databases.js"
import { apiServer, call, expectStatus, unique } from "./harness.js"

const flowData = { encoding: "file", blob: "/flows/etl.ts" }

describe.each(databases)("names of flows and deployments on $name", (db) => {
  layer(apiServer(db), { excludeTestServices: true })((it) => {
    it.effect("answer the same flows and deployments as /filter for the same body, in the same order, with id and name only", () =>
      Effect.gen(function*() {
        const tag = unique("tag")
        const flows: Array<any> = []
        for (const name of ["b", "a", "c"]) flows.push(yield* expectStatus(201, "POST", "/api/flows/", { name: unique(`names-${name}`), tags: [tag] }))
        for (const [i, flow] of flows.entries()) {
          yield* expectStatus(201, "POST", "/api/deployments/", {
            name: `deploy-${i}`, flow_id: flow.id, flow_data: flowData, tags: [tag], parameters: { big: "x".repeat(1000) }, schedule: { interval: 3600 }
          })
        }
        const byTag = { flows: { tags: { all_: [tag] } } }
        for (const body of [byTag, { ...byTag, limit: 2 }, { ...byTag, limit: 2, offset: 2 }, { flows: { id: { any_: [flows[1].id] } } }]) {
          const whole = yield* expectStatus(200, "POST", "/api/flows/filter", body)
          const names = yield* expectStatus(200, "POST", "/api/flows/names", body)
          expect(names, JSON.stringify(body)).toEqual(whole.map((f: any) => ({ id: f.id, name: f.name })))
        }
        expect((yield* expectStatus(200, "POST", "/api/flows/names", byTag)).map((f: any) => f.name)).toEqual([...flows.map((f) => f.name)].sort())

        const deploymentsByTag = { deployments: { tags: { all_: [tag] } } }
        for (const body of [deploymentsByTag, { ...deploymentsByTag, limit: 1, offset: 1 }, { ...deploymentsByTag, flows: { id: { any_: [flows[2].id] } } }]) {
          const whole = yield* expectStatus(200, "POST", "/api/deployments/filter", body)
          const names = yield* expectStatus(200, "POST", "/api/deployments/names", body)
          expect(whole.length, JSON.stringify(body)).toBeGreaterThan(0)
          expect(names, JSON.stringify(body)).toEqual(whole.map((d: any) => ({ id: d.id, name: d.name, flow_id: d.flow_id })))
        }
        // a picker's answer is a small fraction of the whole records (no parameters, schedule, policy, description)
        const wholeText = (yield* call("POST", "/api/deployments/filter", deploymentsByTag)).text
        const namesText = (yield* call("POST", "/api/deployments/names", deploymentsByTag)).text
        expect(namesText.length * 10).toBeLessThan(wholeText.length)
      }))

    it.effect("bad bodies are 4xx naming what was wrong", () =>
      Effect.gen(function*() {
        for (const route of ["/api/flows/names", "/api/deployments/names"]) {
          const tooMany = yield* call("POST", route, { limit: 201 })
          expect(tooMany.status, route).toBe(422)
          expect(tooMany.text).toContain("limit must be between 0 and 200")
          const badId = yield* call("POST", route, { flows: { id: { any_: ["not-a-uuid"] } } })
          expect(badId.status, route).toBe(422)
          expect(badId.text).toContain("not-a-uuid")
          const unknownField = yield* call("POST", route, { flow: {} })
          expect(unknownField.status, route).toBe(422)
          expect(unknownField.text).toContain("flow")
        }
      }))
  })
})
