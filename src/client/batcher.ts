/**
 * Coalesces calls made at about the same time into one request: calls queue up, and each of `senders` fibers takes
 * whatever has queued (within `maxItems` and `maxWeight`) and sends it as one batch. An idle client sends a lone
 * call at once, so batching costs no latency; under load, each request carries many calls.
 */
import { Effect, type Either, Exit, FiberId, Option, Queue, type Scope, Tracer } from "effect"
import { Once } from "../../runtime/internal/once.js"
import { tracerInstalled } from "../../runtime/internal/tracing.js"

export interface BatcherOptions<I, O, E> {
  /** Sends a batch; answers one outcome per item, in order. A failure fails every item of the batch. */
  readonly send: (items: ReadonlyArray<I>) => Effect.Effect<ReadonlyArray<Either.Either<O, E>>, E>
  readonly maxItems: number
  /** A batch's items weigh at most this much together (unless one item alone weighs more). */
  readonly maxWeight: number
  readonly weight: (item: I) => number
  /** Batches in flight at once. */
  readonly senders: number
}

interface Pending<I, O, E> {
  readonly item: I
  readonly weight: number
  readonly reply: Once<O, E>
  /** The caller's span, when tracing: the batch's request continues the first one's trace and links the others. */
  readonly span?: Tracer.AnySpan | undefined
}

/** A function that makes one call through the batcher; the batcher stops with the scope. */
export const make = <I, O, E>(options: BatcherOptions<I, O, E>): Effect.Effect<(item: I) => Effect.Effect<O, E>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const queue: Queue.Queue<Pending<I, O, E>> = yield* Effect.acquireRelease(Queue.unbounded<Pending<I, O, E>>(), (q) => Queue.shutdown(q))
    // An item taken that did not fit the batch before: it opens the next one.
    let carried: Pending<I, O, E> | undefined

    const nextBatch = Effect.gen(function*() {
      const batch: Array<Pending<I, O, E>> = []
      let weight = 0
      const add = (p: Pending<I, O, E>) => {
        if (batch.length > 0 && (batch.length >= options.maxItems || weight + p.weight > options.maxWeight)) return false
        batch.push(p)
        weight += p.weight
        return true
      }
      if (carried !== undefined) {
        add(carried)
        carried = undefined
      } else {
        add(yield* Queue.take(queue))
      }
      while (carried === undefined && batch.length < options.maxItems) {
        const taken = yield* Queue.poll(queue)
        if (taken._tag === "None") break
        if (!add(taken.value)) carried = taken.value
      }
      return batch
    })

    /** The send, in the trace of the batch's first traced caller, linked to the other callers' spans. */
    const traced = (batch: ReadonlyArray<Pending<I, O, E>>, send: Effect.Effect<ReadonlyArray<Either.Either<O, E>>, E>) => {
      const spans = [...new Set(batch.flatMap((p) => p.span === undefined ? [] : [p.span]))]
      if (spans.length === 0) return send
      const [first, ...others] = spans
      return Effect.withParentSpan(others.reduce((linked, span) => Effect.linkSpans(linked, span), send), first!)
    }

    const sendBatch = (batch: ReadonlyArray<Pending<I, O, E>>) =>
      Effect.exit(traced(batch, options.send(batch.map((p) => p.item)))).pipe(
        Effect.onInterrupt(() => Effect.sync(() => batch.forEach((p) => p.reply.complete(Exit.interrupt(FiberId.none))))),
        Effect.flatMap((exit) =>
          Effect.sync(() =>
            batch.forEach((p, i) => {
              if (exit._tag === "Failure") return p.reply.complete(Exit.failCause(exit.cause))
              const outcome = exit.value[i]
              if (outcome === undefined) return p.reply.complete(Exit.die(new Error(`the batch was answered with ${exit.value.length} outcomes for ${batch.length} items`)))
              return p.reply.complete(outcome._tag === "Right" ? Exit.succeed(outcome.right) : Exit.fail(outcome.left))
            })
          ))
      )

    for (let i = 0; i < options.senders; i++) {
      yield* Effect.forkScoped(Effect.forever(Effect.flatMap(nextBatch, sendBatch)))
    }

    return (item: I) =>
      Effect.suspend(() => {
        const reply = new Once<O, E>()
        const offer = (span: Tracer.AnySpan | undefined) => Effect.zipRight(Queue.offer(queue, { item, weight: options.weight(item), reply, span }), reply.await)
        return tracerInstalled() ? Effect.flatMap(Effect.serviceOption(Tracer.ParentSpan), (span) => offer(Option.getOrUndefined(span))) : offer(undefined)
      })
  })
