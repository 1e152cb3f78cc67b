/**
 * Benchmark: how soon an agent picks up scheduled runs. `orion start` (a fresh SQLite home) serves the API; a deployment
 * is registered from bench/fixtures/pickup-flow.ts with `orion deployment create`; N runs (default 100) are scheduled
 * SPACING ms apart (default 1000, a 1-second schedule) starting a few seconds ahead; an agent (in this process, through
 * the API, as inside `orion start`) claims and executes them. Prints, over the N runs, scheduled time → Pending (the
 * claim, as the orchestrator stamped it) and → Running (the flow's code started, as it recorded) p50/p99/max.
 * WARM=n: warm executors kept (default 2). MAX_RUNS=n: runs per executor process before it is retired (default: the
 * agent's, `ORION_AGENT_EXECUTOR_MAX_RUNS`, 50; 1: a process per run, as before executors were reused). COMPILED=1: the
 * server, the agent and its executors run compiled Orion (`dist/`, after `npm run build`), as an installed package
 * does; default: the sources under tsx.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Effect, Fiber } from "effect"

const N = Number(process.env.N ?? 100)
const SPACING = Number(process.env.SPACING ?? 1000)
const WARM = Number(process.env.WARM ?? 2)
const MAX_RUNS = process.env.MAX_RUNS === undefined ? undefined : Number(process.env.MAX_RUNS)
const LEAD_MS = 8000
const COMPILED = process.env.COMPILED === "1"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const bin = COMPILED ? path.join(root, "dist", "src", "cli", "main.js") : path.join(root, "bin", "orion.js")
const home = fs.mkdtempSync(path.join(os.tmpdir(), "orion-bench-pickup-"))
const starts = path.join(home, "starts.txt")
/**
 * Compiled, the flow module (TypeScript, through tsx) is loaded without the repository's tsconfig `paths`, which point
 * `@orion-ts/orion` at the sources: it then resolves to dist/ — the copy of Orion its executor runs — as in an
 * installed package. With them, every executor loaded a second Orion from the sources for its first run.
 */
const installed = COMPILED ? { TSX_TSCONFIG_PATH: path.join(root, "bench", "fixtures", "tsconfig.installed.json") } : {}
const env = (extra: Record<string, string>) => {
  const e: NodeJS.ProcessEnv = { ...process.env }
  for (const k of Object.keys(e)) if (k.startsWith("ORION_")) delete e[k]
  return { ...e, ORION_HOME: home, ORION_REPORT_RUNS: "false", PICKUP_STARTS: starts, ...installed, ...extra }
}
const percentile = (sorted: ReadonlyArray<number>, p: number) => sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * p) - 1)] ?? NaN
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const post = async <A>(url: string, body: unknown): Promise<A> => {
  const r = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })
  if (!r.ok) throw new Error(`${url}: ${r.status} ${await r.text()}`)
  return await r.json() as A
}

const main = async () => {
  if (COMPILED && !fs.existsSync(bin)) throw new Error("COMPILED=1 runs dist/: run `npm run build` first")
  const { agent } = (await import(COMPILED ? "../dist/services/agent.js" : "../services/agent.js")) as typeof import("../services/agent.js")
  const port = 4400 + Math.floor(Math.random() * 500)
  const api = `http://127.0.0.1:${port}/api`
  const server: ChildProcess = spawn(process.execPath, [bin, "start", "--port", String(port), "--no-ui"], { cwd: root, env: env({}), stdio: "ignore" })
  try {
    for (let i = 0; ; i++) {
      if (await fetch(`${api}/health`).then((r) => r.ok, () => false)) break
      if (i > 600) throw new Error("the server did not start")
      await sleep(200)
    }
    await new Promise<void>((resolve, reject) =>
      execFile(process.execPath, [bin, "deployment", "create", path.join(root, "bench", "fixtures", "pickup-flow.ts")], { cwd: root, env: env({ ORION_API_URL: api }) },
        (error, _out, stderr) => error ? reject(new Error(stderr)) : resolve()))
    const [deployment] = await post<Array<{ id: string }>>(`${api}/deployments/filter`, { deployments: { work_queue: { any_: ["pickup"] } } })

    // The agent, as `orion start` runs it: through the API, warm executors ready; its executors report to the server.
    process.env.PICKUP_STARTS = starts
    process.env.ORION_REPORT_RUNS = "false"
    Object.assign(process.env, installed) // for its executors
    const errors: Array<string> = []
    const service = agent({ api: { url: api }, workQueues: ["pickup"], limit: 10, warmExecutors: WARM, ...(MAX_RUNS === undefined ? {} : { executorMaxRuns: MAX_RUNS }) })
    const fiber = Effect.runFork(service.run({ loopDone: () => Effect.void, nextDue: () => Effect.void, error: (m) => Effect.sync(() => void errors.push(m)) }))
    await sleep(3000) // the agent connected and its warm executor up, as in a running `orion start`

    const first = Math.ceil((Date.now() + LEAD_MS) / 1000) * 1000
    const scheduled = new Map<string, number>()
    for (let i = 0; i < N; i++) {
      const at = first + i * SPACING
      const run = await post<{ id: string }>(`${api}/deployments/${deployment!.id}/create_flow_run`, {
        state: { type: "SCHEDULED", state_details: { scheduled_time: new Date(at).toISOString() } }
      })
      scheduled.set(run.id, at)
    }
    const deadline = first + N * SPACING + 120_000
    for (;;) {
      const done = await post<number>(`${api}/flow_runs/count`, { deployments: { id: { any_: [deployment!.id] } }, flow_runs: { state: { type: { any_: ["COMPLETED", "FAILED", "CRASHED"] } } } })
      if (done >= N) break
      if (Date.now() > deadline) {
        // reported over the runs that got there, with how many did not (a loaded machine): not thrown away
        console.log(`only ${done} of ${N} runs ended within 2 minutes of the last one's time`)
        break
      }
      await sleep(1000)
    }
    await Effect.runPromise(Fiber.interrupt(fiber))

    const toPending: Array<number> = []
    const pendingOf = new Map<string, number>()
    for (const [id, at] of scheduled) {
      const states = await (await fetch(`${api}/flow_run_states/?flow_run_id=${id}`)).json() as Array<{ type: string; timestamp: string }>
      const pending = states.find((s) => s.type === "PENDING")
      if (pending !== undefined) toPending.push(new Date(pending.timestamp).getTime() - at)
      if (pending !== undefined) pendingOf.set(id, new Date(pending.timestamp).getTime() - at)
    }
    const lines = fs.readFileSync(starts, "utf8").trim().split("\n").map((l) => l.split(" "))
    const toRunning = lines.map(([id, t]) => Number(t) - scheduled.get(id!)!)
    const processes = new Set(lines.map(([, , pid]) => pid)).size
    const show = (name: string, xs: Array<number>) => {
      const s = [...xs].sort((a, b) => a - b)
      console.log(`${name.padEnd(34)} n=${s.length}  p50 ${percentile(s, 0.5).toFixed(0)} ms  p99 ${percentile(s, 0.99).toFixed(0)} ms  max ${s.at(-1)?.toFixed(0)} ms`)
    }
    console.log(`bench:pickup — ${N} runs ${SPACING} ms apart, SQLite behind \`orion start\`, agent through the API, ${WARM} warm executor(s), up to ${MAX_RUNS ?? "the default"} run(s) per executor, Orion ${COMPILED ? "compiled (dist/)" : "from its sources (tsx)"}; load average ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}`)
    console.log(`executor processes that ran the ${lines.length} runs: ${processes}`)
    // Where the slow ones were: which run (in schedule order), in which process, and that process's how-many-th run.
    const order = [...scheduled.keys()]
    const nth = new Map<string, number>()
    const seen = new Map<string, number>()
    for (const [id, , pid] of [...lines].sort((a, b) => Number(a[1]) - Number(b[1]))) {
      seen.set(pid!, (seen.get(pid!) ?? 0) + 1)
      nth.set(id!, seen.get(pid!)!)
    }
    const slowest = [...lines].sort((a, b) => (Number(b[1]) - scheduled.get(b[0]!)!) - (Number(a[1]) - scheduled.get(a[0]!)!)).slice(0, 5)
    console.log(`slowest to Running: ${slowest.map(([id, t, pid]) =>
      `run #${order.indexOf(id!) + 1} ${Number(t) - scheduled.get(id!)!} ms (claimed after ${pendingOf.get(id!) ?? "?"} ms; process ${pid}'s run ${nth.get(id!)})`).join(", ")}`)
    show("scheduled → Pending (claimed)", toPending)
    show("scheduled → Running (code started)", toRunning)
    if (errors.length > 0) console.log(`agent errors (${errors.length}): ${errors.slice(0, 5).join(" | ")}`)
  } finally {
    server.kill("SIGTERM")
    fs.rmSync(home, { recursive: true, force: true })
  }
}

await main()
process.exit(0)
