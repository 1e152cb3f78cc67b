/**
 * A lock held by one holder at a time: taken by an Effect that waits its turn, or — on hot paths that must not wait —
 * at once when free (`tryTake`), so code that runs synchronously can hold it without a single Effect step.
 */
import { Effect } from "effect"

export class Lock {
  private held = false
  /** Waiters in arrival order; `release` hands the lock straight to the first. */
  private readonly waiters: Array<() => void> = []

  /** Takes the lock if it is free; false, changing nothing, if it is held. */
  tryTake(): boolean {
    if (this.held) return false
    this.held = true
    return true
  }

  /** Gives the lock back: to the longest waiter, if any, else it becomes free. */
  release(): void {
    const next = this.waiters.shift()
    if (next !== undefined) next()
    else this.held = false
  }

  /** Waits for the lock and takes it; a wait that is interrupted leaves the line (or gives back a lock just handed over). */
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

  /** Runs `effect` holding the lock, released however it ends. */
  withLock<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> {
    return Effect.uninterruptibleMask((restore) =>
      Effect.zipRight(restore(this.take), Effect.ensuring(restore(effect), Effect.sync(() => this.release()))))
  }
}
