/**
 * A user's script for the remote-mode tests, run as `node --import tsx test/support/remote-flow-script.ts <mode>` with
 * ORION_API_URL set. "showcase": tasks, a map, a retried task, a subflow and logs. "sleepy <n>": n tasks that sleep a
 * little, four at a time. Prints one JSON line: the final state, and how many times each task body ran.
 */
import { Effect } from "effect"
import { concurrent, flow, getRunLogger, Orion, task } from "../../src/index.js"

const bodies = new Map<string, number>()
const ran = (key: string) => bodies.set(key, (bodies.get(key) ?? 0) + 1)

let flakyCalls = 0

const extract = task({ name: "extract" }, (n: number) =>
  Effect.gen(function*() {
    ran("extract")
    yield* Effect.log(`extracting ${n} rows`)
    return Array.from({ length: n }, (_, i) => i + 1)
  }))
const square = task({ name: "square" }, (x: number) => Effect.sync(() => (ran(`square-${x}`), x * x)))
const flakySum = task({ name: "flaky-sum", retries: 2, retryDelay: 0.1 }, async (xs: ReadonlyArray<number>) => {
  ran("flaky-sum")
  flakyCalls++
  getRunLogger().info(`summing, attempt ${flakyCalls}`)
  if (flakyCalls < 2) throw new Error(`flaky failure on attempt ${flakyCalls}`)
  return xs.reduce((a, b) => a + b, 0)
})
const describeTotal = flow({ name: "describe-total" }, async ({ total }: { total: number }) => {
  getRunLogger().warning(`describing ${total}`)
  return `the total is ${total}`
})

const showcase = flow({ name: "remote-showcase" }, ({ n }: { n: number }) =>
  Effect.gen(function*() {
    const rows = yield* extract(n)
    const squares = yield* square.map(rows)
    const total = yield* flakySum(squares)
    const summary = yield* describeTotal({ total })
    yield* Effect.log(`done: ${summary}`)
    return { total, summary }
  }))

const nap = task({ name: "nap" }, (i: number) =>
  Effect.gen(function*() {
    ran(`nap-${i}`)
    yield* Effect.sleep("150 millis")
    yield* Effect.log(`nap ${i} done`)
    return i * 10
  }))

const sleepy = flow({ name: "remote-sleepy", taskRunner: concurrent({ limit: 4 }) }, ({ n }: { n: number }) =>
  Effect.map(nap.map(Array.from({ length: n }, (_, i) => i)), (xs) => xs.reduce((a, b) => a + b, 0)))

const [mode, arg] = process.argv.slice(2)
const state = mode === "sleepy" ? await sleepy.run({ n: Number(arg ?? 12) }) : await showcase.run({ n: 4 })
await Orion.shutdown()
console.log(JSON.stringify({
  flow_run_id: state.state_details.flow_run_id,
  type: state.type,
  name: state.name,
  message: state.message,
  data: state.data,
  bodies: Object.fromEntries(bodies)
}))
