/**
 * The live side of the event stream: one fiber takes what the event bus publishes — and, while someone listens, what
 * other processes commit to the same database — encodes it once into SSE frames, and hands the same bytes to every
 * open stream, at most once per `REST`, so each reader costs the server one push per moment, however many events.
 *
 * Other writers are found cheaply: on SQLite by `PRAGMA data_version` (it changes only when another connection
 * commits; this process has one), checked every `TAIL` while listened to; on PostgreSQL by LISTEN on the channel the
 * event table's trigger notifies (migration 0005). Either only says "read the table after the last id handed out".
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Context, Effect, Layer, Option, Queue, Schedule, Schema, Stream } from "effect"
import { EventBus } from "../../runtime/event-bus.js"
import { OrionEvent } from "../domain/index.js"
import { Database } from "../storage/database.js"
import { latestEventId, readEventsAfter } from "../storage/event-log.js"
import { EVENT_CHANNEL } from "../storage/migrations.js"

/** What the feed hands out: committed events in id order, and their frames as one buffer. */
export interface Packet {
  readonly events: ReadonlyArray<OrionEvent>
  /** The lowest and highest event id in it. */
  readonly first: number
  readonly last: number
  readonly bytes: Uint8Array
}

/** How long the feed rests after handing out a packet, gathering what is committed meanwhile into the next one. */
const REST = "50 millis"
/** How often, while someone listens, the feed looks for events committed by other processes. */
const TAIL = "75 millis"
/** Events read from the table per look: a larger backlog is read over the next looks. */
const TAIL_PAGE = 500
/** Events per packet at most. */
const PACKET_EVENTS = 500

const encodeEvent = Schema.encodeSync(OrionEvent)

/** An SSE frame: `id: n` (when given), `event: kind`, `data: json`. */
export const frame = (id: number | null, event: string, data: unknown): Uint8Array =>
  Buffer.from(`${id === null ? "" : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`, "utf8")

/** Each live event's frame, encoded once whichever stream or packet needs it first. */
const frames = new WeakMap<OrionEvent, Uint8Array>()
export const eventFrame = (e: OrionEvent): Uint8Array => {
  let bytes = frames.get(e)
  if (bytes === undefined) {
    bytes = frame(e.id, e.event, encodeEvent(e))
    frames.set(e, bytes)
  }
  return bytes
}

/** Whether other processes may have committed events since the last look. */
interface ForeignWatch {
  /** Takes the current mark as seen (when the feed starts to be listened to). */
  readonly reset: Effect.Effect<void>
  /** True when something was committed elsewhere since the last look (SQLite), or an event above `after` was (pg). */
  readonly changed: (after: number) => Effect.Effect<boolean>
}

const sqliteWatch = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  let version: unknown
  const read = Effect.map(Effect.orElseSucceed(sql`PRAGMA data_version`, () => []), (rows) => (rows[0] as { data_version?: unknown } | undefined)?.data_version)
  return {
    reset: Effect.map(read, (v) => void (version = v)),
    changed: () => Effect.map(read, (v) => {
      if (v === version) return false
      version = v
      return true
    })
  } satisfies ForeignWatch
})

/** On PostgreSQL: one listening connection for the server's life; notifications carry the highest id a statement inserted. */
const pgWatch = Effect.gen(function*() {
  const { PgClient } = yield* Effect.promise(() => import("@effect/sql-pg/PgClient"))
  const pg = yield* Effect.serviceOption(PgClient)
  let notified = 0
  if (Option.isSome(pg)) {
    yield* pg.value.listen(EVENT_CHANNEL).pipe(
      Stream.runForEach((payload) => Effect.sync(() => void (notified = Math.max(notified, Number(payload) || 0)))),
      Effect.retry(Schedule.spaced("1 second")),
      Effect.forkScoped
    )
  }
  return {
    reset: Effect.void,
    changed: (after: number) => Effect.sync(() => notified > after)
  } satisfies ForeignWatch
})

export class EventFeed extends Context.Tag("orion/EventFeed")<EventFeed, {
  /**
   * Calls `onPacket` with every packet made from now on (it must not wait), until the returned detach is called.
   * Once it has returned, every event committed after it began is handed out, whichever process wrote it.
   */
  readonly attach: (onPacket: (packet: Packet) => void) => Effect.Effect<() => void>
}>() {
  static readonly layer: Layer.Layer<EventFeed, never, EventBus | SqlClient.SqlClient | Database> = Layer.scoped(EventFeed, Effect.gen(function*() {
    const bus = yield* EventBus
    const source = yield* bus.subscribe
    const context = yield* Effect.context<SqlClient.SqlClient | Database>()
    const { dialect } = yield* Database
    const foreign: ForeignWatch = dialect === "pg" ? yield* pgWatch : yield* sqliteWatch
    const listeners = new Set<(packet: Packet) => void>()
    const resuming = yield* Effect.makeSemaphore(1)
    /** The highest event id handed out (or, while nobody listens, published here). */
    let handedOut = yield* Effect.orElseSucceed(latestEventId, () => 0)
    /** Whether someone listens and `handedOut` was brought up to the table when they began to. */
    let tailing = false
    /** A look at the table stopped at a full page: the next look reads on without waiting for a change. */
    let behind = false

    const hasGap = (events: ReadonlyArray<OrionEvent>) => {
      if (events[0]!.id > handedOut + 1) return true
      for (let i = 1; i < events.length; i++) if (events[i]!.id !== events[i - 1]!.id + 1) return true
      return false
    }

    /** The events after `handedOut` from the table, this process's own taken as published (their frames are shared). */
    const readTable = (own: ReadonlyArray<OrionEvent>) =>
      Effect.gen(function*() {
        const read = yield* Effect.orElseSucceed(readEventsAfter(handedOut, TAIL_PAGE), () => [] as Array<OrionEvent>)
        behind = read.length === TAIL_PAGE
        const byId = new Map(own.map((e) => [e.id, e]))
        const events = read.map((e) => byId.get(e.id) ?? e)
        const newest = events.at(-1)?.id ?? handedOut
        // Own events beyond a full page are read again with the next page, in order.
        if (!behind) for (const e of own) if (e.id > newest) events.push(e)
        return events
      })

    const step = Effect.gen(function*() {
      const first = yield* Effect.timeoutOption(Queue.take(source), TAIL)
      const own: Array<OrionEvent> = Option.isSome(first) ? [first.value, ...(yield* Queue.takeAll(source))] : []
      if (listeners.size === 0) tailing = false
      if (!tailing) {
        if (own.length > 0) handedOut = Math.max(handedOut, own[own.length - 1]!.id)
        return
      }
      const look = behind || (own.length > 0 && hasGap(own)) || (yield* foreign.changed(handedOut))
      const events = look ? yield* readTable(own) : own.filter((e) => e.id > handedOut)
      if (events.length === 0) return
      handedOut = events[events.length - 1]!.id
      if (listeners.size === 0) return
      // A burst is handed out in packets of bounded size, so that a reader that stopped reading is seen to fall behind.
      for (let i = 0; i < events.length; i += PACKET_EVENTS) {
        const part = events.length <= PACKET_EVENTS ? events : events.slice(i, i + PACKET_EVENTS)
        const bytes = part.length === 1 ? eventFrame(part[0]!) : Buffer.concat(part.map(eventFrame))
        const packet: Packet = { events: part, first: part[0]!.id, last: part[part.length - 1]!.id, bytes }
        for (const listener of listeners) listener(packet)
      }
      yield* Effect.sleep(REST)
    })
    yield* Effect.forkScoped(Effect.forever(Effect.provide(step, context)))

    /**
     * Before the first listener, the feed catches up with the table (nothing another process wrote before is handed out
     * live); the listener is added in the same step that marks the feed as tailing.
     */
    const attach = (onPacket: (packet: Packet) => void) =>
      resuming.withPermits(1)(Effect.gen(function*() {
        if (!tailing) {
          yield* foreign.reset
          handedOut = Math.max(handedOut, yield* Effect.orElseSucceed(latestEventId, () => 0))
          behind = false
        }
        tailing = true
        listeners.add(onPacket)
        return () => void listeners.delete(onPacket)
      })).pipe(Effect.provide(context))

    return EventFeed.of({ attach })
  }))
}
