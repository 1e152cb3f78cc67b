/**
 * Benchmark of the API and remote mode, each part against `orion start` in its own process on a fresh SQLite ORION_HOME:
 * (a) `set_state` from a separate load process, 200 concurrent keep-alive clients, each request moving a different run
 * (Pending → Running, then Running → Completed): requests/s, p50/p99 latency — beside the same load on a bare
 * `node:http` server, the floor on this machine, and on a one-endpoint `HttpApi` server answering a constant (the floor of
 * the stack, `bench/httpapi-floor.ts`); (b) one flow of 1,000 no-op tasks in remote mode with the concurrent
 * runner, from a script process: task runs/s and that process's peak RSS; (c) `set_state` latency under an offered load
 * (`RATES`, default 500 and 1,000 requests/s) over the same 200 connections, open loop;
 * (d) `readers`: the load of (a) while 0, 10, 100 and 500 (`READERS`) live SSE readers are connected to `/api/events`,
 * all of them in one "readers" process of their own that counts every frame (a fresh server per count, started with
 * `ORION_SSE_MAX_CLIENTS=1000`): requests/s and its ratio to the 0-reader figure, p50/p99, and how many events each
 * reader got of those stored (readers the server ends are reconnected from their last id and counted, as are 503s);
 * (e) `replay`: ~36,000 events stored by the load of (a) (`REPLAY_RUNS` runs, 3 events each, after its warm-up), then
 * 50 (`REPLAY_CLIENTS`) clients open `/api/events` with `Last-Event-ID: 0` while another process sends `GET /api/health`
 * one at a time, one due every 20 ms: health p50/p99/max (bar: p99 < 50 ms) and how long the replays took to deliver
 * every stored event; then the same replays again beside the load of (a) (`REPLAY_LOAD=0` skips that);
 * (f) `upload`: `POST /api/data/persist` with 8, 32 and 64 MiB bodies (`UPLOAD_MB`) sent with Content-Length, and
 * 64 MiB (`UPLOAD_CHUNKED_MB`) chunked, on a server started with `ORION_API_MAX_DATA_BYTES` of 80 MiB: seconds for each
 * (bar: 64 MiB with Content-Length in < 1 s). The clients of (d)–(f) are in `bench/sse-clients.ts`.
 * `PARTS=raw,httpapi,set_state,paced,flow,readers,replay,upload` picks parts (default: the first five).
 * The flow's script runs Orion compiled (tsc, as bench:tasks) under plain node, then again under tsx.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import { freePort } from "../test/support/ports.js"
import * as os from "node:os"
import * as path from "node:path"
import * as readline from "node:readline"
import { fileURLToPath } from "node:url"
import { cleanEnv } from "../test/support/env.js"
import { compiledBench } from "./build.js"
import { type HealthSegment, healthProber, newestEventId, openReader, type Reader, type Spread, spread, upload, type UploadFigures } from "./sse-clients.js"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const self = fileURLToPath(import.meta.url)
const percentile = (sorted: ReadonlyArray<number>, p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0

// ---------------------------------------------------------------------------------------------------------------
// (a) The load process: plain HTTP/1.1 on an undici pool of `concurrency` keep-alive connections.

interface LoadFigures {
  readonly requests: number
  readonly seconds: number
  readonly p50: number
  readonly p99: number
  readonly statuses: Record<string, number>
  /** CPU time of the load process during the measured phase. */
  readonly cpuMs: number
}

/** A load client: `concurrency` keep-alive connections to `origin`, JSON POSTs, and runs of one fresh flow to move. */
const loadClient = async (origin: string, concurrency: number, flowName: string) => {
  const { Pool } = await import("@effect/platform-node/Undici")
  const pool = new Pool(origin, { connections: concurrency, pipelining: 1, keepAliveTimeout: 60_000 })
  const post = async (p: string, body: unknown) => {
    const response = await pool.request({ method: "POST", path: p, headers: { "content-type": "application/json" }, body: JSON.stringify(body) })
    const text = await response.body.text()
    if (response.statusCode >= 300) throw new Error(`POST ${p}: ${response.statusCode} ${text}`)
    return JSON.parse(text) as Record<string, any>
  }
  /** Runs `work(i)` for i in [0, n) on `concurrency` workers. */
  const onWorkers = async (n: number, work: (i: number) => Promise<void>) => {
    let next = 0
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (next < n) await work(next++)
    }))
  }
  const flow = await post("/api/flows/", { name: `${flowName}-${Date.now()}` })
  /** `n` new flow runs (Pending), their ids in order. */
  const createRuns = async (n: number) => {
    const ids: Array<string> = new Array(n)
    await onWorkers(n, async (i) => { ids[i] = (await post("/api/flow_runs/", { flow_id: flow.id })).id as string })
    return ids
  }
  return { pool, post, onWorkers, createRuns }
}

const load = async (origin: string, runs: number, concurrency: number) => {
  const { pool, post, onWorkers, createRuns } = await loadClient(origin, concurrency, "bench-api")
  const statuses: Record<string, number> = {}
  const latencies: Array<number> = []
  const move = async (ids: ReadonlyArray<string>, type: string, measure: boolean) =>
    onWorkers(ids.length, async (i) => {
      const t0 = performance.now()
      const result = await post(`/api/flow_runs/${ids[i]}/set_state`, { state: { type } })
      if (measure) {
        latencies.push(performance.now() - t0)
        statuses[result.status] = (statuses[result.status] ?? 0) + 1
      }
    })

  const warm = await createRuns(Math.min(2000, runs))
  await move(warm, "RUNNING", false)
  await move(warm, "COMPLETED", false)
  const ids = await createRuns(runs)
  console.log(JSON.stringify({ phase: "start" }))
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  await move(ids, "RUNNING", true)
  await move(ids, "COMPLETED", true)
  const seconds = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(cpu0)
  await pool.close()
  latencies.sort((a, b) => a - b)
  const figures: LoadFigures = {
    requests: latencies.length, seconds, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), statuses, cpuMs: (cpu.user + cpu.system) / 1000
  }
  console.log(JSON.stringify(figures))
}

/**
 * Open-loop load: `rate` set_state requests per second for `seconds`, sent on schedule over `concurrency` connections
 * whether or not earlier answers have come back (as independent clients do), each latency measured from the moment the
 * request was due — so a server that falls behind is charged for the wait (no coordinated omission). Half the requests
 * move fresh runs Pending → Running, the other half Running → Completed.
 */
const pacedLoad = async (origin: string, rate: number, seconds: number, concurrency: number) => {
  const { pool, post, onWorkers, createRuns } = await loadClient(origin, concurrency, "bench-api-paced")
  // warm-up (code paths compiled): 2,000 runs moved as fast as the server answers
  const warm = await createRuns(2000)
  for (const type of ["RUNNING", "COMPLETED"]) await onWorkers(warm.length, (i) => post(`/api/flow_runs/${warm[i]}/set_state`, { state: { type } }).then(() => undefined))
  const half = Math.ceil((rate * seconds) / 2)
  const ids = await createRuns(half)
  const total = 2 * half
  const latencies: Array<number> = []
  const statuses: Record<string, number> = {}
  console.log(JSON.stringify({ phase: "start" }))
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  let sent = 0
  const inFlight: Array<Promise<void>> = []
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now()
      while (sent < total && t0 + (sent * 1000) / rate <= now) {
        const due = t0 + (sent * 1000) / rate
        const id = ids[sent % half]!
        const type = sent < half ? "RUNNING" : "COMPLETED"
        sent++
        inFlight.push(post(`/api/flow_runs/${id}/set_state`, { state: { type } }).then((result) => {
          latencies.push(performance.now() - due)
          statuses[result.status] = (statuses[result.status] ?? 0) + 1
        }))
      }
      if (sent < total) setTimeout(tick, 1)
      else resolve()
    }
    tick()
  })
  await Promise.all(inFlight)
  const elapsed = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(cpu0)
  await pool.close()
  latencies.sort((a, b) => a - b)
  const figures: LoadFigures = {
    requests: latencies.length, seconds: elapsed, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), statuses, cpuMs: (cpu.user + cpu.system) / 1000
  }
  console.log(JSON.stringify(figures))
}

/** The same load on a bare `node:http` server answering a small JSON body: what loopback HTTP costs on this machine. */
const rawLoad = async (origin: string, requests: number, concurrency: number) => {
  const { Pool } = await import("@effect/platform-node/Undici")
  const pool = new Pool(origin, { connections: concurrency, pipelining: 1, keepAliveTimeout: 60_000 })
  const latencies: Array<number> = []
  let next = 0
  const body = JSON.stringify({ state: { type: "RUNNING" } })
  const run = async (n: number, measure: boolean) => {
    next = 0
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (next++ < n) {
        const t0 = performance.now()
        const response = await pool.request({ method: "POST", path: "/raw", headers: { "content-type": "application/json" }, body })
        await response.body.text()
        if (measure) latencies.push(performance.now() - t0)
      }
    }))
  }
  await run(requests, false)
  console.log(JSON.stringify({ phase: "start" }))
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  await run(requests, true)
  const seconds = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(cpu0)
  await pool.close()
  latencies.sort((a, b) => a - b)
  const figures: LoadFigures = {
    requests: latencies.length, seconds, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), statuses: {}, cpuMs: (cpu.user + cpu.system) / 1000
  }
  console.log(JSON.stringify(figures))
}

const rawServerSource = `require("node:http").createServer((q, s) => { let n = 0; q.on("data", (c) => n += c.length); ` +
  `q.on("end", () => { s.writeHead(200, { "content-type": "application/json" }); s.end(JSON.stringify({ status: "ACCEPT", bytes: n })) }) })` +
  `.listen(Number(process.argv[1]), "127.0.0.1", () => console.log("listening"))`

// ---------------------------------------------------------------------------------------------------------------
// (b) The remote flow process: ORION_API_URL is set by the parent.

interface FlowFigures {
  readonly n: number
  readonly seconds: number
  readonly peakRss: number
  readonly state: string
  /** CPU time of the flow's process during the measured run. */
  readonly cpuMs: number
}

const remoteFlow = async (n: number) => {
  const { Effect } = await import("effect")
  const { concurrent, flow, Orion, task } = await import("../src/index.js")
  const noop = task({ name: "noop" }, (_i: number) => Effect.void)
  const many = flow({ name: "bench-api-remote", taskRunner: concurrent() }, ({ n }: { n: number }) =>
    Effect.asVoid(noop.map(Array.from({ length: n }, (_, i) => i))))
  for (const warm of [200, 1000, 1000]) await many.run({ n: warm }) // warm-up: connections open, flow registered, code paths compiled (JIT)
  console.log(JSON.stringify({ phase: "start" }))
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const state = await many.run({ n })
  const seconds = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(cpu0)
  // The process's own high-water mark (getrusage), as bench:tasks: no sampling timer adding CPU to the figure.
  const peakRss = process.resourceUsage().maxRSS * 1024
  await Orion.shutdown()
  const figures: FlowFigures = { n, seconds, peakRss, state: state.name, cpuMs: (cpu.user + cpu.system) / 1000 }
  console.log(JSON.stringify(figures))
}

// ---------------------------------------------------------------------------------------------------------------
// (d), (e), (f): the SSE readers, the health prober and the uploads, each a process of its own, steered by lines on
// its stdin (`open`, `drain`, `mark <name>`, `stop`).

/** The lines this process is sent on stdin, one at a time; `arrived()` tells when the last one taken was received. */
const commands = () => {
  const pending: Array<{ readonly line: string; readonly at: number }> = []
  const waiting: Array<(line: { readonly line: string; readonly at: number }) => void> = []
  let last = 0
  readline.createInterface({ input: process.stdin }).on("line", (line) => {
    const received = { line: line.trim(), at: performance.now() }
    const w = waiting.shift()
    if (w) w(received)
    else pending.push(received)
  })
  const next = async (): Promise<string> => {
    const received = pending.shift() ?? await new Promise<{ readonly line: string; readonly at: number }>((r) => waiting.push(r))
    last = received.at
    return received.line
  }
  return Object.assign(next, { arrived: () => last })
}

interface SseFigures {
  readonly n: number
  readonly connected: number
  /** Statuses of every connection attempt (reconnections included). */
  readonly statuses: Record<string, number>
  readonly retryAfter: ReadonlyArray<string>
  readonly errors: number
  readonly reconnects: number
  readonly resyncs: number
  readonly disordered: number
  /** The newest event id when the readers were opened, and when they were told to drain. */
  readonly target0: number
  readonly target1: number
  /** Event frames per connected reader, and how many it should have got (ids from where it started to target1). */
  readonly events: Spread
  readonly expected: Spread
  readonly totalFrames: number
  /** ms from `open` until a reader had seen target0 (its replay, with Last-Event-ID), its response's headers, its first bytes. */
  readonly replayMs: Spread
  /** How many connected readers saw target0 (before the time-out). */
  readonly replayedCount: number
  readonly headersMs: Spread
  readonly firstFrameMs: Spread
  /** ms from `drain` being sent until every connected reader had seen target1 (`caughtUp` false: the wait timed out). */
  readonly drainMs: number
  readonly caughtUp: boolean
  /** Whether target1 is the highest id the readers had seen, the server having refused the stream that asks (503). */
  readonly probeRefused: boolean
  /** CPU time of this process from `open` to the end. */
  readonly cpuMs: number
}

/**
 * `n` SSE readers of `origin`, from `Last-Event-ID: lastEventId` (or live, after a `hello` frame, without one). `open`
 * opens them all at once, then prints `connected` (every one answered, and has its `hello` if live) and `replayed`
 * (every one has seen the newest id of when they were opened); `drain` waits until every one has seen the newest id of
 * then, closes them, and prints the figures.
 */
const sseReaders = async (origin: string, n: number, lastEventId: number | undefined, timeoutS: number) => {
  const next = commands()
  while ((await next()) !== "open") { /* wait */ }
  const target0 = await newestEventId(origin)
  if (target0 === undefined) throw new Error("/api/events refused every attempt to learn the newest event id (503)")
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const readers: Array<Reader> = []
  const replayMs: Array<number | undefined> = new Array(n).fill(undefined)
  let replayed = 0
  let allReplayed: () => void = () => {}
  const whenReplayed = new Promise<void>((r) => (allReplayed = r))
  for (let i = 0; i < n; i++) {
    const reader = openReader(origin, { lastEventId, t0 })
    if (lastEventId !== undefined && lastEventId >= target0) { // nothing to replay
      replayMs[i] = 0
      replayed++
    }
    reader.counter.onId = (id) => {
      if (id >= target0 && replayMs[i] === undefined) {
        replayMs[i] = performance.now() - t0
        if (++replayed >= n) allReplayed()
      }
    }
    readers.push(reader)
  }
  if (replayed >= n) allReplayed()
  /** Waits until `done()`, for at most `timeoutS` from now. */
  const until = async (done: () => boolean) => {
    const deadline = performance.now() + timeoutS * 1000
    while (!done() && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    return done()
  }
  await Promise.all(readers.map((r) => r.answered))
  const live = () => readers.filter((r) => r.connected)
  if (lastEventId === undefined) await until(() => live().every((r) => r.counter.helloId !== undefined))
  console.log(JSON.stringify({ phase: "connected", connected: live().length, ms: performance.now() - t0 }))
  // readers that never connected will not replay: count them as done
  replayed += readers.filter((r) => !r.connected).length
  if (replayed >= n) allReplayed()
  let timer: ReturnType<typeof setTimeout> | undefined
  await Promise.race([whenReplayed, new Promise((r) => (timer = setTimeout(r, timeoutS * 1000)))])
  clearTimeout(timer)
  console.log(JSON.stringify({ phase: "replayed", ms: performance.now() - t0, complete: replayed >= n }))
  while ((await next()) !== "drain") { /* wait */ }
  // from when `drain` was sent (the end of the load), which may be before the replays ended
  const d0 = next.arrived()
  // the streams may take every slot the server allows (ORION_SSE_MAX_CLIENTS): then the highest id any reader has seen
  const probed = await newestEventId(origin, 5)
  const target1 = probed ?? Math.max(0, ...readers.map((r) => r.counter.lastId))
  const caughtUp = await until(() => live().every((r) => r.counter.lastId >= target1))
  const drainMs = performance.now() - d0
  for (const r of readers) r.close()
  const cpu = process.cpuUsage(cpu0)
  const connected = live()
  const statuses: Record<string, number> = {}
  for (const r of readers) for (const [s, k] of Object.entries(r.statuses)) statuses[s] = (statuses[s] ?? 0) + k
  const defined = (xs: ReadonlyArray<number | undefined>) => xs.filter((x): x is number => x !== undefined)
  const figures: SseFigures = {
    n, connected: connected.length, statuses, retryAfter: [...new Set(readers.flatMap((r) => r.retryAfter))],
    errors: readers.reduce((a, r) => a + r.errors, 0),
    reconnects: readers.reduce((a, r) => a + r.reconnects, 0),
    resyncs: readers.reduce((a, r) => a + r.counter.resyncs, 0),
    disordered: readers.reduce((a, r) => a + r.counter.disordered, 0),
    target0, target1,
    events: spread(connected.map((r) => r.counter.events)),
    expected: spread(connected.map((r) => target1 - (lastEventId ?? r.counter.helloId ?? target0))),
    totalFrames: connected.reduce((a, r) => a + r.counter.events, 0),
    replayMs: spread(defined(connected.map((r) => replayMs[readers.indexOf(r)]))),
    replayedCount: defined(connected.map((r) => replayMs[readers.indexOf(r)])).length,
    headersMs: spread(defined(connected.map((r) => r.headersMs))),
    firstFrameMs: spread(defined(connected.map((r) => r.firstFrameMs))),
    drainMs, caughtUp, probeRefused: probed === undefined, cpuMs: (cpu.user + cpu.system) / 1000
  }
  console.log(JSON.stringify(figures))
  process.exit(0)
}

/** `GET /api/health` one request at a time, one due every `intervalMs`, until `stop`; `mark <name>` starts a segment. */
const health = async (origin: string, intervalMs: number) => {
  const next = commands()
  const prober = healthProber(origin, intervalMs)
  console.log(JSON.stringify({ phase: "ready" }))
  for (;;) {
    const line = await next()
    if (line.startsWith("mark ")) {
      const ended = prober.mark(line.slice(5))
      console.log(JSON.stringify({ ...ended, phase: `segment:${ended.name}` }))
    }
    else if (line === "stop") break
  }
  console.log(JSON.stringify({ segments: await prober.stop() }))
  process.exit(0) // stdin is still open
}

/** Uploads of `sizes` MiB with Content-Length, then of `chunked` MiB without, one at a time (after a 1 MiB warm-up of each). */
const uploads = async (origin: string, sizes: ReadonlyArray<number>, chunked: ReadonlyArray<number>, timeoutS: number) => {
  const MiB = 1024 * 1024
  await upload(origin, MiB, "content-length", timeoutS * 1000)
  await upload(origin, MiB, "chunked", timeoutS * 1000)
  const all: Array<UploadFigures> = []
  for (const [mb, how] of [...sizes.map((s) => [s, "content-length"] as const), ...chunked.map((s) => [s, "chunked"] as const)]) {
    console.log(JSON.stringify({ phase: "begin", mb, how }))
    const f = await upload(origin, Math.round(mb * MiB), how, timeoutS * 1000)
    all.push(f)
    console.log(JSON.stringify({ phase: "upload", ...f }))
  }
  console.log(JSON.stringify({ uploads: all }))
}

// ---------------------------------------------------------------------------------------------------------------
// The parent: a server per part, the measuring process beside it.

interface Server {
  readonly origin: string
  readonly child: ChildProcess
  readonly home: string
  readonly peakRss: () => number
  /** Starts the peak RSS afresh. */
  readonly resetPeak: () => void
  /** CPU time the server has used so far, in ms. */
  readonly cpuMs: () => number
}

/** `orion start` on a fresh ORION_HOME, with `env` in its environment; its output is discarded (it logs every request). */
const startServer = async (env: Record<string, string> = {}): Promise<Server> => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "orion-bench-api-"))
  const port = await freePort()
  const child = spawn(process.execPath, [...(process.env.SERVER_NODE_FLAGS ?? "").split(" ").filter(Boolean), "--import", "tsx", "src/cli/main.ts", "start", "--port", String(port), "--no-services", "--no-ui"], {
    cwd: root, env: cleanEnv({ ...env, ORION_HOME: home }), stdio: ["ignore", "ignore", "inherit"]
  })
  const origin = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 60_000
  while (!(await fetch(`${origin}/api/health`).then((r) => r.ok, () => false))) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error("orion start did not come up")
    await new Promise((r) => setTimeout(r, 200))
  }
  let peak = 0
  const rss = () => {
    const status = fs.readFileSync(`/proc/${child.pid}/status`, "utf8").match(/VmRSS:\s+(\d+) kB/)
    if (status) peak = Math.max(peak, Number(status[1]) * 1024)
  }
  const sample = setInterval(rss, 50)
  child.once("exit", () => clearInterval(sample))
  const ticks = 100 // USER_HZ
  const cpuMs = () => {
    const fields = fs.readFileSync(`/proc/${child.pid}/stat`, "utf8").split(") ")[1]!.split(" ")
    return (Number(fields[11]) + Number(fields[12])) * 1000 / ticks
  }
  return { origin, child, home, peakRss: () => peak, resetPeak: () => {
    peak = 0
    rss()
  }, cpuMs }
}

const stopServer = async (server: Server) => {
  const exited = new Promise((r) => server.child.once("exit", r))
  server.child.kill("SIGTERM")
  await exited
  fs.rmSync(server.home, { recursive: true, force: true })
}

/**
 * Runs this file in a child process with `args`; answers its figures and the server's CPU time between the child's
 * `{"phase":"start"}` line and its figures line.
 */
const measure = <A>(server: Server, args: ReadonlyArray<string>, env: Record<string, string> = {}, script: ReadonlyArray<string> = ["--import", "tsx", self],
  onStart: () => void = () => undefined) =>
  new Promise<{ readonly figures: A; readonly serverCpuMs: number }>((resolve, reject) => {
    // its flow scripts tune their heap as `orion start` does
    const child = spawn(process.execPath, [...script, ...args], { cwd: root, env: cleanEnv({ ORION_TUNE_HEAP: "true", ...env }), stdio: ["ignore", "pipe", "pipe"] })
    let stderr = ""
    let started = 0
    let result: { figures: A; serverCpuMs: number } | undefined
    child.stderr!.on("data", (d) => (stderr += d))
    readline.createInterface({ input: child.stdout! }).on("line", (line) => {
      if (!line.startsWith("{")) return
      const parsed = JSON.parse(line) as { phase?: string }
      if (parsed.phase === "start") {
        started = server.cpuMs()
        onStart()
      }
      else result = { figures: parsed as A, serverCpuMs: server.cpuMs() - started }
    })
    child.once("exit", (code) => result !== undefined && code === 0 ? resolve(result) : reject(new Error(`${args.join(" ")} failed (exit ${code}):\n${stderr.slice(-3000)}`)))
  })

/** A child process of this file steered through its stdin: `send` a line, wait for a `{"phase": …}` line, its figures. */
const steered = <A>(args: ReadonlyArray<string>, onLine: (line: Record<string, any>) => void = () => undefined) => {
  const child = spawn(process.execPath, ["--import", "tsx", self, ...args], { cwd: root, env: cleanEnv({}), stdio: ["pipe", "pipe", "pipe"] })
  let stderr = ""
  let result: A | undefined
  const seen = new Map<string, Record<string, any>>()
  const waiting = new Map<string, Array<(line: Record<string, any>) => void>>()
  child.stderr!.on("data", (d) => (stderr += d))
  readline.createInterface({ input: child.stdout! }).on("line", (line) => {
    if (!line.startsWith("{")) return
    const parsed = JSON.parse(line) as Record<string, any>
    onLine(parsed)
    if (typeof parsed.phase === "string") {
      seen.set(parsed.phase, parsed)
      for (const w of waiting.get(parsed.phase) ?? []) w(parsed)
      waiting.delete(parsed.phase)
    } else result = parsed as A
  })
  const done = new Promise<A>((resolve, reject) =>
    child.once("close", (code) => result !== undefined && code === 0 ? resolve(result) : reject(new Error(`${args.join(" ")} failed (exit ${code}):\n${stderr.slice(-3000)}`))))
  done.catch(() => undefined)
  return {
    pid: child.pid!,
    send: (line: string) => void child.stdin!.write(`${line}\n`),
    phase: (name: string): Promise<Record<string, any>> =>
      Promise.race([
        seen.has(name) ? Promise.resolve(seen.get(name)!) : new Promise<Record<string, any>>((r) => waiting.set(name, [...(waiting.get(name) ?? []), r])),
        done.then(() => { throw new Error(`${args.join(" ")} ended before "${name}"`) })
      ]),
    done,
    kill: () => child.kill("SIGKILL")
  }
}

const parent = async () => {
  const runs = Number(process.env.RUNS ?? 5000)
  const concurrency = Number(process.env.CONCURRENCY ?? 200)
  const n = Number(process.env.N ?? 1000)
  console.log(`# bench/api on ${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, node ${process.version}, ${new Date().toISOString()}, load ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}`)

  const parts = (process.env.PARTS ?? "raw,httpapi,set_state,paced,flow").split(",")
  let server: Server
  /** The same load on a server that is not Orion: `args` start it, with the port appended. */
  const baseline = async (label: string, args: ReadonlyArray<string>, what: string) => {
    const port = await freePort()
    const child = spawn(process.execPath, [...args, String(port)], { cwd: root, stdio: ["ignore", "pipe", "inherit"] })
    await new Promise((r) => child.stdout!.once("data", r))
    const floor: Server = { origin: `http://127.0.0.1:${port}`, child, home: "", peakRss: () => 0, resetPeak: () => undefined, cpuMs: () => 0 }
    try {
      const { figures: f } = await measure<LoadFigures>(floor, ["--raw", floor.origin, String(2 * runs), String(concurrency)])
      console.log(`baseline ${label} c=${concurrency}: ${Math.round(f.requests / f.seconds)} req/s, p50 ${f.p50.toFixed(1)} ms, p99 ${f.p99.toFixed(1)} ms (${what})`)
    } finally {
      child.kill("SIGKILL")
    }
  }
  if (parts.includes("raw")) await baseline("bare node:http", ["-e", rawServerSource], "the same load on a server that only answers a small JSON body")
  if (parts.includes("httpapi")) {
    await baseline("HttpApi floor", ["--import", "tsx", path.join(root, "bench", "httpapi-floor.ts")],
      "the same load on a one-endpoint HttpApi server that decodes the payload and answers a constant: no database, no Orion code")
  }
  if (parts.includes("set_state")) {
  server = await startServer()
  try {
    const { figures: f, serverCpuMs } = await measure<LoadFigures>(server, ["--load", server.origin, String(runs), String(concurrency)])
    const other = Object.entries(f.statuses).filter(([s]) => s !== "ACCEPT")
    console.log(`api set_state c=${concurrency}: ${Math.round(f.requests / f.seconds)} req/s, p50 ${f.p50.toFixed(1)} ms, p99 ${f.p99.toFixed(1)} ms ` +
      `(${f.requests} requests on ${runs} runs; CPU per request: server ${(serverCpuMs / f.requests).toFixed(2)} ms, load client ${(f.cpuMs / f.requests).toFixed(2)} ms; ` +
      `server rss ${Math.round(server.peakRss() / 1e6)} MB${other.length > 0 ? `; not accepted: ${JSON.stringify(Object.fromEntries(other))}` : ""})`)
  } finally {
    await stopServer(server)
  }
  }
  if (parts.includes("paced")) {
  server = await startServer()
  try {
    for (const rate of (process.env.RATES ?? "500,1000").split(",").map(Number)) {
      const { figures: f, serverCpuMs } = await measure<LoadFigures>(server, ["--paced", server.origin, String(rate), String(process.env.SECONDS ?? 10), String(concurrency)])
      const other = Object.entries(f.statuses).filter(([s]) => s !== "ACCEPT")
      console.log(`api set_state paced ${rate} req/s over c=${concurrency}: p50 ${f.p50.toFixed(1)} ms, p99 ${f.p99.toFixed(1)} ms ` +
        `(${f.requests} requests in ${f.seconds.toFixed(1)} s, latency from each request's due time; CPU per request: server ${(serverCpuMs / f.requests).toFixed(2)} ms` +
        `${other.length > 0 ? `; not accepted: ${JSON.stringify(Object.fromEntries(other))}` : ""})`)
    }
  } finally {
    await stopServer(server)
  }
  }

  // (d) set_state with SSE readers connected, a fresh server per reader count.
  const maxClients = { ORION_SSE_MAX_CLIENTS: process.env.ORION_SSE_MAX_CLIENTS ?? "1000" }
  const sseTimeout = String(process.env.SSE_TIMEOUT_S ?? 600)
  const ms = (x: number) => x < 10 ? x.toFixed(1) : String(Math.round(x))
  const s1 = (x: number) => (x / 1000).toFixed(1)
  const not200 = (statuses: Record<string, number>) => Object.entries(statuses).filter(([s]) => s !== "200")
  /** What the readers' figures say about whether they kept up. */
  const readersSummary = (r: SseFigures) => {
    const refused = r.statuses["503"] ?? 0
    const other = not200(r.statuses).filter(([s]) => s !== "503")
    return `${r.connected}/${r.n} connected, ${refused} × 503${refused > 0 ? ` (Retry-After ${r.retryAfter.join(", ") || "none"})` : ""}` +
      `${other.length > 0 ? `, other answers ${JSON.stringify(Object.fromEntries(other))}` : ""}${r.errors > 0 ? `, ${r.errors} connection errors` : ""}; ` +
      `events per reader ${r.events.min}–${r.events.max} of ${r.expected.min === r.expected.max ? r.expected.max : `${r.expected.min}–${r.expected.max}`} stored` +
      `${r.disordered > 0 ? ` (${r.disordered} repeated or out of order)` : ""}, ${r.resyncs} resyncs, ${r.reconnects} reconnections` +
      `${r.probeRefused ? " (the newest id is the highest any reader saw: the stream that asks for it got 503s for 5 s)" : ""}`
  }
  if (parts.includes("readers")) {
    const readersNice = Number(process.env.READERS_NICE ?? 10)
    console.log(`  (SSE readers process at nice ${readersNice})`)
    let base: number | undefined
    for (const count of (process.env.READERS ?? "0,10,100,500").split(",").map(Number)) {
      server = await startServer(maxClients)
      const readers = count > 0 ? steered<SseFigures>(["--sse", server.origin, String(count), "-", sseTimeout]) : undefined
      // The readers stand in for browsers on other machines: on this 2-core machine they run at a lower priority, so
      // that the figure is the server's, not the readers' own CPU taken from it (READERS_NICE=0 to compare).
      if (readers && readersNice !== 0) os.setPriority(readers.pid, readersNice)
      try {
        if (readers) {
          readers.send("open")
          await readers.phase("connected")
        }
        const { figures: f, serverCpuMs } = await measure<LoadFigures>(server, ["--load", server.origin, String(runs), String(concurrency)])
        let r: SseFigures | undefined
        if (readers) {
          readers.send("drain")
          r = await readers.done
        }
        const rate = f.requests / f.seconds
        if (count === 0) base = rate
        const other = Object.entries(f.statuses).filter(([s]) => s !== "ACCEPT")
        console.log(`api set_state c=${concurrency}, ${count} SSE readers: ${Math.round(rate)} req/s (${base === undefined ? "no 0-reader figure" : `${(rate / base).toFixed(2)}× the 0-reader rate`}), ` +
          `p50 ${ms(f.p50)} ms, p99 ${ms(f.p99)} ms (${f.requests} requests on ${runs} runs; CPU per request: server ${(serverCpuMs / f.requests).toFixed(2)} ms, ` +
          `load client ${(f.cpuMs / f.requests).toFixed(2)} ms; server rss ${Math.round(server.peakRss() / 1e6)} MB` +
          `${other.length > 0 ? `; not accepted: ${JSON.stringify(Object.fromEntries(other))}` : ""})`)
        if (r) {
          console.log(`  readers: ${readersSummary(r)}; ${r.caughtUp ? `all had the newest event ${s1(r.drainMs)} s after the load` : `NOT caught up ${s1(r.drainMs)} s after the load`}; ` +
            `readers process CPU ${s1(r.cpuMs)} s, ${(r.totalFrames / 1e6).toFixed(2)} M frames`)
        }
      } finally {
        readers?.kill()
        await stopServer(server)
      }
    }
  }

  // (e) 50 replays of ~36,000 stored events, GET /api/health measured meanwhile.
  if (parts.includes("replay")) {
    const seedRuns = Number(process.env.REPLAY_RUNS ?? 10_000)
    const clients = String(process.env.REPLAY_CLIENTS ?? 50)
    const interval = String(process.env.HEALTH_MS ?? 20)
    server = await startServer(maxClients)
    let prober: ReturnType<typeof steered<{ segments: Array<HealthSegment> }>> | undefined
    const replays: Array<ReturnType<typeof steered<SseFigures>>> = []
    try {
      const { figures: seed } = await measure<LoadFigures>(server, ["--load", server.origin, String(seedRuns), String(concurrency)])
      const seedRate = seed.requests / seed.seconds
      const health = steered<{ segments: Array<HealthSegment> }>(["--health", server.origin, interval])
      prober = health
      await health.phase("ready")
      await new Promise((r) => setTimeout(r, 3000)) // an idle stretch, for reference
      const healthLine = async (name: string) => {
        const h = await health.phase(`segment:${name}`) as unknown as HealthSegment
        const bad = not200(h.statuses)
        return { p99: h.n === 0 ? Infinity : h.latency.p99, text: h.n === 0 ? "no samples" :
          `p50 ${ms(h.latency.p50)} ms, p99 ${ms(h.latency.p99)} ms, max ${ms(h.latency.max)} ms (${h.n} requests${bad.length > 0 ? `, answers ${JSON.stringify(h.statuses)}` : ""})` }
      }

      health.send("mark replay")
      const replay = steered<SseFigures>(["--sse", server.origin, clients, "0", sseTimeout])
      replays.push(replay)
      const cpu0 = server.cpuMs()
      replay.send("open")
      await replay.phase("replayed")
      const replayCpu = server.cpuMs() - cpu0
      health.send("mark after")
      replay.send("drain")
      const a = await replay.done
      const idle = await healthLine("idle")
      const during = await healthLine("replay")
      console.log(`api replay seed: ${a.target0} events stored (${seedRuns} runs after ${Math.min(2000, seedRuns)} warm-up runs, each created, then Running, then Completed); ` +
        `set_state meanwhile c=${concurrency}: ${Math.round(seedRate)} req/s, p50 ${ms(seed.p50)} ms, p99 ${ms(seed.p99)} ms`)
      const delivered = (r: SseFigures) => r.replayedCount === r.connected ? `delivered to all in ${s1(r.replayMs.max)} s` :
        `delivered to only ${r.replayedCount} of ${r.connected} within ${sseTimeout} s`
      console.log(`api replay ${a.n} clients, Last-Event-ID: 0: all ${a.target0} stored events ${delivered(a)} ` +
        `(per client p50 ${s1(a.replayMs.p50)} s, min ${s1(a.replayMs.min)} s; first bytes p50 ${ms(a.firstFrameMs.p50)} ms, max ${ms(a.firstFrameMs.max)} ms; ` +
        `${readersSummary(a)}; server CPU ${s1(replayCpu)} s, clients process CPU ${s1(a.cpuMs)} s, ${(a.totalFrames / 1e6).toFixed(2)} M frames; server rss ${Math.round(server.peakRss() / 1e6)} MB)`)
      console.log(`api replay GET /api/health every ${interval} ms, one at a time: idle ${idle.text}; during the ${a.n} replays ${during.text} ` +
        `— bar p99 < 50 ms: ${during.p99 < 50 ? "met" : "NOT met"}`)

      if (process.env.REPLAY_LOAD !== "0") {
        const again = steered<SseFigures>(["--sse", server.origin, clients, "0", sseTimeout])
        replays.push(again)
        let t0 = 0
        // the replays open when the load's measured phase begins (after its warm-up)
        const { figures: f } = await measure<LoadFigures>(server, ["--load", server.origin, String(runs), String(concurrency)], {}, undefined, () => {
          t0 = performance.now()
          health.send("mark replay+load")
          again.send("open")
        })
        const loadEnd = performance.now()
        health.send("mark end")
        again.send("drain")
        const r = await again.done
        const loadSeconds = (loadEnd - t0) / 1000
        const h = await healthLine("replay+load")
        const rate = f.requests / f.seconds
        console.log(`api replay with set_state c=${concurrency} meanwhile: ${Math.round(rate)} req/s (${(rate / seedRate).toFixed(2)}× the seeding rate), ` +
          `p50 ${ms(f.p50)} ms, p99 ${ms(f.p99)} ms (${f.requests} requests in ${f.seconds.toFixed(1)} s); the ${r.n} replays of ${r.target0} events ${delivered(r)} ` +
          `(opened when the measured load began, which ended after ${loadSeconds.toFixed(1)} s; per client p50 ${s1(r.replayMs.p50)} s), ` +
          `all readers at the newest event ${s1(r.drainMs)} s after the load ended; ${readersSummary(r)}; ` +
          `health meanwhile ${h.text}`)
      }
      health.send("stop")
      await health.done
    } finally {
      prober?.kill()
      for (const r of replays) r.kill()
      await stopServer(server)
    }
  }

  // (f) uploads to /api/data/persist, with Content-Length and chunked.
  if (parts.includes("upload")) {
    const MiB = 1024 * 1024
    const maxData = process.env.ORION_API_MAX_DATA_BYTES ?? String(80 * MiB)
    server = await startServer({ ORION_API_MAX_DATA_BYTES: maxData })
    try {
      let cpu0 = server.cpuMs()
      const up = steered<{ uploads: Array<UploadFigures> }>(["--upload", server.origin, process.env.UPLOAD_MB ?? "8,32,64", process.env.UPLOAD_CHUNKED_MB ?? "64",
        String(process.env.UPLOAD_TIMEOUT_S ?? 600)], (line) => {
        if (line.phase === "begin") {
          server.resetPeak()
          cpu0 = server.cpuMs()
        } else if (line.phase === "upload") {
          const f = line as unknown as UploadFigures
          const bar = f.mb === 64 && f.how === "content-length" ? ` — bar < 1 s: ${f.seconds < 1 && f.status === 201 ? "met" : "NOT met"}` : ""
          console.log(`api upload ${f.mb} MiB ${f.how === "content-length" ? "with Content-Length" : "chunked (no length)"}: ${f.seconds.toFixed(2)} s ` +
            `(${(f.mb / f.seconds).toFixed(1)} MiB/s; ${f.status}${f.stored ? ", stored whole" : `, NOT stored: ${f.detail ?? ""}`}; ` +
            `server CPU ${s1(server.cpuMs() - cpu0)} s, server peak rss ${Math.round(server.peakRss() / 1e6)} MB)${bar}`)
        }
      })
      try {
        await up.done
      } finally {
        up.kill()
      }
      console.log(`  (server started with ORION_API_MAX_DATA_BYTES=${maxData})`)
    } finally {
      await stopServer(server)
    }
  }

  // The flow's script runs compiled under plain node (as a deployed flow runs, like bench:tasks), then under tsx.
  if (parts.includes("flow")) for (const [how, script] of [["", [compiledBench(root, "bench/api.ts")]], [" under tsx", ["--import", "tsx", self]]] as const) {
  server = await startServer()
  try {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "orion-bench-client-"))
    const { figures: f, serverCpuMs } = await measure<FlowFigures>(server, ["--flow", String(n)], { ORION_API_URL: `${server.origin}/api`, ORION_HOME: home }, script)
    fs.rmSync(home, { recursive: true, force: true })
    console.log(`api remote flow n=${f.n} concurrent${how}: ${Math.round(f.n / f.seconds)} task runs/s, rss ${Math.round(f.peakRss / 1e6)} MB ` +
      `(flow run ${f.state}, ${f.seconds.toFixed(2)} s; CPU per task run: server ${(serverCpuMs / f.n).toFixed(2)} ms, client ${(f.cpuMs / f.n).toFixed(2)} ms; ` +
      `server rss ${Math.round(server.peakRss() / 1e6)} MB)`)
  } finally {
    await stopServer(server)
  }
  }
}

const args = process.argv.slice(2)
if (args[0] === "--load") await load(args[1]!, Number(args[2]), Number(args[3]))
else if (args[0] === "--paced") await pacedLoad(args[1]!, Number(args[2]), Number(args[3]), Number(args[4]))
else if (args[0] === "--raw") await rawLoad(args[1]!, Number(args[2]), Number(args[3]))
else if (args[0] === "--flow") await remoteFlow(Number(args[1]))
else if (args[0] === "--sse") await sseReaders(args[1]!, Number(args[2]), args[3] === "-" ? undefined : Number(args[3]), Number(args[4]))
else if (args[0] === "--health") await health(args[1]!, Number(args[2]))
else if (args[0] === "--upload") await uploads(args[1]!, args[2]!.split(",").filter(Boolean).map(Number), args[3]!.split(",").filter(Boolean).map(Number), Number(args[4]))
else await parent()
