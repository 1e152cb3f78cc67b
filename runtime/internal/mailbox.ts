/**
 * An actor's mailbox: many senders, one reader that takes everything waiting at once. A plain array, not a linked
 * list: a linked queue's taken nodes keep pointing at the nodes after them, and once one of them has been promoted
 * to the old generation, every later message stays reachable to the young-generation collector, is promoted in turn
 * and is freed only by a full collection — a steady leak into the old generation under load.
 */
import { Effect } from "effect"

export interface Mailbox<A> {
  /** Adds a message; false once the mailbox is closed. */
  readonly offer: (message: A) => boolean
  /** Waits until at least one message is there, then takes up to `max` of them, oldest first. */
  readonly takeUpTo: (max: number) => Effect.Effect<Array<A>>
  /**
   * `takeUpTo`, but giving up when `deadline` fires first: then an empty array. `deadline` arms a one-shot callback and
   * answers how to disarm it.
   */
  readonly takeBefore: (max: number, deadline: (fire: () => void) => () => void) => Effect.Effect<Array<A>>
  /** Takes up to `max` of the messages waiting now (perhaps none), oldest first. */
  readonly poll: (max: number) => Array<A>
  /** Refuses further messages and returns those still waiting. */
  readonly close: () => Array<A>
}

export const make = <A>(): Mailbox<A> => {
  let waiting: Array<A> = []
  let wake: (() => void) | undefined
  let closed = false

  const take = (max: number): Array<A> => {
    if (waiting.length <= max) {
      const all = waiting
      waiting = []
      return all
    }
    return waiting.splice(0, max)
  }

  return {
    offer: (message) => {
      if (closed) return false
      waiting.push(message)
      if (wake !== undefined) {
        const resume = wake
        wake = undefined
        resume()
      }
      return true
    },
    takeUpTo: (max) =>
      Effect.suspend(() =>
        waiting.length > 0 ? Effect.succeed(take(max)) : Effect.async<Array<A>>((resume) => {
          wake = () => resume(Effect.sync(() => take(max)))
          return Effect.sync(() => {
            wake = undefined
          })
        })
      ),
    takeBefore: (max, deadline) =>
      Effect.suspend(() =>
        waiting.length > 0 ? Effect.succeed(take(max)) : Effect.async<Array<A>>((resume) => {
          const disarm = deadline(() => {
            wake = undefined
            resume(Effect.succeed([]))
          })
          wake = () => {
            disarm()
            resume(Effect.sync(() => take(max)))
          }
          return Effect.sync(() => {
            wake = undefined
            disarm()
          })
        })
      ),
    poll: take,
    close: () => {
      closed = true
      return take(Number.POSITIVE_INFINITY)
    }
  }
}
