/**
 * The dashboard in real Chromium against a real `orion start` on its SQLite file: the flow-runs list filtered by
 * deployment and by state name (kept in the URL, saved and applied as a saved search), and the page of a flow run with
 * ten thousand task runs — every one counted, a virtualised list, the canvas timeline drawn with all of them, the
 * dependency graph on a canvas — that stays usable: its list filters and scrolls, a box of the graph opens its task run. Screenshots go to `.orion-test/screenshots/` (not committed).
 */
import * as path from "node:path"
import type { Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { CHAIN, seedFlowRunWithTaskRuns } from "../../bench/ui-seed.js"
import { tempDir } from "../support/databases.js"
import { screenshots, startUiSession, type UiSession } from "./harness.js"

const TASKS = 10_000

let ui: UiSession | undefined
let base = ""
let page: Page
let problems: Array<string> = []
let bigRunId = ""

const api = (method: string, route: string, body?: unknown) => ui!.api(method, route, body)

beforeAll(async () => {
  const home = tempDir("orion-ui-volume-")
  // Through the orchestrator, before the server starts: one Completed flow run with 10,000 task runs.
  bigRunId = await seedFlowRunWithTaskRuns(path.join(home, "orion.db"), TASKS, "ten-thousand-tasks")
  ui = await startUiSession(home)
  ;({ base, page, problems } = ui)
}, 120_000)

afterAll(async () => {
  await ui?.stop()
}, 30_000)

const count = (n: number) => page.getByTestId("run-count").filter({ hasText: `(${n})` }).waitFor({ timeout: 10_000 })
const rowIds = async () => (await page.locator("table[data-testid=flow-runs] tr[data-run-id]").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-run-id")))).sort()

describe("the dashboard in Chromium: filters and volume", () => {
  it("shows each deployment's work queue, retries, catch-up window and overlap policy", async () => {
    const flow = await api("POST", "/api/flows/", { name: "policies-flow" })
    await api("POST", "/api/deployments/", {
      name: "sturdy", flow_id: flow.id, flow_data: { encoding: "file", blob: "/flows/x.ts" }, work_queue: "reports",
      empirical_policy: { max_retries: 2, retry_delay_seconds: 0, retry_jitter_factor: 0, retry_crashed: true }, catchup_seconds: 600, overlap: "skip"
    })
    await page.goto(`${base}/deployments`)
    const policies = page.getByRole("region", { name: "Deployment sturdy" }).getByTestId("deployment-policies")
    await policies.waitFor({ timeout: 10_000 })
    expect((await policies.textContent())!.replace(/\s+/g, " ").trim())
      .toBe("work queue: reports · retries: 2, crashes included · catch-up: runs missed by more than 600 s are skipped · overlap: skip")
  })

  it("filters flow runs by deployment and by state name, kept in the URL and in a saved search", async () => {
    const flow = await api("POST", "/api/flows/", { name: "deployed-flow" })
    const deployment = (name: string) =>
      api("POST", "/api/deployments/", { name, flow_id: flow.id, flow_data: { encoding: "file", blob: "/flows/x.ts" }, schedule: null, is_schedule_active: false })
    const nightly = await deployment("nightly")
    const hourly = await deployment("hourly")
    const nightlyRuns = [
      await api("POST", `/api/deployments/${nightly.id}/create_flow_run`, {}),
      await api("POST", `/api/deployments/${nightly.id}/create_flow_run`, {})
    ]
    const hourlyRun = await api("POST", `/api/deployments/${hourly.id}/create_flow_run`, {})
    const late = await api("POST", "/api/flow_runs/", { flow_id: flow.id, state: { type: "SCHEDULED", name: "Late" } })
    expect(late.state_name).toBe("Late")
    const total = 1 + nightlyRuns.length + 2

    await page.goto(`${base}/flow-runs`)
    await count(total)
    await page.getByLabel("Deployment", { exact: true }).selectOption({ label: "deployed-flow / nightly" })
    await count(2)
    expect(await rowIds()).toEqual(nightlyRuns.map((r) => r.id).sort())
    expect(new URL(page.url()).searchParams.get("deployment")).toBe(nightly.id)
    await page.getByRole("tab", { name: "Scatter" }).click()
    await page.getByRole("img", { name: /Scatter of 2 flow runs/ }).waitFor()
    await page.getByRole("tab", { name: "List" }).click()

    await page.getByLabel("Deployment", { exact: true }).selectOption({ label: "All deployments" })
    await count(total)
    await page.getByLabel("State names (any of)").selectOption(["Late"])
    await count(1)
    expect(await rowIds()).toEqual([late.id])
    expect(new URL(page.url()).searchParams.get("name")).toBe("Late")
    await page.getByLabel("State names (any of)").selectOption(["Late", "Pending"])
    await count(total - 1)

    // A saved search keeps the deployment and the state names, and applies them again.
    await page.getByLabel("Deployment", { exact: true }).selectOption({ label: "deployed-flow / hourly" })
    await count(1)
    expect(await rowIds()).toEqual([hourlyRun.id])
    await page.getByLabel("Save this filter as").fill("hourly, pending or late")
    await page.getByRole("button", { name: "Save", exact: true }).click()
    await page.getByLabel("Saved search", { exact: true }).locator("option", { hasText: "hourly, pending or late" }).waitFor({ state: "attached", timeout: 5000 })
    const [saved] = await api("POST", "/api/saved_searches/filter", {})
    expect(saved.filters.flow_runs_query).toMatchObject({ deployment: hourly.id, name: "Late,Pending" })
    await page.getByRole("button", { name: "Clear all" }).click()
    await count(total)
    await page.getByLabel("Saved search", { exact: true }).selectOption({ label: "hourly, pending or late" })
    await page.getByRole("button", { name: "Apply" }).click()
    await count(1)
    expect(await rowIds()).toEqual([hourlyRun.id])
    expect(await page.getByLabel("Deployment", { exact: true }).inputValue()).toBe(hourly.id)
    await page.screenshot({ path: path.join(screenshots, "flow-runs-by-deployment.png"), fullPage: true })

    // A link with the filter in its URL: the list is filtered and the controls show it.
    await page.goto(`${base}/flow-runs?deployment=${nightly.id}&name=Pending`)
    await count(2)
    await page.getByLabel("Deployment", { exact: true }).locator("option", { hasText: "nightly" }).waitFor({ state: "attached" })
    expect(await page.getByLabel("Deployment", { exact: true }).inputValue()).toBe(nightly.id)
    expect(await page.getByLabel("State names (any of)").evaluate((el) => [...(el as HTMLSelectElement).selectedOptions].map((o) => o.value))).toEqual(["Pending"])

    // Keyboard: Tab reaches the deployment select, and the arrow keys change it.
    await page.getByRole("button", { name: "Clear all" }).click()
    await count(total)
    await page.getByLabel("Flow", { exact: true }).focus()
    await page.keyboard.press("Tab")
    expect(await page.evaluate("document.activeElement.id")).toBe("f-deployment")
    expect(problems).toEqual([])
  }, 60_000)

  it("a flow run with 10,000 task runs: all counted, its rows virtualised, its timeline drawn, and its list filters and scrolls", async () => {
    await page.goto(`${base}/flow-run/${bigRunId}?tab=tasks`)
    await page.getByTestId("task-run-count").filter({ hasText: `${TASKS} of ${TASKS} task runs` }).waitFor({ timeout: 60_000 })
    await page.locator(`[data-testid=timeline][data-drawn="${TASKS}"]`).waitFor({ timeout: 30_000 })
    await page.getByRole("img", { name: `Timeline of ${TASKS} task runs` }).waitFor()
    const list = page.getByTestId("task-runs")
    await list.getByRole("link").first().waitFor()
    // virtualised: a few dozen rows in the page, not ten thousand
    expect(await list.getByRole("listitem").count()).toBeLessThan(100)

    await page.getByLabel("Task run name contains").fill("step-9876")
    await page.getByTestId("task-run-count").filter({ hasText: `1 of ${TASKS} task runs` }).waitFor({ timeout: 10_000 })
    await list.getByRole("link", { name: "step-9876", exact: true }).waitFor()
    await page.getByLabel("Task run name contains").fill("")
    await page.getByLabel("State", { exact: true }).selectOption("FAILED")
    // every seventh task run failed
    await page.getByTestId("task-run-count").filter({ hasText: `${Math.floor(TASKS / 7)} of ${TASKS} task runs` }).waitFor({ timeout: 10_000 })
    await page.getByLabel("State", { exact: true }).selectOption("")
    await page.getByTestId("task-run-count").filter({ hasText: `${TASKS} of ${TASKS} task runs` }).waitFor({ timeout: 10_000 })

    // scrolled to the end, the list shows the last task runs (sorted by start); the timeline redraws where it is scrolled
    await list.evaluate((el) => (el.scrollTop = el.scrollHeight))
    const first = await page.evaluate(`fetch("/api/flow_runs/${bigRunId}/task_run_summaries?limit=4000").then((r) => r.json())`) as { id: Array<string>; next_after: string | null }
    expect(first.id).toHaveLength(4000)
    expect(first.next_after).toBe(first.id[3999])
    const all = await page.evaluate(`fetch("/api/flow_runs/${bigRunId}/task_run_summaries").then((r) => r.json())`) as { id: Array<string>; next_after: string | null }
    expect(all.id).toHaveLength(TASKS)
    expect(all.next_after).toBeNull()
    await list.getByRole("listitem").last().waitFor()
    const shownLast = await list.getByRole("link").last().textContent()
    expect(shownLast).toMatch(/^step-\d+$/)
    expect(await list.getByRole("link").filter({ hasText: "step-0" }).count()).toBe(0)
    await page.getByTestId("timeline").evaluate((el) => (el.scrollTop = el.scrollHeight))
    await page.screenshot({ path: path.join(screenshots, "flow-run-10000-tasks.png") })

    // the dependency graph of all 10,000 (chains of ten: nine dependencies in each) on a canvas, with a note that says so;
    // it reads the compact graph once, after the task runs have loaded; a click on a box opens that task run
    await page.getByRole("tab", { name: "Dependency graph" }).click()
    await page.locator(`[data-testid=graph-canvas][data-nodes="${TASKS}"]`).waitFor({ timeout: 30_000 })
    await page.getByTestId("graph-note").filter({ hasText: `${TASKS} task runs and ${(TASKS / CHAIN) * (CHAIN - 1)} dependencies` }).waitFor()
    expect(Number(await page.getByTestId("graph-canvas").getAttribute("data-shown"))).toBeLessThan(200)
    expect(await page.getByTestId("graph").count()).toBe(0)
    await page.getByTestId("graph-canvas").evaluate((el) => {
      el.scrollTop = 0
      el.scrollLeft = 0
    })
    // the first box of the first column: (4, 4) to (154, 30) in the graph
    await page.getByTestId("graph-canvas").locator("canvas").click({ position: { x: 40, y: 15 } })
    await page.waitForURL(/\/task-run\//, { timeout: 10_000 })
    await page.getByRole("heading", { name: /^step-\d+/ }).waitFor({ timeout: 10_000 })
    await page.goBack()
    await page.locator(`[data-testid=graph-canvas][data-nodes="${TASKS}"]`).waitFor({ timeout: 30_000 })

    // still responsive: another tab opens at once, and the URL keeps it
    await page.getByRole("tab", { name: "Logs" }).click()
    await page.getByTestId("log-count").filter({ hasText: "0 lines" }).waitFor({ timeout: 10_000 })
    expect(new URL(page.url()).searchParams.get("tab")).toBe("logs")
    expect(problems).toEqual([])
  }, 120_000)
})
