/**
 * The late-runs service (spec §5.3, fixed comparison): a run still "Scheduled" more than the setting after its time
 * becomes Late through the orchestrator (a recorded decision of the rules); runs not yet due, AwaitingRetry, already
 * Late or started are left alone — also one started between the pass's read and its proposal.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { States, type Uuid } from "../../src/domain/index.js"
import { Repositories, RunRepository } from "../../src/storage/repositories/index.js"
import { markLateAt } from "../../services/late-runs.js"
import { databases } from "../support/databases.js"
import { clearDatabase } from "../support/fixtures.js"
import { newFlowRun, orchestratorLayer, propose } from "../support/orchestrator.js"

const now = new Date("2030-01-01T12:00:00.000Z")
const ago = (s: number) => new Date(now.getTime() - s * 1000)
const settings = { loopSeconds: 5, afterSeconds: 5, batchSize: 2 }

describe.each(databases)("late runs on $name", (db) => {
  layer(Layer.provideMerge(Repositories, orchestratorLayer(db)), { excludeTestServices: true })((it) => {
    it.effect("marks Scheduled runs more than 5 s past their time Late, a decision on record, and nothing else", () =>
      Effect.gen(function*() {
        yield* clearDatabase
        const scheduled = (at: Date) => newFlowRun({ state: States.Scheduled({ scheduledTime: at }) })
        const late = yield* Effect.all([scheduled(ago(6)), scheduled(ago(60)), scheduled(ago(3600))])
        const notYet = yield* scheduled(ago(4))
        const future = yield* scheduled(new Date(now.getTime() + 60_000))
        const retrying = yield* newFlowRun({ state: States.AwaitingRetry({ scheduledTime: ago(60) }) })
        const alreadyLate = yield* newFlowRun({ state: States.Late({ scheduledTime: ago(60) }) })
        const pending = yield* newFlowRun({ state: States.Pending() })

        // Three late runs, two to a page: the pass goes on to the second page.
        expect(yield* markLateAt(now, settings)).toBe(3)
        const runs = yield* RunRepository
        for (const [id, at] of [[late[0], ago(6)], [late[1], ago(60)], [late[2], ago(3600)]] as const) {
          const run = yield* runs.getFlowRun(id)
          expect(run.state).toMatchObject({ type: "SCHEDULED", name: "Late", state_details: { scheduled_time: at } })
          expect(run.next_scheduled_start_time).toEqual(at)
          const last = (yield* runs.readDecisions("flow_run", id)).at(-1)!
          expect(last).toMatchObject({ from_type: "SCHEDULED", proposed_name: "Late", forced: false, status: "ACCEPT", state_name: "Late" })
        }
        const nameOf = (id: Uuid) => Effect.map(runs.getFlowRun(id), (r) => r.state?.name)
        expect(yield* nameOf(notYet)).toBe("Scheduled")
        expect(yield* nameOf(future)).toBe("Scheduled")
        expect(yield* nameOf(retrying)).toBe("AwaitingRetry")
        expect(yield* nameOf(alreadyLate)).toBe("Late")
        expect(yield* nameOf(pending)).toBe("Pending")
        expect((yield* runs.readDecisions("flow_run", alreadyLate)).length).toBe(1)

        // Nothing more to do a second time; the run 4 s late becomes Late once it is more than 5 s late.
        expect(yield* markLateAt(now, settings)).toBe(0)
        expect(yield* markLateAt(new Date(now.getTime() + 1001), settings)).toBe(1)
        expect(yield* nameOf(notYet)).toBe("Late")
      }))

    it.effect("a run an agent started just before it was marked Late stays started: the rules refuse Late after Pending", () =>
      Effect.gen(function*() {
        yield* clearDatabase
        const past = new Date(Date.now() - 60_000)
        const id = yield* newFlowRun({ state: States.Scheduled({ scheduledTime: past }) })
        // The pass read the run as late; then the agent's Pending; then the pass's proposal.
        expect((yield* propose("flow_run", id, States.Pending())).status).toBe("ACCEPT")
        const late = yield* propose("flow_run", id, States.Late({ scheduledTime: past }))
        expect(late.status).toBe("ABORT")
        expect((yield* (yield* RunRepository).getFlowRun(id)).state).toMatchObject({ type: "PENDING", name: "Pending" })
        expect((yield* (yield* RunRepository).readDecisions("flow_run", id)).at(-1)).toMatchObject({ status: "ABORT", rule: "PreventRedundantTransitions" })
        // Late → Late is redundant too.
        const other = yield* newFlowRun({ state: States.Late({ scheduledTime: ago(60) }) })
        expect((yield* propose("flow_run", other, States.Late({ scheduledTime: ago(60) }))).status).toBe("ABORT")
      }))
  })
})
