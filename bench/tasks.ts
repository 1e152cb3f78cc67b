/**
 * Benchmark, in three parts (`PARTS`, default all):
 * - `shapes`: the shapes users write (bench/shapes.ts) — an awaited loop of 1,000 tasks, 1,000 one-task flows at once,
 *   a one-task flow's latency — cold and warm, with commits per run and peak RSS, on SQLite and, with
 *   `ORION_BENCH_PG_URL` set (a PostgreSQL server; each child gets a database of its own), on PostgreSQL;
 * - `script`: a one-task-flow script on an existing database, from `node` start to exit, compiled and under tsx;
 *   (`DBS=sqlite,pg` and `SHAPES=loop,flows,latency,all` pick some);
 * - `map`: one flow run with N no-op task runs (N = 1,000 and 10,000) on the sequential and the concurrent task
 * runner, local mode on a fresh SQLite database per configuration, each configuration in its own child process.
 * Prints one line per configuration: task runs/s, ms per task run, peak RSS of that process.
 *
 * The children run Orion compiled to JavaScript under plain `node` (as a deployed flow runs), built first with `tsc`
 * into build/bench. For comparison, the 10,000-task configurations run once more under `tsx` (as `npx tsx flow.ts`
 * does in development): tsx's loader runs in a thread of its own, ~75 MB of RSS that is tsx's, not Orion's.
 *
 * Each child runs the configuration's flow three times: first cold (the process's first flow, as a one-off script
 * runs it), then a warm-up flow of WARMUP task runs (default 5,000), then the measured flow. V8 optimises the code
 * paths of a task run only after a few thousand of them (with `--no-opt` a process stays at its cold rate, about
 * half the warm one), so the line gives the warm rate — the steady state of a process that keeps running flows —
 * and the cold one beside it. `N`, `RUNNERS`, `WARMUP` and `TSX=0` pick the rest.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { compiledBench } from "./build.js"
import { runShape, type Shape, shapeLines, shapes } from "./shapes.js"

type Runner = "sequential" | "concurrent"
interface Figures {
  readonly runner: Runner
  readonly n: number
  readonly seconds: number
  /** The same flow as the process's first, before any warm-up. */
  readonly coldSeconds: number
  readonly peakRss: number
  readonly state: string
}

/** A count from the environment: a whole number ≥ `min`, or a clear error naming the variable. */
const countFrom = (name: string, text: string, min: number): number => {
  const n = Number(text)
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be a whole number ≥ ${min}; got '${text}'`)
  return n
}

/** The child: runs one configuration and prints its figures as one JSON line. */
const child = async (runner: Runner, n: number) => {
  const { Effect } = await import("effect")
  const { concurrent, flow, Orion, sequential, task } = await import("../src/index.js")
  const noop = task({ name: "noop" }, (_i: number) => Effect.void)
  const many = flow({ name: `bench-${runner}`, taskRunner: runner === "sequential" ? sequential() : concurrent() }, ({ n }: { n: number }) =>
    Effect.asVoid(noop.map(Array.from({ length: n }, (_, i) => i))))

  const timed = async () => {
    const t0 = performance.now()
    const state = await many.run({ n })
    return { state, seconds: (performance.now() - t0) / 1000 }
  }
  // cold: the process's first flow (it opens and migrates the database, and runs on code V8 has not optimised yet)
  const cold = await timed()
  if (cold.state.type !== "COMPLETED") throw new Error(`the cold flow run ended ${cold.state.name}`)
  // warm-up: the code paths of a task run optimised by V8, which takes a few thousand of them
  await many.run({ n: countFrom("WARMUP", process.env.WARMUP ?? "5000", 0) })
  const t0 = performance.now()
  const state = await many.run({ n })
  const seconds = (performance.now() - t0) / 1000
  // The process's own high-water mark (getrusage): no sampling timer to miss a peak, or to cost CPU in the run
  // (`process.memoryUsage()` every 10 ms took ~1.5 % of it in a profile).
  const peakRss = Math.max(process.memoryUsage().rss, process.resourceUsage().maxRSS * 1024)
  await Orion.shutdown()
  const figures: Figures = { runner, n, seconds, coldSeconds: cold.seconds, peakRss, state: state.name }
  console.log(JSON.stringify(figures))
}

const line = (how: string, f: Figures) =>
  `sqlite ${f.runner} n=${f.n}${how}: ${Math.round(f.n / f.seconds)} task runs/s, ${(f.seconds * 1000 / f.n).toFixed(2)} ms/task, ` +
  `rss ${Math.round(f.peakRss / 1e6)} MB (flow run ${f.state}, ${f.seconds.toFixed(2)} s; cold, as the process's first flow: ` +
  `${Math.round(f.n / f.coldSeconds)} task runs/s)`

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

/** A fresh database for one child: a SQLite home, or a database of its own on the bench's PostgreSQL server. */
const freshDatabase = async (db: "sqlite" | "pg"): Promise<{ env: Record<string, string>; drop: () => Promise<void> }> => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "orion-bench-tasks-"))
  const removeHome = async () => fs.rmSync(home, { recursive: true, force: true })
  if (db === "sqlite") return { env: { ORION_HOME: home, ORION_DATABASE_URL: "", ORION_API_URL: "" }, drop: removeHome }
  const pg = createRequire(import.meta.url)("pg")
  const server = process.env.ORION_BENCH_PG_URL!
  const name = `orion_bench_${process.pid}_${Math.random().toString(36).slice(2, 8)}`
  const admin = new pg.Client({ connectionString: server })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${name}`)
  await admin.end()
  const url = new URL(server)
  url.pathname = `/${name}`
  return {
    env: { ORION_HOME: home, ORION_DATABASE_URL: url.toString(), ORION_API_URL: "" },
    drop: async () => {
      const c = new pg.Client({ connectionString: server })
      await c.connect()
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await c.end()
      await removeHome()
    }
  }
}

/** The shapes, each in a child process of its own on a fresh database. */
const shapesPart = async (compiled: string, dbs: ReadonlyArray<"sqlite" | "pg">) => {
  let failed = false
  for (const db of dbs) {
    for (const shape of shapes.filter((s) => (process.env.SHAPES ?? shapes.join(",")).split(",").includes(s))) {
      const fresh = await freshDatabase(db)
      const out = spawnSync(process.execPath, [compiled, "--shape", shape], {
        env: { ...process.env, ...fresh.env }, encoding: "utf8", maxBuffer: 64 * 1024 * 1024
      })
      await fresh.drop()
      const json = out.stdout.split("\n").find((l) => l.startsWith("{"))
      if (out.status !== 0 || json === undefined) {
        failed = true
        console.log(`${db} ${shape}: FAILED (exit ${out.status})\n${out.stderr.slice(-2000)}`)
        continue
      }
      for (const l of shapeLines(db, JSON.parse(json))) console.log(l)
    }
  }
  return failed
}

/** A one-task-flow script on an existing database, from `node` start to exit: compiled, then under tsx. */
const scriptPart = async (root: string, dbs: ReadonlyArray<"sqlite" | "pg">) => {
  let failed = false
  const compiled = compiledBench(root, "bench/one-flow-script.ts")
  const source = path.join(root, "bench", "one-flow-script.ts")
  for (const db of dbs) {
    const fresh = await freshDatabase(db)
    const time = (args: ReadonlyArray<string>) => {
      const t0 = performance.now()
      const out = spawnSync(process.execPath, args, { env: { ...process.env, ...fresh.env }, encoding: "utf8" })
      const ms = performance.now() - t0
      if (out.status !== 0) {
        failed = true
        console.log(`${db} script: FAILED (exit ${out.status})\n${out.stderr.slice(-2000)}`)
      }
      return ms
    }
    time([compiled]) // creates the database: the timed runs find it there
    const runs = Number(process.env.SCRIPT_RUNS ?? "7")
    const node = Array.from({ length: runs }, () => time([compiled]))
    const tsx = Array.from({ length: 3 }, () => time(["--import", "tsx", source]))
    const nodeOnly = Array.from({ length: 3 }, () => time(["-e", "0"]))
    await fresh.drop()
    console.log(`${db} one-task-flow script on an existing database, node start to exit: compiled median ${Math.round(median(node))} ms ` +
      `(min ${Math.round(Math.min(...node))}, ${runs} runs); under tsx median ${Math.round(median(tsx))} ms; \`node -e 0\` alone ${Math.round(median(nodeOnly))} ms`)
  }
  return failed
}

/** The map part: one child process per configuration, each on a fresh ORION_HOME. */
const mapPart = (root: string) => {
  const sizes = (process.env.N ?? "1000,10000").split(",").map((n) => countFrom("N", n.trim(), 1))
  countFrom("WARMUP", process.env.WARMUP ?? "5000", 0)
  const runners = (process.env.RUNNERS ?? "sequential,concurrent").split(",") as Array<Runner>
  const self = fileURLToPath(import.meta.url)
  const compiled = compiledBench(root, "bench/tasks.ts")
  let failed = false
  const run = (how: string, args: ReadonlyArray<string>, runner: Runner, n: number) => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "orion-bench-tasks-"))
    const out = spawnSync(process.execPath, [...(process.env.NODE_BENCH_FLAGS ?? "").split(" ").filter(Boolean), ...args, "--child", runner, String(n)], {
      // a process the benchmark starts tunes its heap as `orion start` does (ORION_TUNE_HEAP=false to compare)
      env: { ORION_TUNE_HEAP: "true", ...process.env, ORION_HOME: home, ORION_DATABASE_URL: "", ORION_API_URL: "" },
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024
    })
    fs.rmSync(home, { recursive: true, force: true })
    const json = out.stdout.split("\n").find((l) => l.startsWith("{"))
    if (out.status !== 0 || json === undefined) {
      failed = true
      console.log(`sqlite ${runner} n=${n}${how}: FAILED (exit ${out.status})\n${out.stderr.slice(-2000)}`)
      return
    }
    console.log(line(how, JSON.parse(json) as Figures))
  }
  for (const n of sizes) for (const runner of runners) run("", [compiled], runner, n)
  if (process.env.TSX !== "0") for (const n of sizes.filter((n) => n >= 10_000)) for (const runner of runners) run(" under tsx", ["--import", "tsx", self], runner, n)
  return failed
}

const parent = async () => {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
  const parts = (process.env.PARTS ?? "shapes,script,map").split(",").map((p) => p.trim())
  const dbs = (process.env.DBS ?? (process.env.ORION_BENCH_PG_URL ? "sqlite,pg" : "sqlite")).split(",").map((d) => d.trim()) as Array<"sqlite" | "pg">
  if (dbs.includes("pg") && !process.env.ORION_BENCH_PG_URL) throw new Error("DBS includes pg: set ORION_BENCH_PG_URL")
  console.log(`# bench/tasks on ${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, node ${process.version}, ${new Date().toISOString()}`)
  if (!process.env.ORION_BENCH_PG_URL) console.log("# PostgreSQL: not measured (set ORION_BENCH_PG_URL to a server's URL; each child gets a database of its own)")
  let failed = false
  if (parts.includes("shapes")) failed = (await shapesPart(compiledBench(root, "bench/tasks.ts"), dbs)) || failed
  if (parts.includes("script")) failed = (await scriptPart(root, dbs)) || failed
  if (parts.includes("map")) failed = mapPart(root) || failed
  if (failed) process.exitCode = 1
}

const args = process.argv.slice(2)
if (args[0] === "--child") await child(args[1] as Runner, Number(args[2]))
else if (args[0] === "--shape") console.log(JSON.stringify(await runShape(args[1] as Shape, countFrom("WARMUP", process.env.SHAPES_WARMUP ?? "1000", 0))))
else await parent()
