/**
 * Two schedulers on one PostgreSQL database — two pools, two orchestrators, as two `orion start` processes would have —
 * run their passes at the same moments for 100 ticks: every date's run is made exactly once, with exactly one state,
 * and each run is counted by the one scheduler that made it.
 */
import { defaultRunPolicy } from "../../src/domain/policy.js"
import { describe, expect, it } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { Context, Effect, Layer } from "effect"
import * as Database from "../../src/storage/database.js"
import { DeploymentRepository, FlowRepository, Repositories } from "../../src/storage/repositories/index.js"
import { EventBus } from "../../runtime/event-bus.js"
import * as Orch from "../../runtime/orchestrator.js"
import { scheduleAt } from "../../services/scheduler.js"
import type { ServiceReporter } from "../../services/service.js"
import type { SchedulerSettings } from "../../services/settings.js"
import { databases } from "../support/databases.js"

const pg = databases.find((d) => d.name === "pg")
const t0 = new Date("2030-01-01T00:00:00.000Z")
const settings: SchedulerSettings = { loopSeconds: 60, deploymentBatchSize: 2, maxRuns: 10, maxScheduledSeconds: 100 * 86_400, insertBatchSize: 4 }
const TICKS = 100
const DEPLOYMENTS = 3

/** One scheduler process's parts on the database at `url`. */
const processOn = (url: string) =>
  Layer.build(Layer.mergeAll(Orch.layer({ gatherIo: true }), Repositories).pipe(
    Layer.provideMerge(EventBus.layer),
    Layer.provideMerge(Database.layerFromUrl(url, { maxConnections: 4 }))
  ))

describe.skipIf(pg === undefined)("two schedulers on one PostgreSQL", () => {
  it.scopedLive(`over ${TICKS} ticks, no run is made twice`, () =>
    Effect.gen(function*() {
      const { url, lifecycle } = pg!.fresh()
      yield* Layer.build(lifecycle)
      const first = yield* processOn(url)
      const second = yield* processOn(url)
      const errors: Array<string> = []
      const report: ServiceReporter = { loopDone: () => Effect.void, nextDue: () => Effect.void, error: (m) => Effect.sync(() => void errors.push(m)) }

      yield* Effect.gen(function*() {
        const flow = (yield* (yield* FlowRepository).create({ name: "race", tags: [] })).value
        for (let i = 0; i < DEPLOYMENTS; i++) {
          yield* (yield* DeploymentRepository).upsert({
            name: `d${i}`, flow_id: flow.id, flow_data: { encoding: "text", blob: "flow.ts" }, is_schedule_active: true,
            // Every minute, with anchors a few seconds apart, so the deployments' dates interleave.
            schedule: { interval: 60, anchor_date: new Date(t0.getTime() + i * 7_000), timezone: null }, parameters: {}, tags: [],
            flow_path: null, flow_export: null, work_queue: "default", empirical_policy: defaultRunPolicy, catchup_seconds: null, overlap: "allow"
          })
        }
      }).pipe(Effect.provide(first))

      let made = [0, 0]
      for (let tick = 0; tick < TICKS; tick++) {
        const now = new Date(t0.getTime() + tick * 60_000)
        const [a, b] = yield* Effect.all([
          Effect.provide(scheduleAt(now, settings, report), first),
          Effect.provide(scheduleAt(now, settings, report), second)
        ], { concurrency: 2 })
        made = [made[0]! + a, made[1]! + b]
      }

      const sql = Context.get(first, SqlClient.SqlClient)
      const [{ runs, keys }] = (yield* sql`SELECT CAST(COUNT(*) AS INTEGER) AS runs, CAST(COUNT(DISTINCT idempotency_key) AS INTEGER) AS keys FROM flow_run`) as any
      const [{ states }] = (yield* sql`SELECT CAST(COUNT(*) AS INTEGER) AS states FROM flow_run_state`) as any
      const [{ stateless }] = (yield* sql`SELECT CAST(COUNT(*) AS INTEGER) AS stateless FROM flow_run WHERE state_id IS NULL`) as any
      // Each deployment: 10 runs ahead at the first tick, then one more minute each tick.
      const expected = DEPLOYMENTS * (settings.maxRuns + TICKS - 1)
      expect(errors).toEqual([])
      expect({ runs, keys, states, stateless }).toEqual({ runs: expected, keys: expected, states: expected, stateless: 0 })
      expect(made[0]! + made[1]!).toBe(expected)
      // Both made some: they did race.
      expect(made[0]).toBeGreaterThan(0)
      expect(made[1]).toBeGreaterThan(0)
    }), 180_000)
})
