/**
 * What this process's running runs need from outside themselves — their heartbeats, and word of a request to cancel
 * them — from one timer per interval for all of them, rather than a fiber and a timer of each run's own. A timer runs
 * only while runs are watched: like a run's own timers before, it keeps the process alive while a run runs (a body
 * awaiting only its cancellation must not let Node exit), and never after.
 */
import { Context, Duration, Effect, Runtime } from "effect"
import type { RunRef } from "../src/domain/index.js"
import { OrionClient } from "../src/client/orion-client.js"

/** Runs that share their flow run's heartbeats: a task run costs a set insertion, not an entry of its own. */
export class HeartbeatGroup {
  readonly members = new Map<string, RunRef>()
}

/** A run being watched: who it is, and the runtime (with its client and logger) it was started on. */
interface Watched {
  readonly ref: RunRef
  readonly runtime: Runtime.Runtime<OrionClient>
}

interface Beating extends Watched {
  readonly group: HeartbeatGroup | undefined
  /** Its last heartbeat has not been answered yet. */
  inFlight: boolean
}

interface Cancellable extends Watched {
  readonly onCancel: () => void
}

/** Entries sharing one interval, and the timer that ticks over them while there are any. */
class Ticker<A> {
  private readonly entries = new Set<A>()
  private timer: ReturnType<typeof setInterval> | undefined

  constructor(private readonly every: number, private readonly tick: (entries: ReadonlyArray<A>) => void) {}

  add(entry: A): () => void {
    this.entries.add(entry)
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.tick([...this.entries]), this.every)
    }
    return () => {
      this.entries.delete(entry)
      if (this.entries.size === 0 && this.timer !== undefined) {
        clearInterval(this.timer)
        this.timer = undefined
      }
    }
  }
}

/** Ids per read of the runs being cancelled (within the API's page size). */
const CANCEL_CHUNK = 200

const heartbeatOf = (ref: RunRef) =>
  Effect.flatMap(OrionClient, (client) =>
    Effect.catchAllCause(client.heartbeat(ref), (cause) => Effect.logDebug(`The heartbeat of ${ref.kind} ${ref.id} failed; the run goes on.`, cause)))

/**
 * Every run's heartbeat, through the client it runs with; a failure is logged at debug and never fails a run. A run
 * whose last heartbeat has not been answered yet (a slow or unreachable server) skips this one; the others go on.
 */
const beat = (entries: ReadonlyArray<Beating>) => {
  for (const entry of entries) {
    if (entry.inFlight) continue
    entry.inFlight = true
    const refs = entry.group === undefined ? [entry.ref] : [entry.ref, ...entry.group.members.values()]
    Runtime.runCallback(entry.runtime)(Effect.forEach(refs, heartbeatOf, { concurrency: 8, discard: true }), {
      onExit: () => {
        entry.inFlight = false
      }
    })
  }
}

/** Clients whose last look for cancel requests is still going. */
const looking = new WeakSet<object>()

/** Which of the flow runs are asked to cancel (Cancelling, or Cancelled by force): a few reads per client per tick. */
const lookForCancels = (entries: ReadonlyArray<Cancellable>) => {
  const byClient = new Map<OrionClient["Type"], Array<Cancellable>>()
  for (const entry of entries) {
    const client = Context.get(entry.runtime.context, OrionClient)
    const list = byClient.get(client)
    if (list === undefined) byClient.set(client, [entry])
    else list.push(entry)
  }
  for (const [client, list] of byClient) {
    if (looking.has(client)) continue
    looking.add(client)
    const reads = Effect.forEach(chunksOf(list), (chunk) =>
      Effect.map(
        // Orion unreachable for a moment: the next tick asks again.
        Effect.orElseSucceed(client.readFlowRuns({
          flow_runs: { id: { any_: chunk.map((e) => e.ref.id) }, state: { type: { any_: ["CANCELLING", "CANCELLED"] } } },
          limit: CANCEL_CHUNK,
          offset: 0,
          sort: "ID_DESC"
        }), () => []),
        (asked) => {
          if (asked.length === 0) return
          const ids = new Set<string>(asked.map((r) => r.id))
          for (const entry of chunk) if (ids.has(entry.ref.id)) entry.onCancel()
        }
      ), { discard: true })
    Runtime.runCallback(list[0]!.runtime)(reads, { onExit: () => looking.delete(client) })
  }
}

const chunksOf = <A>(list: ReadonlyArray<A>): Array<ReadonlyArray<A>> => {
  const chunks: Array<ReadonlyArray<A>> = []
  for (let i = 0; i < list.length; i += CANCEL_CHUNK) chunks.push(list.slice(i, i + CANCEL_CHUNK))
  return chunks
}

export class RunWatch {
  private readonly beating = new Map<number, Ticker<Beating>>()
  private readonly cancellable = new Map<number, Ticker<Cancellable>>()

  /** Heartbeats `ref` (and its group's members) every `every` until the returned function is called. */
  heartbeat(ref: RunRef, group: HeartbeatGroup | undefined, every: Duration.Duration, runtime: Runtime.Runtime<OrionClient>): () => void {
    const ms = Math.max(1, Duration.toMillis(every))
    let ticker = this.beating.get(ms)
    if (ticker === undefined) this.beating.set(ms, ticker = new Ticker(ms, beat))
    return ticker.add({ ref, group, runtime, inFlight: false })
  }

  /** Calls `onCancel` once flow run `ref` is asked to cancel (looked for every `every`), until the returned function is called. */
  cancelRequests(ref: RunRef, every: Duration.Duration, runtime: Runtime.Runtime<OrionClient>, onCancel: () => void): () => void {
    const ms = Math.max(1, Duration.toMillis(every))
    let ticker = this.cancellable.get(ms)
    if (ticker === undefined) this.cancellable.set(ms, ticker = new Ticker(ms, lookForCancels))
    let called = false
    const stop = ticker.add({
      ref, runtime,
      onCancel: () => {
        if (called) return
        called = true
        onCancel()
      }
    })
    return stop
  }
}

/** The process's watch (one for every run, whichever client each runs with). */
export const runWatch = new RunWatch()
