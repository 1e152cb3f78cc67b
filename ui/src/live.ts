/**
 * The dashboard's live feed: one EventSource on `/api/events` for the whole page. The browser reconnects by itself
 * with `Last-Event-ID`; a `resync` from the server (this page fell behind) reopens from the last id seen. Pages
 * subscribe to the events they show and update in place — nothing polls.
 */
import { createSignal, onCleanup } from "solid-js"
import { apiKey } from "./api-key.js"

export interface LiveEvent {
  readonly id: number
  readonly event: "flow_run.created" | "task_run.created" | "flow_run.state_changed" | "task_run.state_changed" | "log"
  readonly occurred: string
  readonly flow_run_id: string | null
  readonly task_run_id: string | null
  readonly payload: Record<string, any>
}

const KINDS = ["flow_run.created", "task_run.created", "flow_run.state_changed", "task_run.state_changed", "log"] as const

export type LiveStatus = "connecting" | "live" | "reconnecting"
const [status, setStatus] = createSignal<LiveStatus>("connecting")
/** Whether the event stream is open. */
export { status as liveStatus }

const listeners = new Set<(e: LiveEvent) => void>()
let source: EventSource | undefined
let lastId: number | undefined
let openedWithKey: string | undefined

const open = () => {
  source?.close()
  const params = new URLSearchParams()
  if (lastId !== undefined) params.set("last_event_id", String(lastId))
  const key = apiKey()
  if (key !== "") params.set("api_key", key)
  openedWithKey = key
  const query = params.toString()
  const es = new EventSource(`/api/events${query === "" ? "" : `?${query}`}`)
  source = es
  setStatus("connecting")
  es.addEventListener("open", () => setStatus("live"))
  es.addEventListener("error", () => setStatus(es.readyState === EventSource.CLOSED ? "reconnecting" : "connecting"))
  es.addEventListener("hello", (m) => {
    lastId = JSON.parse((m as MessageEvent).data).last_event_id
    setStatus("live")
  })
  es.addEventListener("resync", (m) => {
    lastId = JSON.parse((m as MessageEvent).data).last_event_id
    open()
  })
  for (const kind of KINDS) {
    es.addEventListener(kind, (m) => {
      const e = JSON.parse((m as MessageEvent).data) as LiveEvent
      lastId = e.id
      for (const listener of listeners) listener(e)
    })
  }
  // A stream refused (a wrong key) or a server gone for good: try again now and then.
  es.addEventListener("error", () => {
    if (es.readyState === EventSource.CLOSED && source === es) setTimeout(() => source === es && open(), 3000)
  })
}

/** Calls `listener` with every live event while the calling component lives. */
export const onLive = (listener: (e: LiveEvent) => void) => {
  if (source === undefined || openedWithKey !== apiKey()) open()
  listeners.add(listener)
  onCleanup(() => listeners.delete(listener))
}

/** Reopens the stream (after the API key changed). */
export const reconnectLive = () => open()

/**
 * A function that runs `work` at most once per `ms`, trailing: live events arrive in bursts, and a page that refetches
 * a count or a list on them does so once per burst.
 */
export const coalesce = (work: () => void, ms = 150) => {
  let timer: ReturnType<typeof setTimeout> | undefined
  onCleanup(() => timer !== undefined && clearTimeout(timer))
  return () => {
    if (timer !== undefined) return
    timer = setTimeout(() => {
      timer = undefined
      work()
    }, ms)
  }
}
