/**
 * The SSE event stream over real HTTP on 127.0.0.1, on the real orchestrator and both databases: delivery, filtering,
 * Last-Event-ID replay, keep-alive, a stalled client told to resync, log events, and ending streams on shutdown.
 */
import { HttpRouter, HttpServer, HttpServerRequest } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { describe, expect, layer } from "@effect/vitest"
import { ConfigProvider, Context, Effect, Exit, Layer, Option, Scope } from "effect"
import * as http from "node:http"
import { States, type Uuid } from "../../src/domain/index.js"
import { EventFeed } from "../../src/api/event-feed.js"
import { eventStream, ShutdownSignal } from "../../src/api/event-stream.js"
import { layerOnDatabase } from "../../src/client/local.js"
import { OrionClient } from "../../src/client/orion-client.js"
import { LogRepository } from "../../src/storage/repositories/logs.js"
import { EventBus } from "../../runtime/event-bus.js"
import * as Orch from "../../runtime/orchestrator.js"
import { databases } from "../support/databases.js"
import { flowRunCreate, insertFlow, newFlowRun, propose, taskRunCreate } from "../support/orchestrator.js"

/** One parsed SSE frame; a comment frame (`: ping`) has only `comment`. */
interface Frame {
  readonly id?: number
  readonly event?: string
  readonly data?: any
  readonly comment?: string
}

const parseFrame = (text: string): Frame => {
  const f: { id?: number; event?: string; data?: any; comment?: string } = {}
  for (const line of text.split("\n")) {
    if (line.startsWith(":")) f.comment = line.slice(1).trim()
    else if (line.startsWith("id: ")) f.id = Number(line.slice(4))
    else if (line.startsWith("event: ")) f.event = line.slice(7)
    else if (line.startsWith("data: ")) f.data = JSON.parse(line.slice(6))
    else if (line.startsWith("retry:")) throw new Error("the stream must not send retry:")
  }
  return f
}

/** A minimal SSE client on node:http that collects frames; `stall` stops reading from the socket (a slow client). */
class SseClient {
  readonly frames: Array<Frame> = []
  ended = false
  private buffer = ""
  private waiters: Array<() => void> = []
  private response: http.IncomingMessage | undefined
  private readonly request: http.ClientRequest

  constructor(url: string, headers: Record<string, string> = {}, stalled = false) {
    this.request = http.get(url, { headers: { accept: "text/event-stream", ...headers } }, (res) => {
      this.response = res
      if (stalled) res.pause()
      res.setEncoding("utf8")
      res.on("data", (chunk: string) => {
        this.buffer += chunk
        let at: number
        while ((at = this.buffer.indexOf("\n\n")) >= 0) {
          this.frames.push(parseFrame(this.buffer.slice(0, at)))
          this.buffer = this.buffer.slice(at + 2)
        }
        this.wake()
      })
      const end = () => {
        this.ended = true
        this.wake()
      }
      res.on("end", end)
      res.on("close", end)
    })
    this.request.on("error", () => {
      this.ended = true
      this.wake()
    })
  }

  private wake() {
    const ws = this.waiters
    this.waiters = []
    ws.forEach((w) => w())
  }

  get events() {
    return this.frames.filter((f) => f.event !== undefined && f.event !== "hello")
  }

  /** Waits until `done` holds, failing after `ms`. */
  until(done: (c: SseClient) => boolean, what: string, ms = 15_000): Effect.Effect<void> {
    return Effect.promise(() =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.frames.slice(-5))}`)), ms)
        const check = () => {
          if (done(this)) {
            clearTimeout(timer)
            resolve()
          } else this.waiters.push(check)
        }
        check()
      })
    )
  }

  resume() {
    this.response?.resume()
  }

  close() {
    this.request.destroy()
  }
}

const connect = (path: string, headers: Record<string, string> = {}, stalled = false) =>
  Effect.gen(function*() {
    const server = yield* HttpServer.HttpServer
    const port = server.address._tag === "TcpAddress" ? server.address.port : 0
    return yield* Effect.acquireRelease(
      Effect.sync(() => new SseClient(`http://127.0.0.1:${port}${path}`, headers, stalled)),
      (c) => Effect.sync(() => c.close())
    )
  })

/** Connects and waits for the first frame (hello, or the first replayed event). */
const connected = (path = "/events", headers: Record<string, string> = {}) =>
  Effect.tap(connect(path, headers), (c) => c.until((c) => c.frames.length > 0, "the first frame"))

const BUFFER_EVENTS = 2000

/** The tiny test server: the event stream as a plain route, with a short keep-alive and a small client buffer. */
const eventRoute = HttpRouter.empty.pipe(HttpRouter.get("/events", Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const lastEventId = request.headers["last-event-id"]
  const flowRunId = new URL(request.url, "http://localhost").searchParams.get("flow_run_id")
  return yield* eventStream({
    lastEventId: lastEventId === undefined ? Option.none() : Option.some(Number(lastEventId)),
    flowRunId: Option.fromNullable(flowRunId)
  }).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map([
    ["ORION_SSE_KEEPALIVE_SECONDS", "0.3"],
    ["ORION_SSE_BUFFER_EVENTS", String(BUFFER_EVENTS)]
  ]))))
})))

const serverLayer = HttpServer.serve(eventRoute).pipe(
  Layer.provideMerge(EventFeed.layer),
  Layer.provideMerge(ShutdownSignal.Default),
  Layer.provideMerge(NodeHttpServer.layer(http.createServer, { port: 0, host: "127.0.0.1" }))
)

const appLayer = (db: (typeof databases)[number]) =>
  Layer.mergeAll(Orch.layer(), LogRepository.Default).pipe(Layer.provideMerge(EventBus.layer), Layer.provideMerge(db.layer()))

const allEventIdsAfter = (after: number) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(sql`SELECT id FROM event WHERE id > ${after} ORDER BY id`, (rows) => rows.map((r) => Number((r as { id: unknown }).id))))

const log = (flowRunId: Uuid, taskRunId: Uuid | null, message: string) => ({
  name: "etl", level: 20, message, timestamp: new Date(), flow_run_id: flowRunId, task_run_id: taskRunId
})

for (const db of databases) {
  describe(`event stream on ${db.name}`, () => {
    layer(serverLayer.pipe(Layer.provideMerge(appLayer(db))), { excludeTestServices: true })((it) => {
      it.scoped("starts with hello at the newest id, then delivers run-created and state-changed events", () =>
        Effect.gen(function*() {
          yield* newFlowRun()
          const [newest] = (yield* allEventIdsAfter(0)).slice(-1)
          const client = yield* connected()
          expect(client.frames[0]).toEqual({ id: newest, event: "hello", data: { last_event_id: newest } })

          const runId = yield* newFlowRun()
          yield* propose("flow_run", runId, States.Running())
          yield* client.until((c) => c.events.some((e) => e.event === "flow_run.state_changed" && e.data.flow_run_id === runId), "the state change")
          const mine = client.events.filter((e) => e.data.flow_run_id === runId)
          expect(mine.map((e) => e.event)).toEqual(["flow_run.created", "flow_run.state_changed"])
          expect(mine[0]!.data).toMatchObject({ id: mine[0]!.id, task_run_id: null, payload: { run_id: runId, state: { type: "PENDING" } } })
          expect(mine[1]!.data.payload).toMatchObject({ status: "ACCEPT", from_type: "PENDING", state: { type: "RUNNING" } })
          expect(mine[1]!.id).toBeGreaterThan(mine[0]!.id!)
          expect(client.events.every((e) => e.id! > newest!)).toBe(true)
        }))

      it.scoped("with flow_run_id carries that run's events, its task runs' included, and no other run's", () =>
        Effect.gen(function*() {
          const o = yield* Orch.Orchestrator
          const a = yield* newFlowRun()
          const b = yield* newFlowRun()
          const client = yield* connected(`/events?flow_run_id=${a}`)
          const taskA = yield* o.createTaskRun(taskRunCreate(a))
          const taskB = yield* o.createTaskRun(taskRunCreate(b))
          yield* propose("task_run", taskB.id, States.Running())
          yield* propose("task_run", taskA.id, States.Running())
          yield* propose("flow_run", b, States.Running())
          yield* propose("flow_run", a, States.Running())
          yield* client.until((c) => c.events.some((e) => e.event === "flow_run.state_changed"), "run a's state change")
          expect(client.events.map((e) => [e.event, e.data.task_run_id])).toEqual([
            ["task_run.created", taskA.id],
            ["task_run.state_changed", taskA.id],
            ["flow_run.state_changed", null]
          ])
          expect(client.events.every((e) => e.data.flow_run_id === a)).toBe(true)
        }))

      it.scoped("reconnecting with Last-Event-ID replays exactly the missed events, across pages, then follows live", () =>
        Effect.gen(function*() {
          const first = yield* connected()
          const runs = yield* Effect.forEach(Array.from({ length: 3 }), () => newFlowRun(), { concurrency: 3 })
          yield* first.until((c) => c.events.length >= 3, "three created events")
          const seen = first.events.map((e) => e.id!)
          const resumeFrom = seen[seen.length - 1]!
          first.close()

          // Missed while away: more than one replay page.
          const flowId = yield* insertFlow()
          const o = yield* Orch.Orchestrator
          const missed = yield* Effect.forEach(Array.from({ length: 400 }), () => Effect.map(o.createFlowRun(flowRunCreate(flowId)), (c) => c.id), { concurrency: 50 })
          yield* Effect.forEach(missed, (id) => propose("flow_run", id, States.Running()), { concurrency: 50 })

          // Reconnect while proposals keep committing, so replay and live overlap.
          const writing = yield* Effect.fork(Effect.forEach([...runs, ...missed], (id) => propose("flow_run", id, States.Completed()), { concurrency: 20 }))
          const second = yield* connected("/events", { "last-event-id": String(resumeFrom) })
          yield* writing.await
          const last = yield* newFlowRun()
          yield* second.until((c) => c.events.some((e) => e.event === "flow_run.created" && e.data.flow_run_id === last), "the run created after reconnecting")
          expect(second.frames.some((f) => f.event === "hello")).toBe(false)
          expect(second.events.map((e) => e.id)).toEqual(yield* allEventIdsAfter(resumeFrom))
        }))

      it.scoped("a replayed event reads as it did live: its run's state comes back from the state table, where the stored event refers to it", () =>
        Effect.gen(function*() {
          const live = yield* connected()
          const runId = yield* newFlowRun()
          yield* propose("flow_run", runId, States.Running())
          yield* live.until((c) => c.events.filter((e) => e.data.flow_run_id === runId).length >= 2, "created and Running")
          const mine = live.events.filter((e) => e.data.flow_run_id === runId)
          live.close()
          const sql = yield* SqlClient.SqlClient
          const [row] = yield* sql<{ payload: unknown }>`SELECT payload FROM event WHERE id = ${mine[1]!.id!}`
          const stored = typeof row!.payload === "string" ? JSON.parse(row!.payload) : row!.payload
          expect(stored).toEqual({ ...mine[1]!.data.payload, state: undefined, state_id: mine[1]!.data.payload.state.id })
          expect("state" in stored).toBe(false)

          const replay = yield* connected("/events", { "last-event-id": String(mine[0]!.id! - 1) })
          yield* replay.until((c) => c.events.filter((e) => e.data.flow_run_id === runId).length >= 2, "the replayed events")
          const replayed = replay.events.filter((e) => e.data.flow_run_id === runId)
          expect(replayed.map((e) => e.data)).toEqual(mine.map((e) => e.data))
          // Byte for byte on SQLite; PostgreSQL's jsonb keeps its own key order, for replayed events as before.
          if (db.name === "sqlite") expect(JSON.stringify(replayed[1]!.data)).toBe(JSON.stringify(mine[1]!.data))
          replay.close()

          // A run deleted since: its events still replay, with the state they carried gone (null).
          yield* sql`DELETE FROM flow_run WHERE id = ${runId}`
          const again = yield* connected("/events", { "last-event-id": String(mine[0]!.id! - 1) })
          yield* again.until((c) => c.events.filter((e) => e.data.flow_run_id === runId).length >= 2, "the events of the deleted run")
          const gone = again.events.filter((e) => e.data.flow_run_id === runId)
          expect(gone.map((e) => e.data.payload.state)).toEqual([null, null])
          expect(gone[1]!.data.payload).toMatchObject({ run_id: runId, status: "ACCEPT", from_type: "PENDING" })
        }))

      it.scoped("sends keep-alive comments", () =>
        Effect.gen(function*() {
          const client = yield* connected()
          yield* client.until((c) => c.frames.filter((f) => f.comment === "ping").length >= 2, "two pings", 5_000)
        }))

      it.scoped("delivers log events, announced after the logs are stored", () =>
        Effect.gen(function*() {
          const o = yield* Orch.Orchestrator
          const logs = yield* LogRepository
          const runId = yield* newFlowRun()
          const task = yield* o.createTaskRun(taskRunCreate(runId))
          const client = yield* connected(`/events?flow_run_id=${runId}`)
          yield* logs.createMany([log(runId, null, "starting"), log(runId, task.id, "x".repeat(5000))])
          yield* client.until((c) => c.events.filter((e) => e.event === "log").length >= 2, "two log events")
          const [a, b] = client.events.filter((e) => e.event === "log")
          expect(a!.data).toMatchObject({ flow_run_id: runId, task_run_id: null, payload: { name: "etl", level: 20, message: "starting" } })
          expect(b!.data).toMatchObject({ task_run_id: task.id, payload: { truncated: true } })
          expect(b!.data.payload.message.length).toBe(2000)
          expect(b!.id).toBe(a!.id! + 1)
        }))

      it.scoped("the local OrionClient's createLogs publishes log events on the same bus", () =>
        Effect.gen(function*() {
          const runId = yield* newFlowRun()
          const client = yield* connected(`/events?flow_run_id=${runId}`)
          const orion = Context.get(yield* Layer.build(layerOnDatabase), OrionClient)
          yield* orion.createLogs([log(runId, null, "from the local client")])
          yield* client.until((c) => c.events.some((e) => e.event === "log"), "the log event")
          expect(client.events[0]!.data.payload.message).toBe("from the local client")
        }))

      it.scoped("a client that stops reading is told to resync from its last event, and the orchestrator keeps going", () =>
        Effect.gen(function*() {
          const o = yield* Orch.Orchestrator
          const logs = yield* LogRepository
          const runId = yield* newFlowRun()
          const slow = yield* connect("/events", {}, true)
          yield* Effect.sleep("100 millis")

          // ~2 kB per event: far more than the socket buffers and the client's event buffer hold.
          const message = "y".repeat(2000)
          for (let i = 0; i < 24; i++) yield* logs.createMany(Array.from({ length: 500 }, (_, j) => log(runId, null, `${i}-${j} ${message}`)))
          const flowId = yield* insertFlow()
          const started = Date.now()
          const created = yield* Effect.forEach(Array.from({ length: 300 }), () => o.createFlowRun(flowRunCreate(flowId)), { concurrency: 50 })
          const results = yield* Effect.forEach(created, (r) => propose("flow_run", r.id, States.Running()), { concurrency: 50 })
          expect(results.every((r) => r.status === "ACCEPT")).toBe(true)
          expect(Date.now() - started).toBeLessThan(15_000)

          slow.resume()
          yield* slow.until((c) => c.ended, "the slow stream to end", 30_000)
          const resync = slow.frames.at(-1)!
          expect(resync.event).toBe("resync")
          const delivered = slow.frames.filter((f) => f.id !== undefined).at(-1)!.id!
          expect(resync.data).toEqual({ last_event_id: delivered })
          expect(delivered).toBeLessThan((yield* allEventIdsAfter(0)).at(-1)!)

          const again = yield* connected("/events", { "last-event-id": String(resync.data.last_event_id) })
          expect(again.frames[0]!.id).toBe((yield* allEventIdsAfter(delivered))[0])
        }), 60_000)

      it.scoped("shutting the server down ends open streams, even one stuck on a client that stopped reading", () =>
        Effect.gen(function*() {
          const bus = yield* EventBus
          const scope = yield* Scope.make()
          const context = yield* Layer.buildWithScope(serverLayer, scope)
          const clients = yield* Effect.provide(
            Effect.all([connected(), connected(), connected("/events?flow_run_id=00000000-0000-0000-0000-000000000000")]),
            context
          )
          const stalled = yield* Effect.provide(connect("/events", {}, true), context)
          yield* Effect.sleep("200 millis")
          // 20 MB the stalled client never reads: its stream's writer waits for the socket to drain.
          const [newest = 0] = (yield* allEventIdsAfter(0)).slice(-1)
          for (let i = 1; i <= 200; i++) {
            yield* bus.publish([{ id: newest + i, occurred: new Date(), event: "log", flow_run_id: null, task_run_id: null, payload: { message: "z".repeat(100_000) } }])
          }
          yield* clients[0].until((c) => c.events.length === 200, "the readers to get the large events")

          const started = Date.now()
          yield* Scope.close(scope, Exit.void)
          expect(Date.now() - started).toBeLessThan(3_000)
          for (const c of clients) yield* c.until((c) => c.ended, "the stream to end", 1_000)
          expect(stalled.ended || stalled.frames.length < 200).toBe(true)
        }))

      it.scoped("ShutdownSignal.layerTest: `shutdown` ends the open streams and later ones end at once", () =>
        Effect.gen(function*() {
          const context = yield* Layer.build(HttpServer.serve(eventRoute).pipe(
            Layer.provideMerge(ShutdownSignal.layerTest),
            Layer.provideMerge(NodeHttpServer.layer(http.createServer, { port: 0, host: "127.0.0.1" }))
          ))
          const client = yield* Effect.provide(connected(), context)
          yield* Effect.sleep("50 millis")
          expect(client.ended).toBe(false)
          yield* Effect.provide(Effect.flatMap(ShutdownSignal, (s) => s.shutdown), context)
          yield* client.until((c) => c.ended, "the stream to end", 3_000)
          const late = yield* Effect.provide(connect("/events"), context)
          yield* late.until((c) => c.ended, "the late stream to end", 3_000)
        }))

      it.scoped("a Last-Event-ID beyond the newest event (a reset database) starts afresh with hello", () =>
        Effect.gen(function*() {
          const [newest = 0] = (yield* allEventIdsAfter(0)).slice(-1)
          const client = yield* connected("/events", { "last-event-id": String(newest + 1_000_000) })
          expect(client.frames[0]).toEqual({ id: newest, event: "hello", data: { last_event_id: newest } })
        }))
    })
  })
}
