/**
 * The shapes users write, as bench:tasks runs them in a child process each: an awaited loop of tasks whose results are
 * used, many one-task flows started at once, and the latency of one small flow — each cold (the process's first) and
 * warm (after WARMUP task runs in all, what a process that has run a few flows has seen) — plus the three in one
 * process for its peak RSS. Prints one JSON line of figures.
 */
import { commits, installCommitCounter } from "./commit-counter.js"

export type Shape = "loop" | "flows" | "latency" | "all"
export const shapes: ReadonlyArray<Shape> = ["loop", "flows", "latency", "all"]

export interface Measured {
  /** Runs per second (task runs for the loop, flow runs for the others). */
  readonly rate: number
  readonly seconds: number
  /** Per-flow latencies in ms (latency shape). */
  readonly p50?: number
  readonly p99?: number
  readonly first?: number
  /** Commits per run (task run for the loop, flow run for the others). */
  readonly commitsPerRun: number
}

export interface ShapeFigures {
  readonly shape: Shape
  readonly cold?: Measured
  readonly warm: Record<string, Measured>
  readonly peakRss: number
}

const LOOP_N = 1_000
const FLOWS_N = 1_000
const LATENCY_N = 200

const percentile = (sorted: ReadonlyArray<number>, p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!

export const runShape = async (shape: Shape, warmup: number): Promise<ShapeFigures> => {
  installCommitCounter()
  const { flow, Orion, task } = await import("../src/index.js")

  const addOne = task({ name: "add-one" }, async (x: number) => x + 1)
  const awaitedLoop = flow({ name: "awaited-loop" }, async ({ n }: { n: number }) => {
    let x = 0
    for (let i = 0; i < n; i++) x = await addOne(x)
    return x
  })
  const double = task({ name: "double" }, async (x: number) => x * 2)
  const oneTaskFlow = flow({ name: "one-task-flow" }, async ({ x }: { x: number }) => double(x))

  const check = (ok: boolean, what: string) => {
    if (!ok) throw new Error(`bench shape ${shape}: ${what}`)
  }

  const loop = async (n: number): Promise<Measured> => {
    const c0 = commits()
    const t0 = performance.now()
    const sum = await awaitedLoop({ n })
    const seconds = (performance.now() - t0) / 1000
    check(sum === n, `the awaited loop returned ${sum}`)
    return { rate: n / seconds, seconds, commitsPerRun: (commits() - c0) / n }
  }
  const flows = async (n: number): Promise<Measured> => {
    const c0 = commits()
    const t0 = performance.now()
    const results = await Promise.all(Array.from({ length: n }, (_, x) => oneTaskFlow({ x })))
    const seconds = (performance.now() - t0) / 1000
    check(results.every((r, x) => r === 2 * x), "a one-task flow returned a wrong result")
    return { rate: n / seconds, seconds, commitsPerRun: (commits() - c0) / n }
  }
  const latency = async (n: number): Promise<Measured> => {
    const c0 = commits()
    const times: Array<number> = []
    const t0 = performance.now()
    for (let x = 0; x < n; x++) {
      const t = performance.now()
      const result = await oneTaskFlow({ x })
      times.push(performance.now() - t)
      check(result === 2 * x, `a one-task flow returned ${result}`)
    }
    const seconds = (performance.now() - t0) / 1000
    const sorted = [...times].sort((a, b) => a - b)
    return { rate: n / seconds, seconds, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), first: times[0]!, commitsPerRun: (commits() - c0) / n }
  }
  const measure = { loop: () => loop(LOOP_N), flows: () => flows(FLOWS_N), latency: () => latency(LATENCY_N) }
  const taskRuns = { loop: LOOP_N, flows: FLOWS_N, latency: LATENCY_N }

  /** Task runs of one-task flows, 100 at a time, until `total` task runs have been made. */
  const warmUp = async (total: number) => {
    for (let done = 0; done < total; done += 100) await flows(Math.min(100, total - done))
  }

  let cold: Measured | undefined
  const warm: Record<string, Measured> = {}
  if (shape === "all") {
    await warmUp(warmup)
    for (const s of ["loop", "flows", "latency"] as const) warm[s] = await measure[s]()
  } else {
    cold = await measure[shape]()
    await warmUp(Math.max(0, warmup - taskRuns[shape]))
    warm[shape] = await measure[shape]()
  }
  const peakRss = Math.max(process.memoryUsage().rss, process.resourceUsage().maxRSS * 1024)
  await Orion.shutdown()
  return { shape, ...(cold ? { cold } : {}), warm, peakRss }
}

const fmt = (m: Measured, unit: string) =>
  m.p50 !== undefined
    ? `p50 ${m.p50.toFixed(2)} ms, p99 ${m.p99!.toFixed(2)} ms (first ${m.first!.toFixed(1)} ms; ${Math.round(m.rate)} ${unit}/s), ${m.commitsPerRun.toFixed(2)} commits/flow run`
    : `${Math.round(m.rate)} ${unit}/s, ${m.commitsPerRun.toFixed(2)} commits/${unit.replace(/s$/, "")}`

const titles = {
  loop: ["awaited loop (1,000 tasks, each result used)", "task runs"],
  flows: ["1,000 one-task flows at once", "flow runs"],
  latency: ["one-task flow × 200 in a row", "flow runs"]
} as const

/** The lines a child's figures print as. */
export const shapeLines = (db: string, f: ShapeFigures): Array<string> => {
  const rss = `rss ${Math.round(f.peakRss / 1e6)} MB`
  if (f.shape === "all") {
    return [`${db} the three shapes in one process, warm: peak ${rss} (` +
      (["loop", "flows", "latency"] as const).map((s) => `${s} ${fmt(f.warm[s]!, titles[s][1]).split(",")[0]}`).join("; ") + ")"]
  }
  const [title, unit] = titles[f.shape]
  return [`${db} ${title}: warm ${fmt(f.warm[f.shape]!, unit)}; cold ${fmt(f.cold!, unit)}; ${rss}`]
}
