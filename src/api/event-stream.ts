/**
 * The live event stream served as Server-Sent Events: missed events replayed from the `event` table after a
 * `Last-Event-ID`, then live events from the bus, keep-alive pings, and an end on shutdown or when a client lags.
 */
import * as HttpServer from "@effect/platform/HttpServer"
import type { SqlClient } from "@effect/sql"
import { Chunk, Config, Deferred, Effect, Fiber, Layer, Option, Schedule, Schema, Stream } from "effect"
import { EventBus } from "../../runtime/event-bus.js"
import { OrionEvent } from "../domain/index.js"
import type { Database } from "../storage/database.js"
import { latestEventId, readEventsAfter } from "../storage/event-log.js"

/** The services an event stream runs on. */
export type EventStreamContext = EventBus | SqlClient.SqlClient | Database | ShutdownSignal

/** How long shutdown lets open streams end by themselves before it interrupts the fibers writing them out. */
const SHUTDOWN_GRACE = "1 second"

/** A fiber consuming an event stream, and whether that stream has ended. */
interface Writer {
  readonly fiber: Fiber.RuntimeFiber<unknown, unknown>
  readonly ended: Deferred.Deferred<void>
}

const makeSignal = Effect.gen(function*() {
  const signal = yield* Deferred.make<void>()
  const writers = new Set<Writer>()

  /** Registers the current fiber as the consumer of a stream until the enclosing scope (the stream) ends. */
  const track = Effect.acquireRelease(
    Effect.withFiberRuntime<Writer>((fiber) => Effect.map(Deferred.make<void>(), (ended) => ({ fiber, ended }))),
    (w) => Effect.zipRight(Effect.sync(() => writers.delete(w)), Deferred.succeed(w.ended, undefined))
  ).pipe(Effect.tap((w) => Effect.sync(() => writers.add(w))))

  /**
   * Ends every stream and waits until their responses are finished, so that `server.close()` finds the connections
   * idle. A stream whose writer is stuck on a client that stopped reading cannot notice the signal: its fiber is
   * interrupted after the grace period.
   */
  const shutdown = Effect.withFiberRuntime<void>((self) =>
    Effect.gen(function*() {
      yield* Deferred.succeed(signal, undefined)
      const open = [...writers].filter((w) => w.fiber !== self)
      // Finalizers run uninterruptibly; the waits are made interruptible so that their timeouts can cut them short.
      yield* Effect.forEach(open, (w) => Deferred.await(w.ended), { concurrency: "unbounded", discard: true }).pipe(
        Effect.interruptible, Effect.timeout(SHUTDOWN_GRACE), Effect.ignore)
      const stuck = yield* Effect.filter(open, (w) => Effect.map(Deferred.isDone(w.ended), (done) => !done))
      yield* Effect.forEach(stuck, (w) => Fiber.interruptFork(w.fiber), { discard: true })
      // A request fiber finishes its response right after the stream ends (or is interrupted).
      yield* Effect.forEach(open, (w) => Fiber.await(w.fiber), { concurrency: "unbounded", discard: true }).pipe(
        Effect.interruptible, Effect.timeout(stuck.length > 0 ? SHUTDOWN_GRACE : "100 millis"), Effect.ignore)
    })
  )
  yield* Effect.addFinalizer(() => shutdown)
  return { signal, shutdown, track }
})

/**
 * Ends the open event streams when the server begins to shut down, so that `server.close()` need not wait for them.
 * `Default` needs the `HttpServer` and is therefore released before the server closes; `layerTest` stands alone
 * (tests end the streams with `shutdown` or by releasing the layer).
 */
export class ShutdownSignal extends Effect.Service<ShutdownSignal>()("orion/ShutdownSignal", {
  scoped: Effect.zipRight(HttpServer.HttpServer, makeSignal)
}) {
  static readonly layerTest: Layer.Layer<ShutdownSignal> = Layer.scoped(ShutdownSignal, Effect.map(makeSignal, (signal) => ShutdownSignal.make(signal)))
}

/** Seconds between keep-alive comments (fractions allowed). */
const keepAliveSeconds = Config.number("ORION_SSE_KEEPALIVE_SECONDS").pipe(Config.withDefault(15))
/** Unread live events a client may fall behind by before it is told to resync from the table. */
const bufferEvents = Config.integer("ORION_SSE_BUFFER_EVENTS").pipe(Config.withDefault(1000))
/** Events read from the table per replay query. */
const REPLAY_PAGE = 500

const encoder = new TextEncoder()
const encodeEvent = Schema.encodeSync(OrionEvent)
const frame = (id: number | null, event: string, data: unknown) =>
  encoder.encode(`${id === null ? "" : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
const eventFrame = (e: OrionEvent) => frame(e.id, e.event, encodeEvent(e))
const ping = encoder.encode(": ping\n\n")

/**
 * The byte stream of one SSE client. It subscribes before reading the table, so every event is either replayed or
 * live (live events at or below the last replayed id are dropped); with `flowRunId` it carries that run's events only.
 */
export const eventStream = (options: {
  readonly lastEventId: Option.Option<number>
  readonly flowRunId: Option.Option<string>
}): Effect.Effect<Stream.Stream<Uint8Array>, never, EventStreamContext> =>
  Effect.gen(function*() {
    const context = yield* Effect.context<EventStreamContext>()
    const { signal, track } = yield* ShutdownSignal
    const keepAlive = yield* Effect.orDie(keepAliveSeconds)
    const capacity = yield* Effect.orDie(bufferEvents)
    const matches = Option.match(options.flowRunId, {
      onNone: () => (_: OrionEvent) => true,
      onSome: (id) => (e: OrionEvent) => e.flow_run_id === id
    })

    const events = Stream.unwrapScoped(Effect.gen(function*() {
      const bus = yield* EventBus
      const subscription = yield* bus.subscribeBounded(capacity)
      let last = 0

      const hello = (newest: number) => {
        last = newest
        return Stream.make(frame(newest, "hello", { last_event_id: newest }))
      }
      const replay = (after: number) => {
        last = after
        return Stream.paginateChunkEffect(after, (from) =>
            Effect.map(Effect.orDie(readEventsAfter(from, REPLAY_PAGE, options.flowRunId)), (page) => {
              const end = page.at(-1)?.id ?? from
              last = Math.max(last, end)
              return [Chunk.unsafeFromArray(page.map(eventFrame)), page.length < REPLAY_PAGE ? Option.none() : Option.some(end)] as const
            }))
      }
      const newest = yield* Effect.orDie(latestEventId)
      // An id beyond the newest comes from before a database reset: that client starts afresh.
      const start = Option.isSome(options.lastEventId) && options.lastEventId.value <= newest
        ? replay(options.lastEventId.value)
        : hello(newest)

      const live = Stream.repeatEffectChunk(Effect.map(subscription.next, (batch) => {
        const out: Array<Uint8Array> = []
        for (const e of batch) {
          if (e.id <= last) continue
          last = e.id
          if (matches(e)) out.push(eventFrame(e))
        }
        return Chunk.unsafeFromArray(out)
      })).pipe(
        Stream.catchTag("SubscriberOverflow", () => Stream.make(frame(null, "resync", { last_event_id: last })))
      )
      return Stream.concat(start, live)
    }))

    const pings = Stream.fromSchedule(Schedule.spaced(`${Math.round(keepAlive * 1000)} millis`)).pipe(Stream.as(ping))
    const body = Stream.merge(events, pings, { haltStrategy: "left" }).pipe(Stream.interruptWhenDeferred(signal))
    // Outermost, so that `track` runs on the fiber consuming the stream (the request's), not on a merge's fork.
    return Stream.unwrapScoped(Effect.as(track, body)).pipe(Stream.provideContext(context))
  })
