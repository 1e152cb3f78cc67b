/** The typed client derived from `OrionApi` works against the server: successes decode, errors arrive as typed values. */
import { FetchHttpClient, HttpApiClient } from "@effect/platform"
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { OrionApi } from "../../src/api/api.js"
import { newUuid, States } from "../../src/domain/index.js"
import { databases } from "../support/databases.js"
import { apiServer, baseUrl, unique } from "./harness.js"

const client = Effect.flatMap(baseUrl, (url) => HttpApiClient.make(OrionApi, { baseUrl: url })).pipe(Effect.provide(FetchHttpClient.layer))

describe.each(databases)("typed client on $name", (db) => {
  layer(apiServer(db), { excludeTestServices: true })((it) => {
    it.effect("creates, reads and moves a run; not-found and conflicts are typed errors", () =>
      Effect.gen(function*() {
        const orion = yield* client
        const name = unique("typed")
        const flow = yield* orion.flows.create({ payload: { name, tags: [] } })
        expect(flow.name).toBe(name)
        expect(flow.created).toBeInstanceOf(Date)
        expect((yield* orion.flows.create({ payload: { name, tags: ["again"] } })).id).toBe(flow.id)
        const run = yield* orion.flow_runs.create({ payload: { flow_id: flow.id, name: null, deployment_id: null, flow_version: null, parameters: { n: 1 }, context: {},
          empirical_policy: { max_retries: 0, retry_delay_seconds: 0, retry_jitter_factor: 0 }, tags: [], idempotency_key: null, parent_task_run_id: null, state: null } })
        expect(run.state?.type).toBe("PENDING")
        const result = yield* orion.flow_runs.setState({ path: { id: run.id }, payload: { state: States.Running(), force: false } })
        expect(result).toMatchObject({ status: "ACCEPT", state: { type: "RUNNING" } })
        const decisions = yield* orion.flow_runs.decisions({ path: { id: run.id } })
        expect(decisions.map((d) => d.status)).toEqual(["ACCEPT", "ACCEPT"])
        expect(yield* orion.flow_runs.count({ payload: { flows: { id: { any_: [flow.id] } } } })).toBe(1)

        const missing = yield* Effect.flip(orion.flows.get({ path: { id: newUuid() } }))
        expect(missing).toMatchObject({ _tag: "ObjectNotFound", thing: "Flow" })
        const refused = yield* Effect.flip(orion.admin.clear({ payload: { confirm: false } }))
        expect(refused).toMatchObject({ _tag: "BadRequest" })
        expect(yield* orion.admin.health()).toBe(true)
      }))
  })
})
