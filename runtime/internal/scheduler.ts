/**
 * The scheduler flows run on: Effect's default — ready fibers run in a microtask, with a timer turn after 2,048 such
 * turns in a row, so timers and I/O are not starved — but with one queue for every fiber, as Effect had it before 3.20.
 * Effect 3.20's default gives each fiber a queue and a promise of its own, kept in a weak map: with a fiber per task
 * run, one more runner, promise and weak entry per run and wake-up, ~10 % of a concurrent flow of quick tasks.
 */
import { Effect, Scheduler } from "effect"

/** Microtask turns in a row before a timer turn (Effect's default). */
const maxMicrotaskTurns = 2048

const runner = new Scheduler.SchedulerRunner((depth, drain) => {
  if (depth >= maxMicrotaskTurns) setTimeout(() => drain(0), 0)
  else Promise.resolve(undefined).then(() => drain(depth + 1))
})

export const flowScheduler: Scheduler.Scheduler = Scheduler.make((task, priority) => runner.scheduleTask(task, priority))

/** Runs `effect`, and the fibers it starts, on `flowScheduler`. */
export const onFlowScheduler = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => Effect.withScheduler(effect, flowScheduler)
