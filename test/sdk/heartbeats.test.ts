/** Heartbeats: running flow and task runs record `heartbeat_time` every interval; a failing heartbeat never fails a run. */
import { describe, expect, it, layer } from "@effect/vitest"
import { ConfigProvider, Effect, Fiber, Layer } from "effect"
import { OrionClient, OrionUnavailable } from "../../src/client/orion-client.js"
import { newUuid, States } from "../../src/domain/index.js"
import { flow, task } from "../../src/index.js"
import { databases } from "../support/databases.js"
import { flowRunIdOf, sdkLayer, taskRunsOf } from "../support/sdk.js"

const nap = (ms: number) => task({ name: `nap-${ms}` }, () => new Promise<number>((r) => setTimeout(() => r(ms), ms)))

describe.each(databases)("heartbeats on $name", (db) => {
  layer(sdkLayer(db, { heartbeatInterval: "20 millis" }), { excludeTestServices: true })((it) => {
    it.effect("the client records a heartbeat on a running run, ignores it once the run has ended, and an unknown run is ObjectNotFound", () =>
      Effect.gen(function*() {
        const client = yield* OrionClient
        const flowRecord = yield* client.ensureFlow({ name: "hb-client", tags: [] })
        const created = yield* client.createFlowRun({
          name: null, flow_id: flowRecord.id, deployment_id: null, flow_version: null, parameters: {}, context: {},
          empirical_policy: { max_retries: 0, retry_delay_seconds: 0, retry_jitter_factor: 0 }, tags: [], idempotency_key: null,
          parent_task_run_id: null, state: States.Pending()
        })
        const ref = { kind: "flow_run" as const, id: created.id }
        yield* client.heartbeat(ref)
        expect((yield* client.readFlowRun(created.id)).heartbeat_time).toBeNull()
        yield* client.proposeState(ref, States.Running())
        const before = yield* client.readFlowRun(created.id)
        yield* client.heartbeat(ref)
        const after = yield* client.readFlowRun(created.id)
        expect(after.heartbeat_time).toBeInstanceOf(Date)
        expect(after.heartbeat_time!.getTime()).toBeGreaterThanOrEqual(before.state!.timestamp.getTime())
        expect(after.updated).toEqual(before.updated)
        yield* client.proposeState(ref, States.Completed())
        yield* client.heartbeat(ref)
        expect((yield* client.readFlowRun(created.id)).heartbeat_time).toEqual(after.heartbeat_time)
        expect(yield* Effect.flip(client.heartbeat({ kind: "task_run", id: newUuid() }))).toMatchObject({ _tag: "ObjectNotFound", thing: "Task run" })
        expect(yield* Effect.flip(client.heartbeat({ kind: "flow_run", id: newUuid() }))).toMatchObject({ _tag: "ObjectNotFound", thing: "Flow run" })
      }))

    it.effect("with a 20 ms interval, a 150 ms task run and its flow run record heartbeats while Running", () =>
      Effect.gen(function*() {
        const state = yield* flow({ name: "hb-long" }, () => nap(150)()).run()
        expect(state.type).toBe("COMPLETED")
        const client = yield* OrionClient
        const flowRun = yield* client.readFlowRun(flowRunIdOf(state))
        const [taskRun] = yield* taskRunsOf(flowRun.id)
        for (const run of [flowRun, taskRun!]) {
          expect(run.heartbeat_time).toBeInstanceOf(Date)
          expect(run.heartbeat_time!.getTime()).toBeGreaterThan(run.start_time!.getTime())
          expect(run.heartbeat_time!.getTime()).toBeLessThanOrEqual(run.end_time!.getTime())
        }
        // Heartbeats stopped with the run: none lands after it ended.
        yield* Effect.sleep("60 millis")
        expect((yield* client.readTaskRun(taskRun!.id)).heartbeat_time).toEqual(taskRun!.heartbeat_time)
      }))
  })

  it.live("with the default 30 s interval, a short run records no heartbeat", () =>
    Effect.gen(function*() {
      const state = yield* flow({ name: "hb-default" }, () => nap(30)()).run()
      const [taskRun] = yield* taskRunsOf(flowRunIdOf(state))
      expect(taskRun!.state_type).toBe("COMPLETED")
      expect(taskRun!.heartbeat_time).toBeNull()
    }).pipe(Effect.provide(sdkLayer(db))))

  it.live("ORION_HEARTBEAT_INTERVAL sets the interval (seconds) when the services layer is built", () =>
    Effect.gen(function*() {
      const state = yield* flow({ name: "hb-setting" }, () => nap(120)()).run()
      const [taskRun] = yield* taskRunsOf(flowRunIdOf(state))
      expect(taskRun!.heartbeat_time).toBeInstanceOf(Date)
    }).pipe(
      Effect.provide(sdkLayer(db)),
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["ORION_HEARTBEAT_INTERVAL", "0.02"]])))
    ))

  it.live("a run whose heartbeat is never answered does not hold up the heartbeats of another run in the process", () =>
    Effect.gen(function*() {
      const hanging = Layer.effect(OrionClient, Effect.map(OrionClient, (client) => ({ ...client, heartbeat: () => Effect.never })))
      const hung = yield* Effect.fork(flow({ name: "hb-hung" }, () => nap(300)()).run().pipe(Effect.provide(hanging)))
      const state = yield* flow({ name: "hb-beside-hung" }, () => nap(150)()).run()
      const [taskRun] = yield* taskRunsOf(flowRunIdOf(state))
      expect(taskRun!.heartbeat_time).toBeInstanceOf(Date)
      expect((yield* Fiber.join(hung)).type).toBe("COMPLETED")
    }).pipe(Effect.provide(sdkLayer(db, { heartbeatInterval: "20 millis" }))))

  it.live("heartbeats that fail are logged and ignored: the run completes", () =>
    Effect.gen(function*() {
      let attempts = 0
      const failing = Layer.effect(OrionClient, Effect.map(OrionClient, (client) => ({
        ...client,
        heartbeat: () => Effect.suspend(() => {
          attempts++
          return Effect.fail(new OrionUnavailable({ message: "heartbeats are down" }))
        })
      })))
      const state = yield* flow({ name: "hb-failing" }, () => nap(120)()).run().pipe(Effect.provide(failing))
      expect(state.type).toBe("COMPLETED")
      expect(attempts).toBeGreaterThanOrEqual(2)
    }).pipe(Effect.provide(sdkLayer(db, { heartbeatInterval: "20 millis" }))))
})
