/**
 * The live event stream served as Server-Sent Events, each client a Node stream written directly (no fiber per reader
 * once live): missed events replayed from the `event` table after a `Last-Event-ID`, then the feed's packets — the same
 * bytes for every reader — keep-alive pings, and an end on shutdown or when a client falls too far behind.
 */
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import type * as SqlClient from "@effect/sql/SqlClient"
import { Config, Deferred, Effect, Fiber, Layer, Option, Runtime, Schema } from "effect"
import { Readable } from "node:stream"
import { OrionEvent } from "../domain/index.js"
import type { Database } from "../storage/database.js"
import { latestEventId, readEventsAfter } from "../storage/event-log.js"
import { EventFeed, eventFrame, frame, type Packet } from "./event-feed.js"

/** The services an event stream runs on. */
export type EventStreamContext = EventFeed | SqlClient.SqlClient | Database | ShutdownSignal

/** How long shutdown lets open streams end by themselves before it destroys those stuck on a client that stopped reading. */
const SHUTDOWN_GRACE_MS = 1000
/** Events read from the table per replay page: a page is read and encoded in a few milliseconds, then others get a turn. */
const REPLAY_PAGE = 100
/** Replay pages read at once across all streams, so that live requests never queue behind many of them for the database. */
const REPLAY_READERS = 2
/** Bytes a client may leave unread before it is told to resync, whatever the number of events. */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024

/**
 * Pages of replayed events kept for other clients replaying the same history at about the same time (after a restart,
 * say): at most this many (about 5 MB), each for a few seconds — so a page of events since deleted is not served for long.
 */
const REMEMBERED_PAGES = 128
const REMEMBERED_MS = 5000

/** A page of the event table, as frames. */
interface Page {
  readonly count: number
  readonly newest: number | undefined
  readonly bytes: Uint8Array | undefined
}

/** An open stream, as shutdown sees it. */
interface Open {
  /** Ends the stream after what it holds; `closed` resolves once its connection is done with it. */
  readonly end: () => void
  readonly destroy: () => void
  readonly closed: Promise<void>
}

const makeSignal = Effect.gen(function*() {
  const signal = yield* Deferred.make<void>()
  const replayPermits = yield* Effect.makeSemaphore(REPLAY_READERS)
  const open = new Set<Open>()
  let down = false
  const pages = new Map<string, { readonly page: Page; readonly at: number }>()

  /**
   * Ends every stream and waits until their responses are finished, so that `server.close()` finds the connections
   * idle. A stream stuck on a client that stopped reading never finishes: it is destroyed after the grace period.
   */
  const shutdown = Effect.gen(function*() {
    down = true
    yield* Deferred.succeed(signal, undefined)
    const streams = [...open]
    for (const s of streams) s.end()
    const settled = (ms: number) => Promise.race([Promise.all(streams.map((s) => s.closed)), new Promise((r) => setTimeout(r, ms))])
    yield* Effect.promise(() => settled(SHUTDOWN_GRACE_MS))
    for (const s of open) s.destroy()
    yield* Effect.promise(() => settled(100))
  })
  yield* Effect.addFinalizer(() => shutdown)
  return {
    signal,
    shutdown,
    replayPermits,
    /** A replay page read recently by another stream, if any. */
    recall: (key: string): Effect.Effect<Page> | undefined => {
      const kept = pages.get(key)
      if (kept === undefined) return undefined
      if (performance.now() - kept.at > REMEMBERED_MS) {
        pages.delete(key)
        return undefined
      }
      return Effect.succeed(kept.page)
    },
    remember: (key: string, page: Page) => {
      pages.delete(key)
      pages.set(key, { page, at: performance.now() })
      if (pages.size > REMEMBERED_PAGES) pages.delete(pages.keys().next().value!)
    },
    /** Whether the server is shutting down (a new stream then ends at once). */
    isDown: () => down,
    register: (s: Open) => {
      open.add(s)
      return () => void open.delete(s)
    }
  }
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

const ping = Buffer.from(": ping\n\n", "utf8")
const encodeEvent = Schema.encodeSync(OrionEvent)
const joined = (parts: ReadonlyArray<Uint8Array>): Uint8Array => (parts.length === 1 ? parts[0]! : Buffer.concat(parts))

/** Lets the event loop take in other requests between two replay pages. */
const nextTurn = Effect.async<void>((resume) => {
  const handle = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(handle))
})

/**
 * The response of one SSE client. It listens to the feed before reading the table, so every event is either replayed
 * or live (live events at or below the last sent id are dropped); with `flowRunId` it carries that run's events only.
 */
export const eventStream = (options: {
  readonly lastEventId: Option.Option<number>
  readonly flowRunId: Option.Option<string>
}): Effect.Effect<HttpServerResponse.HttpServerResponse, never, EventStreamContext | HttpServerRequest.HttpServerRequest> =>
  Effect.gen(function*() {
    const runtime = yield* Effect.runtime<SqlClient.SqlClient | Database>()
    const shutdown = yield* ShutdownSignal
    const feed = yield* EventFeed
    const keepAliveMs = Math.max(1, Math.round((yield* Effect.orDie(keepAliveSeconds)) * 1000))
    const capacity = yield* Effect.orDie(bufferEvents)
    const flowRunId = Option.getOrUndefined(options.flowRunId)

    /** Whether the consumer asked for more since the last push (it keeps up), and a waiter for that. */
    let wanted = true
    let onWanted: (() => void) | undefined
    const body = new Readable({
      highWaterMark: 64 * 1024,
      read() {
        wanted = true
        queued = 0
        const wake = onWanted
        onWanted = undefined
        wake?.()
      }
    })
    let ended = false
    /** The id of the last event sent (or skipped by the filter); live events at or below it were already sent. */
    let last = 0
    /** Events pushed since the consumer last asked for more: past `capacity`, the client is told to resync. */
    let queued = 0
    let live = false
    let pending: Array<Packet> = []
    let pendingEvents = 0
    /** Packets were dropped while replaying: the replay reads the table again before going live. */
    let missed = false

    const push = (bytes: Uint8Array) => {
      if (ended) return
      if (!body.push(bytes)) wanted = false
    }
    const end = () => {
      if (ended) return
      ended = true
      body.push(null)
    }
    const resync = () => {
      push(frame(null, "resync", { last_event_id: last }))
      end()
    }

    const send = (packet: Packet) => {
      if (packet.last <= last) return
      if (flowRunId === undefined && packet.first > last) push(packet.bytes)
      else {
        const parts: Array<Uint8Array> = []
        for (const e of packet.events) if (e.id > last && (flowRunId === undefined || e.flow_run_id === flowRunId)) parts.push(eventFrame(e))
        if (parts.length > 0) push(joined(parts))
      }
      last = packet.last
      queued += packet.events.length
    }

    const onPacket = (packet: Packet) => {
      if (ended) return
      if (!live) {
        if (pendingEvents + packet.events.length > capacity) {
          pending = []
          pendingEvents = 0
          missed = true
        } else {
          pending.push(packet)
          pendingEvents += packet.events.length
        }
        return
      }
      send(packet)
      if (!wanted && (queued > capacity || body.readableLength > MAX_BUFFERED_BYTES)) resync()
    }

    const detach = yield* feed.attach(onPacket)
    const timer = setInterval(() => push(ping), keepAliveMs)
    // Shutdown waits for the response itself to be done, so that the server finds its connection idle when it closes.
    const response = NodeHttpServerRequest.toServerResponse(yield* HttpServerRequest.HttpServerRequest)
    const closed = new Promise<void>((resolve) => response.once("close", resolve))
    const unregister = shutdown.register({ end, destroy: () => response.destroy(), closed })
    void closed.then(unregister)

    /** Waits until the consumer has taken what was pushed (backpressure for replay pages). */
    const drained = Effect.async<void>((resume) => {
      if (wanted || ended) return resume(Effect.void)
      onWanted = () => resume(Effect.void)
    })

    const key = (after: number) => `${after}/${flowRunId ?? ""}`
    const readPage = (after: number) =>
      Effect.map(Effect.orDie(readEventsAfter(after, REPLAY_PAGE, options.flowRunId)), (events): Page => {
        const page = {
          count: events.length,
          newest: events.at(-1)?.id,
          bytes: events.length > 0 ? joined(events.map((e) => frame(e.id, e.event, encodeEvent(e)))) : undefined
        }
        // Only a full page is final: a short one grows as events are committed.
        if (page.count === REPLAY_PAGE) shutdown.remember(key(after), page)
        return page
      })
    // The turn of the event loop is taken with the permit held, so a page is read only after pending I/O (new requests)
    // was taken in: permits handed from one replay to the next never chain pages into one long turn. Clients replaying
    // the same history share its pages.
    const replayPage = (after: number): Effect.Effect<Page, never, SqlClient.SqlClient | Database> =>
      Effect.suspend(() =>
        shutdown.recall(key(after)) ??
          shutdown.replayPermits.withPermits(1)(Effect.suspend(() => shutdown.recall(key(after)) ?? Effect.zipRight(nextTurn, readPage(after)))))

    /** Replays pages after `last` until one is short, then again if live packets were dropped meanwhile; then goes live. */
    const catchUp: Effect.Effect<void, never, SqlClient.SqlClient | Database> = Effect.gen(function*() {
      while (!ended) {
        // Before asking for a permit again, so that the streams waiting for one take turns with this one.
        yield* nextTurn
        yield* drained
        const page = yield* replayPage(last)
        if (page.bytes !== undefined) push(page.bytes)
        if (page.newest !== undefined) last = Math.max(last, page.newest)
        if (page.count === REPLAY_PAGE) continue
        if (!missed) break
        missed = false
      }
      live = true
      const held = pending
      pending = []
      for (const packet of held) send(packet)
    })

    const start = Effect.gen(function*() {
      const newest = yield* Effect.orDie(latestEventId)
      // An id beyond the newest comes from before a database reset: that client starts afresh.
      if (Option.isSome(options.lastEventId) && options.lastEventId.value <= newest) {
        last = options.lastEventId.value
        return yield* catchUp
      }
      last = newest
      push(frame(newest, "hello", { last_event_id: newest }))
      live = true
      const held = pending
      pending = []
      for (const packet of held) send(packet)
    })
    const starting = Runtime.runFork(runtime)(start)

    body.once("close", () => {
      ended = true
      detach()
      clearInterval(timer)
      Effect.runFork(Fiber.interrupt(starting))
    })
    if (shutdown.isDown()) end()

    return HttpServerResponse.raw(body, {
      headers: { "content-type": "text/event-stream", "cache-control": "no-cache", "x-accel-buffering": "no" }
    })
  })
