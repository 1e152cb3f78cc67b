/**
 * The dashboard in real Chromium (playwright-core) against a real `orion start` on 127.0.0.1 and its SQLite file:
 * every page loads without console errors, runs created through the API show, filtering narrows the list, a new run
 * and its state changes arrive without reload, a run written by another process (`examples/etl-async.ts`) appears
 * live, the flow-run page shows decisions and logs, and cancel shows the orchestrator's answer. Screenshots of each
 * page go to `.orion-test/screenshots/` (not committed). A missing Chromium fails these tests; it never skips them.
 */
import { spawn } from "node:child_process"
import * as path from "node:path"
import type { Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { tempDir } from "../support/databases.js"
import { root, screenshots, startUiSession, type UiSession } from "./harness.js"

/** A live state change must be on screen within this long (the bar is 1 s from each transition). */
const LIVE_MS = 1000

let ui: UiSession | undefined
let base = ""
let home = ""
let page: Page
let problems: Array<string> = []

const api = (method: string, route: string, body?: unknown) => ui!.api(method, route, body)
const setState = (id: string, type: string, extra: Record<string, unknown> = {}) =>
  api("POST", `/api/flow_runs/${id}/set_state`, { state: { type, ...extra } })

const shoot = (name: string) => page.screenshot({ path: path.join(screenshots, `${name}.png`), fullPage: true })

beforeAll(async () => {
  home = tempDir("orion-ui-home-")
  ui = await startUiSession(home)
  ;({ base, page, problems } = ui)
  expect(ui.output()).toContain(`UI:       ${base}/`)
}, 90_000)

afterAll(async () => {
  await ui?.stop()
}, 30_000)

/** Waits until `check` holds on the page, within `ms`; the failure says what was awaited. */
const within = async (what: string, ms: number, check: () => Promise<boolean>) => {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

const liveOn = (p: Page) => p.getByTestId("live-status").filter({ hasText: "live" }).waitFor({ timeout: 10_000 })

describe("the dashboard in Chromium", () => {
  let flow: any
  let etlRun: any
  const runs: Array<any> = []

  it("shows an empty state that says what to run, then every page loads without console errors", async () => {
    await page.goto(`${base}/flow-runs`)
    await liveOn(page)
    await expect(page.getByText("npx tsx examples/etl-async.ts").first().isVisible()).resolves.toBe(true)

    flow = await api("POST", "/api/flows/", { name: "ui-test-flow", tags: ["ui"] })
    for (const [i, tags] of [["red"], ["blue"], ["red", "blue"]].entries()) {
      runs.push(await api("POST", "/api/flow_runs/", { flow_id: flow.id, tags, parameters: { i } }))
    }
    await setState(runs[0].id, "RUNNING")
    await setState(runs[0].id, "COMPLETED")
    await setState(runs[1].id, "RUNNING")
    await setState(runs[1].id, "FAILED", { message: "boom" })

    for (const [name, route] of [["dashboard", "/"], ["flow-runs", "/flow-runs"], ["flows", "/flows"], ["deployments", "/deployments"], ["flow-run", `/flow-run/${runs[0].id}`]] as const) {
      await page.goto(`${base}${route}`)
      await page.locator("h1").first().waitFor()
      await page.waitForLoadState("networkidle")
      await shoot(name)
    }
    expect(problems).toEqual([])
  }, 60_000)

  it("the dashboard counts runs by state and lists the failure", async () => {
    await page.goto(`${base}/`)
    await page.getByTestId("count-COMPLETED").filter({ hasText: "1" }).waitFor({ timeout: 5000 })
    await page.getByTestId("count-FAILED").filter({ hasText: "1" }).waitFor({ timeout: 5000 })
    await page.getByRole("region", { name: "Recent failures" }).getByText(runs[1].name).waitFor({ timeout: 5000 })
    // `orion start` runs its services: the dashboard shows each, running
    for (const name of ["scheduler", "late-runs", "crash-detection"]) {
      await page.getByTestId("services").getByRole("row").filter({ hasText: name }).filter({ hasText: "running" }).waitFor({ timeout: 5000 })
    }
  })

  it("lists the runs created through the API, and filtering narrows the list", async () => {
    await page.goto(`${base}/flow-runs`)
    await page.getByTestId("run-count").filter({ hasText: "(3)" }).waitFor({ timeout: 5000 })
    for (const r of runs) await page.getByRole("link", { name: r.name }).waitFor()
    await page.getByLabel("Tags (all of, comma-separated)").fill("red")
    await page.getByLabel("Tags (all of, comma-separated)").press("Enter")
    await page.getByTestId("run-count").filter({ hasText: "(2)" }).waitFor({ timeout: 5000 })
    await page.getByRole("checkbox", { name: "failed" }).check()
    await page.getByTestId("run-count").filter({ hasText: "(0)" }).waitFor({ timeout: 5000 })
    await page.getByRole("button", { name: "Clear all" }).click()
    await page.getByTestId("run-count").filter({ hasText: "(3)" }).waitFor({ timeout: 5000 })
    await page.getByRole("checkbox", { name: "failed" }).check()
    await page.getByTestId("run-count").filter({ hasText: "(1)" }).waitFor({ timeout: 5000 })
    await page.getByRole("link", { name: runs[1].name }).waitFor()
    await page.getByRole("button", { name: "Clear all" }).click()
    expect(problems).toEqual([])
  }, 30_000)

  it("a page's first requests start before its bundle has run, and the page takes their answers instead of asking again", async () => {
    const fresh = await ui!.browser.newPage()
    const asked: Array<string> = []
    fresh.on("request", (r) => {
      const url = new URL(r.url())
      if (url.pathname.startsWith("/api/") && url.pathname !== "/api/events") asked.push(`${url.pathname}${url.search}`)
    })
    try {
      await fresh.goto(`${base}/flow-runs?state=FAILED&tags=blue`)
      await fresh.getByTestId("run-count").filter({ hasText: "(1)" }).waitFor({ timeout: 5000 })
      await fresh.getByRole("link", { name: runs[1].name }).waitFor()
      expect(await fresh.evaluate(() => document.documentElement.dataset.firstRequests)).toBe("2")
      expect(asked.filter((a) => a === "/api/flow_runs/summaries")).toHaveLength(1)
      expect(asked.filter((a) => a === "/api/flow_runs/count")).toHaveLength(1)

      asked.length = 0
      await fresh.goto(`${base}/flow-run/${runs[0].id}?tab=tasks`)
      await fresh.getByText("This flow run has no task runs.").waitFor({ timeout: 5000 })
      await fresh.locator("h1").filter({ hasText: runs[0].name }).waitFor({ timeout: 5000 })
      expect(await fresh.evaluate(() => document.documentElement.dataset.firstRequests)).toBe("3")
      expect(asked.filter((a) => a === `/api/flow_runs/${runs[0].id}`)).toHaveLength(1)
      expect(asked.filter((a) => a.startsWith(`/api/flow_runs/${runs[0].id}/task_run_summaries?limit=500`))).toHaveLength(1)

      // a malformed address starts nothing, and the page says what is wrong in place
      await fresh.goto(`${base}/flow-run/not-a-run`)
      await fresh.getByRole("alert").first().waitFor({ timeout: 5000 })
      expect(await fresh.evaluate(() => document.documentElement.dataset.firstRequests)).toBe("0")
    } finally {
      await fresh.close()
    }
  }, 30_000)

  it("saved searches: the current filter saved under a name, applied later, deleted", async () => {
    await page.goto(`${base}/flow-runs?state=FAILED`)
    await page.getByTestId("run-count").filter({ hasText: "(1)" }).waitFor({ timeout: 5000 })
    await page.getByLabel("Save this filter as").fill("only failures")
    await page.getByRole("button", { name: "Save", exact: true }).click()
    await page.getByLabel("Saved search", { exact: true }).locator("option", { hasText: "only failures" }).waitFor({ state: "attached", timeout: 5000 })
    await page.getByRole("button", { name: "Clear all" }).click()
    await page.getByTestId("run-count").filter({ hasText: "(3)" }).waitFor({ timeout: 5000 })
    await page.getByLabel("Saved search", { exact: true }).selectOption({ label: "only failures" })
    await page.getByRole("button", { name: "Apply" }).click()
    await page.getByTestId("run-count").filter({ hasText: "(1)" }).waitFor({ timeout: 5000 })
    await page.getByRole("button", { name: "Delete" }).click()
    await within("the saved search gone", 5000, async () => (await page.getByLabel("Saved search", { exact: true }).locator("option").count()) === 1)
    const stored = await api("POST", "/api/saved_searches/filter", {})
    expect(stored).toEqual([])
    await page.getByRole("button", { name: "Clear all" }).click()
    await page.getByRole("tab", { name: "Scatter" }).click()
    await page.getByRole("img", { name: /Scatter of 3 flow runs/ }).waitFor()
    await shoot("flow-runs-scatter")
    await page.getByRole("tab", { name: "List" }).click()
    expect(problems).toEqual([])
  }, 30_000)

  it("a run created during the test appears, and changes state on screen within 1 s of each transition, without reload", async () => {
    await page.goto(`${base}/flow-runs`)
    await liveOn(page)
    await page.getByTestId("run-count").filter({ hasText: "(3)" }).waitFor({ timeout: 5000 })
    const navigations: Array<string> = []
    page.on("framenavigated", (f) => navigations.push(f.url()))

    const run = await api("POST", "/api/flow_runs/", { flow_id: flow.id })
    const row = page.locator(`tr[data-run-id="${run.id}"]`)
    await within("the new run's row", LIVE_MS, () => row.isVisible())
    for (const type of ["RUNNING", "COMPLETED"]) {
      const answer = await setState(run.id, type)
      await within(`the run shown ${answer.state.name}`, LIVE_MS, async () => (await row.locator(".badge").textContent()) === answer.state.name)
    }
    expect(navigations).toEqual([])
    runs.push(run)
  }, 30_000)

  it("a flow run by another process on the same database (examples/etl-async.ts) appears live", async () => {
    await page.goto(`${base}/flow-runs`)
    await liveOn(page)
    const env: NodeJS.ProcessEnv = { ...process.env, ORION_HOME: home }
    delete env.ORION_API_URL
    delete env.ORION_DATABASE_URL
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(process.execPath, ["--import", "tsx", "examples/etl-async.ts"], { cwd: root, env, stdio: "ignore" })
      child.once("exit", resolve)
    })
    expect(code).toBe(0)
    const [run] = await api("POST", "/api/flow_runs/filter", { flows: { name: { any_: ["etl-async"] } }, limit: 1 })
    etlRun = run
    await within("the example's run, Completed", LIVE_MS, async () =>
      (await page.locator(`tr[data-run-id="${run.id}"] .badge`).textContent().catch(() => null)) === "Completed")

    await page.getByRole("link", { name: run.name }).click()
    await page.getByTestId("timeline").waitFor()
    await page.getByRole("tab", { name: "Task runs" }).click()
    await page.getByTestId("task-runs").getByRole("link", { name: "load-0" }).waitFor()
    await page.getByRole("tab", { name: "Dependency graph" }).click()
    await page.getByTestId("graph").getByRole("link", { name: "Task run load-0" }).waitFor()
    // load-0 took the results of transform-0 … transform-3: an edge from each.
    expect(await page.getByTestId("graph").locator("line").count()).toBe(4)
    await shoot("flow-run-etl")
  }, 60_000)

  it("the task-run page: states with decisions, tracked inputs linked; tabs by keyboard; the dark theme", async () => {
    await page.goto(`${base}/flow-run/${etlRun.id}`)
    const first = page.getByRole("tab", { name: "State history and decisions" })
    await first.focus()
    await page.keyboard.press("ArrowRight")
    await within("the Task runs tab selected by keyboard", 2000, async () =>
      (await page.getByRole("tab", { name: "Task runs" }).getAttribute("aria-selected")) === "true")
    expect(await page.evaluate("document.activeElement.textContent")).toBe("Task runs")
    await page.getByTestId("task-runs").getByRole("link", { name: "load-0" }).click()
    await page.getByTestId("task-state").getByText("Completed").waitFor()
    await page.getByTestId("decisions").getByText("ACCEPT").first().waitFor()
    const upstream = page.getByRole("link", { name: /^upstream task run/ })
    await within("four upstream task runs", 5000, async () => (await upstream.count()) === 4)
    await upstream.first().click()
    await page.locator("h1").getByText(/^transform-\d/).waitFor()

    await page.getByRole("button", { name: "Switch to dark theme" }).click()
    expect(await page.evaluate("document.documentElement.dataset.theme")).toBe("dark")
    await shoot("task-run-dark")
    await page.getByRole("button", { name: "Switch to light theme" }).click()
    expect(problems).toEqual([])
  }, 30_000)

  it("the flow-run page shows the decision trail (a refused proposal and its rule) and logs, with a live tail", async () => {
    const run = runs[0]
    // A completed run cannot run again: the orchestrator aborts the proposal, and records why.
    const refused = await setState(run.id, "RUNNING")
    expect(refused.status).toBe("ABORT")
    await api("POST", "/api/logs/", [{ name: "ui-test", level: 20, message: "first line", timestamp: new Date().toISOString(), flow_run_id: run.id, task_run_id: null }])

    await page.goto(`${base}/flow-run/${run.id}`)
    const decisions = page.getByTestId("decisions")
    await decisions.waitFor()
    await decisions.getByText("ABORT", { exact: true }).waitFor()
    await decisions.getByText("PreventTransitionsFromTerminalStates", { exact: true }).waitFor()
    await page.getByRole("tab", { name: "Logs" }).click()
    await page.getByTestId("logs").getByText("first line").waitFor()
    await liveOn(page)
    await api("POST", "/api/logs/", [{ name: "ui-test", level: 40, message: "a live error line", timestamp: new Date().toISOString(), flow_run_id: run.id, task_run_id: null }])
    await within("the live log line", LIVE_MS, () => page.getByTestId("logs").getByText("a live error line").isVisible())
    await page.getByLabel("Level").selectOption({ label: "Error and above" })
    await within("only the error line", 5000, async () => (await page.getByTestId("log-count").textContent()) === "1 lines")
    await shoot("flow-run-logs")
    expect(problems).toEqual([])
  }, 30_000)

  it("cancel from the flow-run page shows the orchestrator's answer, and the run ends Cancelled — a script's running flow too", async () => {
    const run = await api("POST", "/api/flow_runs/", { flow_id: flow.id })
    await setState(run.id, "RUNNING")
    await page.goto(`${base}/flow-run/${run.id}`)
    await page.getByTestId("run-state").getByText("Running").waitFor()
    await liveOn(page)
    await page.getByRole("button", { name: "Cancel" }).click()
    const answer = page.getByTestId("answer")
    await answer.getByText("ACCEPT").waitFor({ timeout: 5000 })
    await answer.getByText("Cancelling").waitFor()
    await within("the run shown Cancelling", LIVE_MS, async () => (await page.getByTestId("run-state").textContent()) === "Cancelling")
    // The run's process (here, the test) acknowledges the cancellation; the page follows live.
    await setState(run.id, "CANCELLED")
    await within("the run shown Cancelled", LIVE_MS, async () => (await page.getByTestId("run-state").textContent()) === "Cancelled")
    await shoot("flow-run-cancelled")

    // A flow run by a real script in another process: cancelled from the page, it ends Cancelled and the script stops.
    const env: NodeJS.ProcessEnv = { ...process.env, ORION_HOME: home }
    delete env.ORION_API_URL
    delete env.ORION_DATABASE_URL
    let printed = ""
    const script = spawn(process.execPath, ["--import", "tsx", "test/ui/fixtures/waiting-flow.ts"], { cwd: root, env, stdio: ["ignore", "pipe", "inherit"] })
    script.stdout!.on("data", (d) => (printed += d))
    const ended = new Promise<number | null>((resolve) => script.once("exit", resolve))
    await page.goto(`${base}/flow-runs?state=RUNNING`)
    const runningRow = page.locator("tr[data-run-id]").filter({ hasText: "waits-for-cancel" })
    await runningRow.waitFor({ timeout: 30_000 })
    await runningRow.getByRole("link").click()
    await page.getByTestId("run-state").getByText("Running").waitFor()
    await page.getByRole("button", { name: "Cancel" }).click()
    await page.getByTestId("answer").getByText("ACCEPT").waitFor({ timeout: 5000 })
    await within("the script's run shown Cancelled", 5000, async () => (await page.getByTestId("run-state").textContent()) === "Cancelled")
    expect(await ended).toBe(0)
    expect(JSON.parse(printed.trim().split("\n").at(-1)!)).toEqual({ type: "CANCELLED", name: "Cancelled" })
    await shoot("flow-run-script-cancelled")

    // A forced proposal through the set-state form: the answer is shown in place.
    await page.getByLabel("New state").selectOption("RUNNING")
    await page.getByRole("button", { name: "Propose" }).click()
    await page.getByRole("form", { name: "Set state" }).getByTestId("answer").getByText("ABORT").waitFor({ timeout: 5000 })
    expect(problems).toEqual([])
  }, 60_000)
})
