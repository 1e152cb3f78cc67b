/**
 * The live side of the event stream: one fiber takes what the event bus publishes, encodes it once into SSE frames,
 * and hands the same bytes to every open stream, at most once per `REST` — so each reader costs the server one push
 * per moment (into its Node stream, no fiber of its own), however many events were committed in it.
 */
import { Context, Effect, Layer, Queue, Schema } from "effect"
import { EventBus } from "../../runtime/event-bus.js"
import { OrionEvent } from "../domain/index.js"

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

export class EventFeed extends Context.Tag("orion/EventFeed")<EventFeed, {
  /** Calls `onPacket` with every packet made from now on (it must not wait), until the returned detach is called. */
  readonly attach: (onPacket: (packet: Packet) => void) => () => void
}>() {
  static readonly layer: Layer.Layer<EventFeed, never, EventBus> = Layer.scoped(EventFeed, Effect.gen(function*() {
    const bus = yield* EventBus
    const source = yield* bus.subscribe
    const listeners = new Set<(packet: Packet) => void>()

    yield* Effect.forkScoped(Effect.forever(Effect.gen(function*() {
      const first = yield* Queue.take(source)
      const rest = yield* Queue.takeAll(source)
      if (listeners.size > 0) {
        const events = rest.length === 0 ? [first] : [first, ...rest]
        const bytes = events.length === 1 ? eventFrame(first) : Buffer.concat(events.map(eventFrame))
        const packet: Packet = { events, first: first.id, last: events[events.length - 1]!.id, bytes }
        for (const listener of listeners) listener(packet)
        yield* Effect.sleep(REST)
      }
    })))

    return EventFeed.of({
      attach: (onPacket) => {
        listeners.add(onPacket)
        return () => void listeners.delete(onPacket)
      }
    })
  }))
}
