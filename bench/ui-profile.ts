/**
 * Where a page's start-up time goes (issue 16, item 9's "interactive" bar): loads the flow-runs page of `N` flow runs
 * (default 100,000) — or, with `TASKS` set, the flow-run page of one flow run with that many task runs — in Chromium a
 * few times with a CPU profile (the DevTools protocol's Profiler) and prints, per load,
 * the navigation's milestones (first byte of the HTML, first contentful paint, the first API request sent and answered,
 * rows on screen), the main thread's CPU time by script file, and the server's time to first byte for each API request.
 * `ORION_HOME` may name a home already seeded with `N` runs (it is kept); otherwise a temporary one is seeded.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { chromium } from "playwright-core"
import { seedFlowRuns, seedFlowRunWithTaskRuns } from "./ui-seed.js"
import { flowRunsInteractive, startOrion, taskRunsInteractive } from "./ui-support.js"

const N = Number(process.env.N ?? 100_000)
const LOADS = Number(process.env.LOADS ?? 5)
const TASKS = Number(process.env.TASKS ?? 0)

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string }
  children?: Array<number>
}
interface Profile {
  nodes: Array<ProfileNode>
  samples: Array<number>
  timeDeltas: Array<number>
}

/** The functions of a CPU profile with the most self time: `name (file:line)`, ms. */
const topFunctions = (profile: Profile, n: number): Array<[string, number]> => {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const out = new Map<string, number>()
  profile.samples.forEach((id, i) => {
    const { url, functionName } = byId.get(id)!.callFrame as { url: string; functionName: string; lineNumber?: number }
    if (url === "") return
    const key = `${functionName || "(anonymous)"} (${url.replace(/^https?:\/\/[^/]+\/assets\//, "")}:${(byId.get(id)!.callFrame as { lineNumber?: number }).lineNumber ?? 0})`
    out.set(key, (out.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000)
  })
  return [...out.entries()].sort((a, b) => b[1] - a[1]).slice(0, n)
}

/** Self time of a CPU profile grouped by script file (or V8's own categories: program, GC, idle). */
const selfTimeByFile = (profile: Profile): Map<string, number> => {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const out = new Map<string, number>()
  profile.samples.forEach((id, i) => {
    const node = byId.get(id)!
    const { url, functionName } = node.callFrame
    const key = url !== "" ? url.replace(/^https?:\/\/[^/]+/, "") : `(${functionName.replace(/[()]/g, "")})`
    out.set(key, (out.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000)
  })
  return out
}

const main = async () => {
  const kept = process.env.ORION_HOME
  const home = kept ?? fs.mkdtempSync(path.join(os.tmpdir(), "orion-ui-profile-"))
  const seeded = path.join(home, "flow-run-id")
  if (!fs.existsSync(path.join(home, "orion.db"))) {
    const t0 = performance.now()
    if (TASKS > 0) fs.writeFileSync(seeded, await seedFlowRunWithTaskRuns(path.join(home, "orion.db"), TASKS))
    else await seedFlowRuns(path.join(home, "orion.db"), N)
    console.log(`seeded ${TASKS > 0 ? `a flow run of ${TASKS} task runs` : `${N} flow runs`} in ${((performance.now() - t0) / 1000).toFixed(1)} s into ${home}`)
  }
  const PAGE = TASKS > 0 ? `/flow-run/${fs.readFileSync(seeded, "utf8")}?tab=tasks` : "/flow-runs"
  const { port, stop } = await startOrion(home)
  const browser = await chromium.launch({
    executablePath: process.env.ORION_TEST_CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
  })
  console.log(`# bench/ui-profile: ${PAGE} (${TASKS > 0 ? `${TASKS} task runs` : `${N} flow runs`}), ${os.cpus().length} cores, load ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}, ${new Date().toISOString()}`)
  try {
    for (let i = 0; i < LOADS; i++) {
      const page = await browser.newPage()
      const cdp = await page.context().newCDPSession(page)
      await cdp.send("Profiler.enable")
      await cdp.send("Profiler.setSamplingInterval", { interval: 200 })
      await cdp.send("Profiler.start")
      const started = performance.now()
      await page.goto(`http://127.0.0.1:${port}${PAGE}`)
      await (TASKS > 0 ? taskRunsInteractive(page, TASKS) : flowRunsInteractive(page, N))
      const interactive = performance.now() - started
      const { profile } = await cdp.send("Profiler.stop") as unknown as { profile: Profile }
      const timings = await page.evaluate(`(() => {
        const nav = performance.getEntriesByType("navigation")[0]
        const fcp = performance.getEntriesByName("first-contentful-paint")[0]
        const resources = performance.getEntriesByType("resource").map((r) => ({
          name: r.name.replace(location.origin, ""), start: r.startTime, ttfb: r.responseStart - r.requestStart, end: r.responseEnd, bytes: r.encodedBodySize
        }))
        return { htmlFirstByte: nav.responseStart, domContentLoaded: nav.domContentLoadedEventEnd, fcp: fcp ? fcp.startTime : null, resources, now: performance.now() }
      })()`) as {
        htmlFirstByte: number
        domContentLoaded: number
        fcp: number | null
        now: number
        resources: Array<{ name: string; start: number; ttfb: number; end: number; bytes: number }>
      }
      const byFile = [...selfTimeByFile(profile).entries()].filter(([, ms]) => ms >= 5).sort((a, b) => b[1] - a[1])
      const api = timings.resources.filter((r) => r.name.startsWith("/api/") && !r.name.startsWith("/api/events"))
      const scripts = timings.resources.filter((r) => r.name.startsWith("/assets/"))
      const f = (ms: number | null | undefined) => (ms === null || ms === undefined ? "—" : ms.toFixed(0))
      console.log(`load ${i + 1}: interactive ${f(interactive)} ms (from playwright's goto); in the page: HTML first byte ${f(timings.htmlFirstByte)}, DOMContentLoaded ${f(timings.domContentLoaded)}, first contentful paint ${f(timings.fcp)}, assets done ${f(Math.max(0, ...scripts.map((s) => s.end)))}`)
      console.log(`  assets (sent/answered): ${scripts.map((r) => `${r.name.replace(/^\/assets\//, "").replace(/-[\w-]{8}\./, ".")} ${f(r.start)}/${f(r.end)}`).join(", ")}`)
      for (const r of api) console.log(`  ${r.name}: sent ${f(r.start)}, server's time to first byte ${f(r.ttfb)}, answered ${f(r.end)} (${r.bytes} B)`)
      console.log(`  main-thread CPU by file (ms, ≥ 5): ${byFile.map(([k, ms]) => `${k} ${ms.toFixed(0)}`).join(", ")}`)
      if (process.env.FUNCTIONS !== undefined) console.log(`  top functions: ${topFunctions(profile, Number(process.env.FUNCTIONS) || 8).map(([k, ms]) => `${k} ${ms.toFixed(1)}`).join(", ")}`)
      await page.close()
    }
  } finally {
    await browser.close()
    await stop()
    if (kept === undefined) fs.rmSync(home, { recursive: true, force: true })
  }
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
