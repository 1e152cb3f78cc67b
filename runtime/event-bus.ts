/** The in-process event bus: every committed domain event, in id order, for live subscribers (SSE, UI, tests). */
import { Context, Effect, Layer, Queue, type Scope } from "effect"
import type { OrionEvent } from "../src/domain/index.js"
import { EventSink } from "../src/storage/event-log.js"
import { Permits } from "./internal/permits.js"

/** Takes one published batch; false when the subscriber is to be dropped. Never waits. */
type Deliver = (events: ReadonlyArray<OrionEvent>) => boolean

export class EventBus extends Context.Tag("orion/EventBus")<EventBus, {
  /** Hands events to every subscriber without ever waiting on one. */
  readonly publish: (events: ReadonlyArray<OrionEvent>) => Effect.Effect<void>
  /** An unbounded subscription that sees every event published after it was taken (for in-process consumers that keep up). */
  readonly subscribe: Effect.Effect<Queue.Dequeue<OrionEvent>, never, Scope.Scope>
  /** Runs a transaction that appends events together with their publication, in one order for the whole process. */
  readonly sequenced: <A, E, R>(appendAndPublish: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /**
   * `sequenced` for work that runs synchronously, publishing with `publishNow`: run in this call when no sequenced
   * work is in progress, `{ value }`; undefined, without running it, when some is.
   */
  readonly sequencedNow: <A>(appendAndPublish: () => A) => { readonly value: A } | undefined
  /**
   * Takes the event order now, for sequenced work that runs in synchronous steps with waits between them (publishing
   * with `publishNow`): the function that gives it back, or undefined when sequenced work is in progress.
   */
  readonly holdNow: () => (() => void) | undefined
  /** `publish`, as a plain call. */
  readonly publishNow: (events: ReadonlyArray<OrionEvent>) => void
}>() {
  /** The bus; it also serves as the storage layer's `EventSink`. */
  static readonly layer: Layer.Layer<EventBus | EventSink> = Layer.scopedContext(Effect.gen(function*() {
    /** Each subscriber's delivery, and how to end its queue (when it leaves, or when the bus is released). */
    const subscribers = new Map<Deliver, Effect.Effect<void>>()
    const order = new Permits(1)
    yield* Effect.addFinalizer(() => Effect.forEach(subscribers.values(), (end) => end, { discard: true }))

    const publishNow = (events: ReadonlyArray<OrionEvent>) => {
      if (events.length === 0) return
      for (const deliver of subscribers.keys()) if (!deliver(events)) subscribers.delete(deliver)
    }
    const publish = (events: ReadonlyArray<OrionEvent>) => events.length === 0 ? Effect.void : Effect.sync(() => publishNow(events))

    /** Registers `deliver` for the current scope; the queue is shut down with it, ending any waiting reader. */
    const attach = <A>(queue: Queue.Queue<A>, deliver: Deliver) =>
      Effect.acquireRelease(
        Effect.sync(() => subscribers.set(deliver, Queue.shutdown(queue))),
        () => Effect.zipRight(Effect.sync(() => subscribers.delete(deliver)), Queue.shutdown(queue))
      )

    const subscribe = Effect.gen(function*() {
      const queue = yield* Queue.unbounded<OrionEvent>()
      yield* attach(queue, (events) => {
        for (const e of events) queue.unsafeOffer(e)
        return true
      })
      return queue as Queue.Dequeue<OrionEvent>
    })

    const sequenced = <A, E, R>(effect: Effect.Effect<A, E, R>) => order.withPermit(effect)
    const sequencedNow = <A>(work: () => A): { readonly value: A } | undefined => {
      if (!order.tryTake()) return undefined
      try {
        return { value: work() }
      } finally {
        order.release()
      }
    }
    const holdNow = (): (() => void) | undefined => {
      if (!order.tryTake()) return undefined
      let held = true
      return () => {
        if (held) order.release()
        held = false
      }
    }
    const bus = EventBus.of({ publish, subscribe, sequenced, sequencedNow, holdNow, publishNow })
    return Context.make(EventBus, bus).pipe(Context.add(EventSink, { publish, sequenced }))
  }))
}
