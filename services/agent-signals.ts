/**
 * What tells an agent that a flow run may be due, without polling: the events of runs becoming Scheduled (created
 * Scheduled by a schedule, rescheduled for a retry …), each giving the time it is due. From the event stream of the
 * server (remote), or from the local database's event feed (the events this process and others commit).
 */
import { Effect, Option, Redacted, type Scope } from "effect"
import { EventFeed } from "../src/api/event-feed.js"
import { takeFrames } from "../src/client/sse-frames.js"

/** The time a run may be due, from an event; undefined for events that make nothing due. Epoch 0: due now. */
export const dueTimeOf = (event: string, payload: unknown): Date | undefined => {
  if (event !== "flow_run.created" && event !== "flow_run.state_changed") return undefined
  const state = (payload as { readonly state?: { readonly type?: unknown; readonly state_details?: { readonly scheduled_time?: unknown } } | null } | null)?.state
  if (state === null || state === undefined || state.type !== "SCHEDULED") return undefined
  const at = state.state_details?.scheduled_time
  const date = typeof at === "string" ? new Date(at) : new Date(0)
  return Number.isNaN(date.getTime()) ? new Date(0) : date
}

/** Calls `onDue` for every run the local database's event feed shows becoming due; runs for the scope. */
export const fromEventFeed = (onDue: (at: Date) => void): Effect.Effect<void, never, EventFeed | Scope.Scope> =>
  Effect.gen(function*() {
    const feed = yield* EventFeed
    const detach = yield* feed.attach((packet) => {
      for (const e of packet.events) {
        const at = dueTimeOf(e.event, e.payload)
        if (at !== undefined) onDue(at)
      }
    })
    yield* Effect.addFinalizer(() => Effect.sync(detach))
  })

/**
 * Follows the server's event stream (`GET {url}/events`, live), calling `onDue` as above; reconnects after a pause when
 * it ends or fails, and calls `onDue(epoch)` on each (re)connection, since events may have been missed meanwhile.
 * `onTrouble` hears why a connection failed. Runs until interrupted.
 */
export const fromEventStream = (url: string, key: Option.Option<Redacted.Redacted>, onDue: (at: Date) => void, onTrouble: (message: string) => void): Effect.Effect<never> =>
  Effect.gen(function*() {
    let pause = 500
    for (;;) {
      const outcome = yield* Effect.either(Effect.tryPromise({
        try: (signal) => follow(`${url}/events`, key, signal, () => { pause = 500; onDue(new Date(0)) }, onDue),
        catch: (e) => e instanceof Error ? e.message : String(e)
      }))
      if (outcome._tag === "Left") onTrouble(`The event stream at ${url}/events failed (${outcome.left}); polling until it is back.`)
      yield* Effect.sleep(pause)
      pause = Math.min(pause * 2, 10_000)
    }
  })

/** One connection: resolves when the stream ends. */
const follow = async (url: string, key: Option.Option<Redacted.Redacted>, signal: AbortSignal, onOpen: () => void, onDue: (at: Date) => void) => {
  const response = await fetch(url, {
    headers: { accept: "text/event-stream", ...Option.match(key, { onNone: () => ({}), onSome: (k) => ({ authorization: `Bearer ${Redacted.value(k)}` }) }) },
    signal
  })
  if (!response.ok || response.body === null) throw new Error(`it answered ${response.status}`)
  onOpen()
  const decoder = new TextDecoder()
  let buffer = ""
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    const { frames, rest } = takeFrames(buffer + decoder.decode(chunk, { stream: true }))
    buffer = rest
    for (const { event: kind, data } of frames) {
      if (kind === "resync") return
      if (kind !== "flow_run.created" && kind !== "flow_run.state_changed") continue
      const at = dueTimeOf(kind, (JSON.parse(data) as { readonly payload?: unknown }).payload)
      if (at !== undefined) onDue(at)
    }
  }
}
