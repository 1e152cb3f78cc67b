/**
 * Permits, `count` of them, each held by one holder at a time: taken by an Effect that waits its turn (the longest
 * waiter is handed the next one given back), or — on hot paths that must not wait — at once when one is free
 * (`tryTake`), so code that runs synchronously can hold one without a single Effect step. One permit is a lock (the
 * SQLite connection, the event order); many are a concurrency limit (a task runner's slots). Cheaper than a
 * Semaphore on paths taken once per statement or task run, and `release` is a plain call a fiber's observer can make.
 */
import { Effect } from "effect"

export class Permits {
  private free: number
  /** Waiters in arrival order; `release` hands the permit straight to the first. */
  private readonly waiters: Array<() => void> = []

  constructor(count = 1) {
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`Permits: the count must be a whole number ≥ 1; got ${count}`)
    this.free = count
  }

  /** Takes a permit if one is free; false, changing nothing, if none is. */
  tryTake(): boolean {
    if (this.free === 0) return false
    this.free--
    return true
  }

  /** Gives a permit back: to the longest waiter, if any, else it becomes free. */
  readonly release = (): void => {
    const next = this.waiters.shift()
    if (next !== undefined) next()
    else this.free++
  }

  /** Waits for a permit and takes it; a wait that is interrupted leaves the line (or gives back a permit just handed over). */
  readonly take: Effect.Effect<void> = Effect.suspend(() => {
    if (this.tryTake()) return Effect.void
    return Effect.async<void>((resume) => {
      let handed = false
      const wake = () => {
        handed = true
        resume(Effect.void)
      }
      this.waiters.push(wake)
      return Effect.sync(() => {
        if (handed) this.release()
        else this.waiters.splice(this.waiters.indexOf(wake), 1)
      })
    })
  })

  /** Runs `effect` holding a permit, given back however it ends. */
  withPermit<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> {
    return Effect.uninterruptibleMask((restore) =>
      Effect.zipRight(restore(this.take), Effect.ensuring(restore(effect), Effect.sync(this.release))))
  }
}
