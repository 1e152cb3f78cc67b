/**
 * Benchmark: N flow runs each taken Pending → Running → Completed through the orchestrator, one at a time and with
 * 100 runs in flight, on SQLite (a WAL file) and on PostgreSQL (when ORION_BENCH_PG_URL or ORION_TEST_PG_URL is set).
 * Prints one line per configuration: transitions/s, per-proposal latency p50/p99, peak RSS.
 */
import { SqlClient } from "@effect/sql"
import { Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { formatTimestamp, newUuid, States, type FlowRunCreate, type Uuid } from "../src/domain/index.js"
import * as Database from "../src/storage/database.js"
import { EventBus } from "../runtime/event-bus.js"
import * as Orch from "../runtime/orchestrator.js"

const N = Number(process.env.N ?? 3000)
const IN_FLIGHT = 100

let peakRss = 0
const sampler = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage().rss) }, 20)

const percentile = (sorted: Array<number>, p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0

const flowRun = (flowId: Uuid): FlowRunCreate => ({
  name: null, flow_id: flowId, deployment_id: null, flow_version: null, parameters: {}, context: {},
  empirical_policy: { max_retries: 0, retry_delay_seconds: 0, retry_jitter_factor: 0 }, tags: [],
  idempotency_key: null, parent_task_run_id: null, state: null
})

const runOne = (flowId: Uuid, latencies: Array<number>) =>
  Effect.gen(function*() {
    const o = yield* Orch.Orchestrator
    const timed = <A, E>(e: Effect.Effect<A, E>) =>
      Effect.gen(function*() {
        const t0 = performance.now()
        const a = yield* e
        latencies.push(performance.now() - t0)
        return a
      })
    const { id } = yield* timed(o.createFlowRun(flowRun(flowId)))
    const running = yield* timed(o.propose({ kind: "flow_run", id }, States.Running()))
    const done = yield* timed(o.propose({ kind: "flow_run", id }, States.Completed()))
    if (running.status !== "ACCEPT" || done.status !== "ACCEPT") throw new Error(`unexpected ${running.status}/${done.status}`)
  })

const configuration = (db: string, mode: "sequential" | "concurrent") =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const flowId = newUuid()
    const now = formatTimestamp(new Date())
    yield* sql`INSERT INTO flow (id, created, updated, name, tags) VALUES (${flowId}, ${now}, ${now}, ${"bench-" + flowId}, '[]')`
    // warm-up
    const warm: Array<number> = []
    yield* Effect.forEach(Array.from({ length: 200 }), () => runOne(flowId, warm), { concurrency: mode === "sequential" ? 1 : IN_FLIGHT })
    const latencies: Array<number> = []
    peakRss = process.memoryUsage().rss
    const t0 = performance.now()
    yield* Effect.forEach(Array.from({ length: N }), () => runOne(flowId, latencies), { concurrency: mode === "sequential" ? 1 : IN_FLIGHT, discard: true })
    const seconds = (performance.now() - t0) / 1000
    latencies.sort((a, b) => a - b)
    const line = `${db} ${mode}: ${Math.round((N * 3) / seconds)} transitions/s, p50 ${percentile(latencies, 0.5).toFixed(2)} ms, p99 ${percentile(latencies, 0.99).toFixed(2)} ms, rss ${Math.round(peakRss / 1e6)} MB (n=${N} runs × 3 transitions)`
    console.log(line)
    return line
  })

const onDatabase = (db: string, url: string) =>
  Effect.gen(function*() {
    if (!process.env.ONLY_CONCURRENT) yield* configuration(db, "sequential")
    if (!process.env.ONLY_SEQUENTIAL) yield* configuration(db, "concurrent")
  }).pipe(Effect.provide(Orch.layer().pipe(Layer.provideMerge(EventBus.layer), Layer.provideMerge(Database.layerFromUrl(url)))))

const main = Effect.gen(function*() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "orion-bench-"))
  console.log(`# bench/orchestrate on ${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, node ${process.version}, ${new Date().toISOString()}`)
  yield* onDatabase("sqlite", path.join(dir, "orion.db"))
  fs.rmSync(dir, { recursive: true, force: true })
  const pg = process.env.ORION_BENCH_PG_URL ?? process.env.ORION_TEST_PG_URL
  if (pg) {
    const u = new URL(pg)
    const name = `orion_bench_${Date.now()}`
    const admin = (q: string) => Effect.flatMap(SqlClient.SqlClient, (s) => s.unsafe(q)).pipe(Effect.provide(Database.layerFromUrl(pg)))
    yield* admin(`CREATE DATABASE ${name}`)
    u.pathname = `/${name}`
    yield* onDatabase("postgres", u.toString()).pipe(Effect.ensuring(Effect.orDie(admin(`DROP DATABASE ${name} WITH (FORCE)`))))
  } else {
    console.log("postgres: skipped (set ORION_BENCH_PG_URL=postgres://… to include it)")
  }
})

Effect.runPromise(main).then(() => clearInterval(sampler), (e) => { console.error(e); process.exit(1) })
