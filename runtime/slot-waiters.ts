/**
 * Task runs told to WAIT for a concurrency slot, queued by tag, first come first served: when a slot under a tag
 * frees, the first run waiting for one is woken at once, instead of sleeping out the WAIT's whole delay (which stays
 * the longest wait, for slots freed by another process).
 */
import { Effect, Exit } from "effect"
import { Once } from "./internal/once.js"

export class SlotWaiters {
  /** Run ids by tag, in the order they were told to wait; ids no longer waiting are skipped when reached. */
  private readonly queues = new Map<string, Array<string>>()
  /** Each waiting run's wake-up, kept once given until the run has taken it (`woken`) or moved on (`forget`). */
  private readonly wakeUps = new Map<string, Once<void>>()

  /** `runId` waits for a slot under `tag` (called once its WAIT is committed, before it is answered). */
  wait(runId: string, tag: string) {
    if (this.wakeUps.get(runId)?.poll() !== undefined) this.wakeUps.delete(runId)
    if (!this.wakeUps.has(runId)) this.wakeUps.set(runId, new Once<void>())
    let queue = this.queues.get(tag)
    if (queue === undefined) this.queues.set(tag, queue = [])
    if (!queue.includes(runId)) queue.push(runId)
  }

  /** A slot under `tag` is free: wakes the first run still waiting for one. */
  freed(tag: string) {
    const queue = this.queues.get(tag)
    while (queue !== undefined && queue.length > 0) {
      const wakeUp = this.wakeUps.get(queue.shift()!)
      if (wakeUp !== undefined && wakeUp.complete(Exit.void)) break
    }
    if (queue?.length === 0) this.queues.delete(tag)
  }

  /** The run has moved on (its next proposal was answered otherwise than WAIT): it waits for nothing. */
  forget(runId: string) {
    this.wakeUps.delete(runId)
  }

  /** Resumes when `runId` is woken (at once if it was already); never, if it waits for no slot. */
  woken(runId: string): Effect.Effect<void> {
    return Effect.suspend(() => {
      const wakeUp = this.wakeUps.get(runId)
      return wakeUp === undefined ? Effect.never : Effect.ensuring(wakeUp.await, Effect.sync(() => {
        if (this.wakeUps.get(runId) === wakeUp && wakeUp.poll() !== undefined) this.wakeUps.delete(runId)
      }))
    })
  }
}
