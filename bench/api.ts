/**
 * Benchmark of the API and remote mode, each part against `orion start` in its own process on a fresh SQLite ORION_HOME:
 * (a) `set_state` from a separate load process, 200 concurrent keep-alive clients, each request moving a different run
 * (Pending → Running, then Running → Completed): requests/s, p50/p99 latency — beside the same load on a bare
 * `node:http` server, the floor on this machine, and on a one-endpoint `HttpApi` server answering a constant (the floor of
 * the stack, `bench/httpapi-floor.ts`); (b) one flow of 1,000 no-op tasks in remote mode with the concurrent
 * runner, from a script process: task runs/s and that process's peak RSS; (c) `set_state` latency under an offered load
 * (`RATES`, default 500 and 1,000 requests/s) over the same 200 connections, open loop. `PARTS=raw,httpapi,set_state,paced,flow`
 * picks parts. The flow's script runs Orion compiled (tsc, as bench:tasks) under plain node, then again under tsx.
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
// The parent: a server per part, the measuring process beside it.

interface Server {
  readonly origin: string
  readonly child: ChildProcess
  readonly home: string
  readonly peakRss: () => number
  /** CPU time the server has used so far, in ms. */
  readonly cpuMs: () => number
}

/** `orion start` on a fresh ORION_HOME; its output is discarded (it logs every request). */
const startServer = async (): Promise<Server> => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "orion-bench-api-"))
  const port = await freePort()
  const child = spawn(process.execPath, [...(process.env.SERVER_NODE_FLAGS ?? "").split(" ").filter(Boolean), "--import", "tsx", "src/cli/main.ts", "start", "--port", String(port), "--no-services", "--no-ui"], {
    cwd: root, env: cleanEnv({ ORION_HOME: home }), stdio: ["ignore", "ignore", "inherit"]
  })
  const origin = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 60_000
  while (!(await fetch(`${origin}/api/health`).then((r) => r.ok, () => false))) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error("orion start did not come up")
    await new Promise((r) => setTimeout(r, 200))
  }
  let peak = 0
  const sample = setInterval(() => {
    const status = fs.readFileSync(`/proc/${child.pid}/status`, "utf8").match(/VmRSS:\s+(\d+) kB/)
    if (status) peak = Math.max(peak, Number(status[1]) * 1024)
  }, 50)
  child.once("exit", () => clearInterval(sample))
  const ticks = 100 // USER_HZ
  const cpuMs = () => {
    const fields = fs.readFileSync(`/proc/${child.pid}/stat`, "utf8").split(") ")[1]!.split(" ")
    return (Number(fields[11]) + Number(fields[12])) * 1000 / ticks
  }
  return { origin, child, home, peakRss: () => peak, cpuMs }
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
const measure = <A>(server: Server, args: ReadonlyArray<string>, env: Record<string, string> = {}, script: ReadonlyArray<string> = ["--import", "tsx", self]) =>
  new Promise<{ readonly figures: A; readonly serverCpuMs: number }>((resolve, reject) => {
    const child = spawn(process.execPath, [...script, ...args], { cwd: root, env: cleanEnv(env), stdio: ["ignore", "pipe", "pipe"] })
    let stderr = ""
    let started = 0
    let result: { figures: A; serverCpuMs: number } | undefined
    child.stderr!.on("data", (d) => (stderr += d))
    readline.createInterface({ input: child.stdout! }).on("line", (line) => {
      if (!line.startsWith("{")) return
      const parsed = JSON.parse(line) as { phase?: string }
      if (parsed.phase === "start") started = server.cpuMs()
      else result = { figures: parsed as A, serverCpuMs: server.cpuMs() - started }
    })
    child.once("exit", (code) => result !== undefined && code === 0 ? resolve(result) : reject(new Error(`${args.join(" ")} failed (exit ${code}):\n${stderr.slice(-3000)}`)))
  })

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
    const floor: Server = { origin: `http://127.0.0.1:${port}`, child, home: "", peakRss: () => 0, cpuMs: () => 0 }
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
else await parent()
