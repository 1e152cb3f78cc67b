/**
 * The supervisor: a service that dies is restarted with back-off and its status shows the restarts and the last error;
 * what a service reports shows at once; closing the scope stops every service; GET /api/admin/services over real HTTP.
 */
import { describe, expect, it, layer } from "@effect/vitest"
import { Duration, Effect, Layer, Ref, Scope, Exit } from "effect"
import type { ServiceStatus } from "../../src/domain/service-status.js"
import { onDatabase, serverLayer } from "../../src/api/server.js"
import type { Service } from "../../services/service.js"
import { backoffMillis, layer as supervisorLayer, supervise } from "../../services/supervisor.js"
import { baseUrl, call } from "../api/harness.js"
import { databases, tempDir } from "../support/databases.js"

/** Polls `read` until `done` holds of what it answers (at most ~10 s), then answers it. */
const until = <A, R>(read: Effect.Effect<A, never, R>, done: (a: A) => boolean) =>
  Effect.gen(function*() {
    for (let i = 0; i < 1000; i++) {
      const a = yield* read
      if (done(a)) return a
      yield* Effect.sleep("10 millis")
    }
    throw new Error("the condition never held")
  })

const byName = (all: ReadonlyArray<ServiceStatus>, name: string) => all.find((s) => s.name === name)!

/** A service that dies `deaths` times (a defect), then runs, reporting one loop, a next due time and an error. */
const flaky = (deaths: number, runs: Ref.Ref<number>): Service => ({
  name: "flaky",
  description: "dies a few times, then runs",
  run: (report) =>
    Effect.gen(function*() {
      const n = yield* Ref.updateAndGet(runs, (k) => k + 1)
      if (n <= deaths) return yield* Effect.die(new Error(`boom ${n}`))
      yield* report.loopDone(7)
      yield* report.nextDue(new Date("2030-01-01T00:00:00Z"))
      yield* report.error("one deployment was bad")
      return yield* Effect.never
    })
})

describe("the supervisor", () => {
  it("back-off doubles from the initial wait up to the cap", () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => backoffMillis(n, 1000, 30_000))).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000])
    expect(backoffMillis(500, 1000, 60_000)).toBe(60_000)
  })

  it.live("restarts a service that died, with its restarts and last error in its status; reports show at once", () =>
    Effect.gen(function*() {
      const runs = yield* Ref.make(0)
      const scope = yield* Scope.make()
      const statuses = yield* Scope.extend(supervise([flaky(2, runs)], { initialBackoff: "20 millis", maxBackoff: "1 second" }), scope)
      const running = yield* until(statuses.read, (all) => byName(all, "flaky").last_loop !== null)
      const status = byName(running, "flaky")
      expect(yield* Ref.get(runs)).toBe(3)
      expect(status).toMatchObject({
        name: "flaky", description: "dies a few times, then runs", state: "running", restarts: 2,
        last_loop_ms: 7, next_due: new Date("2030-01-01T00:00:00Z"), last_error: "one deployment was bad"
      })
      expect(status.started).toBeInstanceOf(Date)
      expect(status.last_error_time).toBeInstanceOf(Date)
      yield* Scope.close(scope, Exit.void)
      expect(byName(yield* statuses.read, "flaky")).toMatchObject({ state: "stopped", next_due: null, restarts: 2 })
      expect(yield* Ref.get(runs)).toBe(3)
    }))

  it.live("while it waits to restart, a service is 'restarting' with the defect as last error and its restart time as next due", () =>
    Effect.gen(function*() {
      const runs = yield* Ref.make(0)
      const statuses = yield* supervise([flaky(1, runs)], { initialBackoff: "1 hour", maxBackoff: "2 hours" })
      const waiting = byName(yield* until(statuses.read, (all) => byName(all, "flaky").restarts === 1), "flaky")
      expect(waiting.state).toBe("restarting")
      expect(waiting.last_error).toContain("boom 1")
      expect(waiting.next_due!.getTime() - waiting.last_error_time!.getTime()).toBe(Duration.toMillis("1 hour"))
    }).pipe(Effect.scoped))
})

for (const db of databases) {
  const idle: Service = { name: "idle", description: "waits", run: (report) => Effect.zipRight(report.nextDue(null), Effect.never) }
  const withServices = onDatabase(
    serverLayer({ host: "127.0.0.1", port: 0, dataDir: tempDir("orion-data-"), services: { enabled: true, running: ["idle"] } })
      .pipe(Layer.provide(supervisorLayer([idle]))),
    db.layer()
  )
  layer(withServices, { excludeTestServices: true })(`GET /api/admin/services on '${db.name}'`, (it) => {
    it.effect("lists each service with its status", () =>
      Effect.gen(function*() {
        const reply = yield* until(call("GET", "/api/admin/services"), (r) => r.json?.[0]?.state === "running")
        expect(reply.status).toBe(200)
        expect(reply.json).toEqual([{
          name: "idle", description: "waits", state: "running", started: expect.stringMatching(/\+00:00$/),
          last_loop: null, last_loop_ms: null, last_error: null, last_error_time: null, next_due: null, restarts: 0
        }])
        expect(yield* baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      }))
  })

  layer(onDatabase(serverLayer({ host: "127.0.0.1", port: 0, dataDir: tempDir("orion-data-") }), db.layer()), { excludeTestServices: true })(
    `GET /api/admin/services without services on '${db.name}'`,
    (it) => {
      it.effect("is an empty list", () =>
        Effect.gen(function*() {
          const reply = yield* call("GET", "/api/admin/services")
          expect(reply.status).toBe(200)
          expect(reply.json).toEqual([])
        }))
    }
  )
}
