/** Task runners as seen from a flow: sequential runs one task run at a time in call order; concurrent respects its limit. */
import { describe, expect, it, layer } from "@effect/vitest"
import { Effect } from "effect"
import { concurrent, flow, parallel, sequential, task } from "../../src/index.js"
import { databases } from "../support/databases.js"
import { sdkLayer } from "../support/sdk.js"

/** A task whose body takes `ms`, recording when each call started and ended and how many bodies ran at once. */
const timedTask = (name: string, ms: number) => {
  const spans: Array<{ readonly i: number; readonly start: number; end?: number }> = []
  let running = 0
  let maxRunning = 0
  const t = task({ name }, async (i: number) => {
    const span: { i: number; start: number; end?: number } = { i, start: performance.now() }
    spans.push(span)
    maxRunning = Math.max(maxRunning, ++running)
    await new Promise((r) => setTimeout(r, ms))
    running--
    span.end = performance.now()
    return i
  })
  return { t, spans, maxRunning: () => maxRunning }
}

describe("task runner options", () => {
  it("a limit or worker count that is not a whole number ≥ 1 is a clear error when the runner is made", () => {
    expect(() => concurrent({ limit: 0 })).toThrow("concurrent({ limit }): limit must be a whole number ≥ 1, got 0")
    expect(() => concurrent({ limit: Number.NaN })).toThrow("got NaN")
    expect(() => parallel({ workers: 1.5 })).toThrow("parallel({ workers }): workers must be a whole number ≥ 1, got 1.5")
    expect(() => parallel({ abortGrace: "soon" as never })).toThrow('parallel({ abortGrace }): abortGrace must be a duration')
    expect(parallel({ workers: 2, abortGrace: "2 seconds" }).name).toBe("parallel(workers=2)")
    expect(concurrent({ limit: 3 }).name).toBe("concurrent(limit=3)")
  })
})

describe.each(databases)("task runners on $name", (db) => {
  layer(sdkLayer(db), { excludeTestServices: true })((it) => {
    it.effect("sequential: each task run ends before the next starts, in the order they were submitted", () =>
      Effect.gen(function*() {
        const { t, spans, maxRunning } = timedTask("in-order", 10)
        const f = flow({ name: "sequential-flow", taskRunner: sequential() }, () =>
          Effect.gen(function*() {
            const futures = []
            for (let i = 0; i < 5; i++) futures.push(yield* t.submit(i))
            return yield* Effect.forEach(futures, (f) => f.result())
          }))
        expect(yield* f()).toEqual([0, 1, 2, 3, 4])
        expect(spans.map((s) => s.i)).toEqual([0, 1, 2, 3, 4])
        for (let k = 1; k < spans.length; k++) expect(spans[k]!.start).toBeGreaterThanOrEqual(spans[k - 1]!.end!)
        expect(maxRunning()).toBe(1)
      }))

    it.effect("sequential: a failing body's retry runs before the next task run starts; the next starts once a body has completed", () =>
      Effect.gen(function*() {
        const events: Array<string> = []
        let running = 0
        let maxRunning = 0
        const attempts = new Map<number, number>()
        const flaky = task({ name: "seq-flaky", retries: 1, retryDelay: 0 }, async (i: number) => {
          const attempt = (attempts.get(i) ?? 0) + 1
          attempts.set(i, attempt)
          maxRunning = Math.max(maxRunning, ++running)
          events.push(`start ${i}.${attempt}`)
          await new Promise((r) => setTimeout(r, 5))
          events.push(`end ${i}.${attempt}`)
          running--
          if (i === 1 && attempt === 1) throw new Error("first attempt fails")
          return i
        })
        const f = flow({ name: "sequential-retry-flow", taskRunner: sequential() }, () => flaky.map([0, 1, 2]))
        expect(yield* f()).toEqual([0, 1, 2])
        expect(events).toEqual(["start 0.1", "end 0.1", "start 1.1", "end 1.1", "start 1.2", "end 1.2", "start 2.1", "end 2.1"])
        expect(maxRunning).toBe(1)
      }))

    it.effect("concurrent with a limit: at most that many task bodies run at once, and they do overlap", () =>
      Effect.gen(function*() {
        const { t, spans, maxRunning } = timedTask("limited", 100)
        const f = flow({ name: "limited-flow", taskRunner: concurrent({ limit: 2 }) }, () => t.map([0, 1, 2, 3, 4, 5]))
        expect(yield* f()).toEqual([0, 1, 2, 3, 4, 5])
        expect(spans).toHaveLength(6)
        expect(maxRunning()).toBe(2)
      }))

    it.effect("concurrent with a limit holds back submits beyond it until a run ends (bounded memory), without deadlock on upstream runs", () =>
      Effect.gen(function*() {
        let release!: () => void
        const gate = new Promise<void>((r) => (release = r))
        const held = task({ name: "held" }, async (i: number) => {
          await gate
          return i
        })
        const plus = task({ name: "plus" }, (a: number, b: number) => a + b)
        const events: Array<string> = []
        const f = flow({ name: "held-back", taskRunner: concurrent({ limit: 2 }) }, async () => {
          const a = await held.submit(1)
          const b = await held.submit(2)
          events.push("two submitted")
          setTimeout(() => {
            events.push("released")
            release()
          }, 200)
          const c = await plus.submit(a, b) // waits for a slot: only after the held runs end
          events.push("third submitted")
          return c.result()
        })
        expect(yield* f()).toBe(3)
        expect(events).toEqual(["two submitted", "released", "third submitted"])
      }))

    it.effect("the default runner runs independent task runs side by side", () =>
      Effect.gen(function*() {
        const { t, maxRunning } = timedTask("side-by-side", 150)
        expect(yield* flow({ name: "default-runner" }, () => t.map([0, 1, 2, 3]))()).toEqual([0, 1, 2, 3])
        expect(maxRunning()).toBe(4)
      }))

    it.effect.each(["sequential", "concurrent"] as const)("a %s flow of quick tasks leaves the event loop turning: timers fire while it runs", (runner) =>
      Effect.gen(function*() {
        // Nothing to store, no I/O of its own: only the orchestrator's work between one task run and the next.
        const quick = task({ name: `quick-${runner}` }, (_i: number) => Effect.void)
        const many = flow({ name: `quick-tasks-${runner}`, taskRunner: runner === "sequential" ? sequential() : concurrent() }, ({ n }: { n: number }) =>
          Effect.asVoid(quick.map(Array.from({ length: n }, (_, i) => i))))
        yield* many({ n: 50 })
        let ticks = 0
        const timer = setInterval(() => ticks++, 5)
        const started = performance.now()
        yield* many({ n: 1500 }).pipe(Effect.ensuring(Effect.sync(() => clearInterval(timer))))
        const elapsed = performance.now() - started
        // Without the orchestrator's turns of the event loop, a flow of in-process tasks ran on microtasks alone and
        // a 5 ms timer fired about twice in a whole second-long flow.
        expect(ticks, `${ticks} ticks in ${elapsed.toFixed(0)} ms`).toBeGreaterThanOrEqual(Math.floor(elapsed / 250))
      }))
  })
})
