/**
 * Benchmark (issue 16, item 9): the flow-runs page in Chromium against `orion start`, with 100,000 flow runs in its
 * SQLite database — time until the page is interactive (first rows and the total count on screen, from navigation),
 * and the p95 of a filter change (a state checkbox clicked → list and count updated, timed inside the page).
 * Bars: interactive < 1 s, filter change < 300 ms. `N` sets the number of runs (default 100,000).
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { SqlClient } from "@effect/sql"
import { Effect, Layer } from "effect"
import { chromium } from "playwright-core"
import { formatTimestamp, newUuid, States, type FlowRunCreate, type Uuid } from "../src/domain/index.js"
import * as Database from "../src/storage/database.js"
import { EventBus } from "../runtime/event-bus.js"
import * as Orch from "../runtime/orchestrator.js"

const N = Number(process.env.N ?? 100_000)
const CHANGES = Number(process.env.CHANGES ?? 20)
const root = fileURLToPath(new URL("..", import.meta.url))
const percentile = (sorted: Array<number>, p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0

const flowRun = (flowId: Uuid): FlowRunCreate => ({
  name: null, flow_id: flowId, deployment_id: null, flow_version: null, parameters: {}, context: {},
  empirical_policy: { max_retries: 0, retry_delay_seconds: 0, retry_jitter_factor: 0 }, tags: [],
  idempotency_key: null, parent_task_run_id: null, state: null
})

/** N runs through the orchestrator: a third left Pending, a third Completed, a third Failed. */
const seed = (file: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const o = yield* Orch.Orchestrator
    const flowId = newUuid()
    const now = formatTimestamp(new Date())
    yield* sql`INSERT INTO flow (id, created, updated, name, tags) VALUES (${flowId}, ${now}, ${now}, ${"bench-ui"}, '[]')`
    yield* Effect.forEach(Array.from({ length: N }, (_, i) => i), (i) =>
      Effect.gen(function*() {
        const { id } = yield* o.createFlowRun(flowRun(flowId))
        if (i % 3 === 0) return
        yield* o.propose({ kind: "flow_run", id }, States.Running())
        yield* o.propose({ kind: "flow_run", id }, i % 3 === 1 ? States.Completed() : States.Failed())
      }), { concurrency: 200, discard: true })
  }).pipe(Effect.provide(Orch.layer().pipe(Layer.provideMerge(EventBus.layer), Layer.provideMerge(Database.layerFromUrl(file)))))

const main = async () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "orion-bench-ui-"))
  console.log(`# bench/ui on ${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, node ${process.version}, ${new Date().toISOString()}`)
  const t0 = performance.now()
  await Effect.runPromise(seed(path.join(home, "orion.db")))
  console.log(`seeded ${N} flow runs in ${((performance.now() - t0) / 1000).toFixed(1)} s`)

  const port = 4300 + Math.floor(Math.random() * 500)
  const env: NodeJS.ProcessEnv = { ...process.env, ORION_HOME: home }
  delete env.ORION_DATABASE_URL
  delete env.ORION_API_KEY
  const orion = spawn(process.execPath, [path.join(root, "bin/orion.js"), "start", "--port", String(port)], { cwd: root, env, stdio: ["ignore", "pipe", "inherit"] })
  let output = ""
  orion.stdout!.on("data", (d) => (output += d))
  while (!/UI: +http/.test(output)) {
    if (orion.exitCode !== null) throw new Error(output)
    await new Promise((r) => setTimeout(r, 100))
  }
  const browser = await chromium.launch({
    executablePath: process.env.ORION_TEST_CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
  })
  try {
    const interactive: Array<number> = []
    for (let i = 0; i < 5; i++) {
      const page = await browser.newPage()
      const started = performance.now()
      await page.goto(`http://127.0.0.1:${port}/flow-runs`)
      await page.getByTestId("run-count").filter({ hasText: `(${N})` }).waitFor({ timeout: 30_000 })
      await page.locator("table[data-testid=flow-runs] tr[data-run-id]").first().waitFor({ timeout: 30_000 })
      interactive.push(performance.now() - started)
      if (i < 4) await page.close()
      else {
        const changes: Array<number> = []
        const states = ["completed", "failed", "pending"]
        for (let c = 0; c < CHANGES; c++) {
          const label = states[c % states.length]!
          for (const on of [true, false]) {
            const expected = on ? `(${label === "pending" ? Math.ceil(N / 3) : label === "completed" ? Math.floor((N + 1) / 3) : Math.floor(N / 3)})` : `(${N})`
            const badge = on ? label[0]!.toUpperCase() + label.slice(1) : null
            // A string, not a function: tsx would wrap a function's inner helpers in its `__name`, unknown in the page.
            changes.push(await page.evaluate(`new Promise((resolve) => {
              const box = [...document.querySelectorAll("label")].find((l) => l.textContent.trim() === ${JSON.stringify(label)}).querySelector("input")
              const expected = ${JSON.stringify(expected)}
              const badge = ${JSON.stringify(badge)}
              const t = performance.now()
              const done = () => {
                const count = document.querySelector("[data-testid=run-count]")?.textContent
                const badges = [...document.querySelectorAll("table[data-testid=flow-runs] .badge")].map((b) => b.textContent)
                return count === expected && badges.length > 0 && (badge === null || badges.every((b) => b === badge))
              }
              const observer = new MutationObserver(() => {
                if (done()) {
                  observer.disconnect()
                  resolve(performance.now() - t)
                }
              })
              observer.observe(document.body, { subtree: true, childList: true, characterData: true })
              box.click()
            })`) as number)
          }
        }
        changes.sort((a, b) => a - b)
        console.log(`filter change (state checkbox on/off, ${changes.length} changes): p50 ${percentile(changes, 0.5).toFixed(0)} ms, p95 ${percentile(changes, 0.95).toFixed(0)} ms, max ${changes.at(-1)!.toFixed(0)} ms (bar: p95 < 300 ms)`)
      }
    }
    const sorted = [...interactive].sort((a, b) => a - b)
    console.log(`flow-runs page interactive (navigation → rows and count of ${N} on screen), 5 loads: ${interactive.map((t) => t.toFixed(0)).join(", ")} ms; median ${percentile(sorted, 0.5).toFixed(0)} ms (bar: < 1000 ms; the first load is cold)`)
  } finally {
    await browser.close()
    orion.kill("SIGTERM")
    await new Promise((r) => orion.once("exit", r))
    fs.rmSync(home, { recursive: true, force: true })
  }
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
