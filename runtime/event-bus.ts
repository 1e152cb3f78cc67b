/** The in-process event bus: every committed domain event, in id order, for live subscribers (SSE, UI, tests). */
import { Context, Effect, Layer, PubSub, type Queue, type Scope } from "effect"
import type { OrionEvent } from "../src/domain/index.js"

export class EventBus extends Context.Tag("orion/EventBus")<EventBus, {
  readonly publish: (events: ReadonlyArray<OrionEvent>) => Effect.Effect<void>
  /** A subscription that sees every event published after it was taken. */
  readonly subscribe: Effect.Effect<Queue.Dequeue<OrionEvent>, never, Scope.Scope>
}>() {
  static readonly layer = Layer.scoped(EventBus, Effect.gen(function*() {
    const pubsub = yield* Effect.acquireRelease(PubSub.unbounded<OrionEvent>(), PubSub.shutdown)
    return {
      publish: (events) => (events.length === 0 ? Effect.void : Effect.asVoid(PubSub.publishAll(pubsub, events))),
      subscribe: PubSub.subscribe(pubsub)
    }
  }))
}
