/**
 * Two or more builds of the dashboard compared on one database, interleaved (load 1 of each build, then load 2 of each …)
 * so that a shared machine's changing load falls on all of them alike: `UI_DIRS=/tmp/a:/tmp/b npx tsx bench/ui-ab.ts`.
 * Each build gets its own `orion start` (ORION_UI_DIR) on the same SQLite file; a load is a fresh browser context,
 * timed from navigation to the page being interactive as `bench/ui.ts` times it (the flow-runs page of `N` runs, or with
 * `TASKS` the flow-run page of that many task runs). `ORION_HOME` may name a home seeded before (bench/ui-profile.ts).
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { chromium, type Page } from "playwright-core"
import { seedFlowRuns, seedFlowRunWithTaskRuns } from "./ui-seed.js"
import { flowRunsInteractive, startOrion, taskRunsInteractive } from "./ui-support.js"

const N = Number(process.env.N ?? 100_000)
const TASKS = Number(process.env.TASKS ?? 0)
const LOADS = Number(process.env.LOADS ?? 8)
const dirs = (process.env.UI_DIRS ?? "").split(":").filter((d) => d !== "")
const median = (xs: Array<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0

const waitInteractive = (page: Page) => (TASKS > 0 ? taskRunsInteractive(page, TASKS) : flowRunsInteractive(page, N))

const main = async () => {
  if (dirs.length < 2) throw new Error("UI_DIRS: two or more built dashboards (ui/dist folders), separated by ':'")
  const kept = process.env.ORION_HOME
  const home = kept ?? fs.mkdtempSync(path.join(os.tmpdir(), "orion-ui-ab-"))
  const seeded = path.join(home, "flow-run-id")
  if (!fs.existsSync(path.join(home, "orion.db"))) {
    if (TASKS > 0) fs.writeFileSync(seeded, await seedFlowRunWithTaskRuns(path.join(home, "orion.db"), TASKS))
    else await seedFlowRuns(path.join(home, "orion.db"), N)
  }
  const route = TASKS > 0 ? `/flow-run/${fs.readFileSync(seeded, "utf8")}?tab=tasks` : "/flow-runs"
  const servers: Array<{ port: number; stop: () => Promise<void> }> = []
  const stopAll = async () => {
    for (const server of servers) await server.stop()
  }
  try {
    for (const dir of dirs) servers.push(await startOrion(home, { uiDir: dir }))
  } catch (e) {
    await stopAll()
    throw e
  }
  const browser = await chromium.launch({
    executablePath: process.env.ORION_TEST_CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
  })
  console.log(`# bench/ui-ab: ${route} (${TASKS > 0 ? `${TASKS} task runs` : `${N} flow runs`}), ${LOADS} loads each, interleaved; load ${os.loadavg()[0]!.toFixed(2)} at the start, ${new Date().toISOString()}`)
  const times = dirs.map(() => [] as Array<number>)
  const firstRequest = dirs.map(() => [] as Array<number>)
  try {
    for (let i = 0; i < LOADS; i++) {
      for (const [k, server] of servers.entries()) {
        const page = await browser.newPage()
        const started = performance.now()
        await page.goto(`http://127.0.0.1:${server.port}${route}`)
        await waitInteractive(page)
        times[k]!.push(performance.now() - started)
        firstRequest[k]!.push(await page.evaluate(`Math.min(...performance.getEntriesByType("resource").filter((r) => r.name.includes("/api/") && !r.name.includes("/api/events")).map((r) => r.startTime))`) as number)
        await page.close()
      }
    }
  } finally {
    await browser.close()
    await stopAll()
    if (kept === undefined) fs.rmSync(home, { recursive: true, force: true })
  }
  for (const [k, dir] of dirs.entries()) {
    console.log(`${dir}: interactive ${times[k]!.map((t) => t.toFixed(0)).join(", ")} ms; median ${median(times[k]!).toFixed(0)} ms; first API request sent at median ${median(firstRequest[k]!).toFixed(0)} ms`)
  }
  console.log(`load ${os.loadavg()[0]!.toFixed(2)} at the end`)
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
