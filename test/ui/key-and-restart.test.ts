/**
 * The dashboard in Chromium under `ORION_API_KEY`, and across a restart of `orion start`: without the key the page says
 * what to do, in place; with the key entered it reads the API and the event stream (`?api_key=`); after the server
 * stops and starts again, the open page catches up — events written meanwhile by another process are replayed from
 * `Last-Event-ID`, and new ones arrive live — without a reload.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { type Browser, chromium, type Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { tempDir } from "../support/databases.js"
import { freePort } from "../support/ports.js"

const root = fileURLToPath(new URL("../..", import.meta.url))
const chromiumPath = process.env.ORION_TEST_CHROMIUM ?? "/usr/bin/chromium"
const screenshots = path.join(root, ".orion-test", "screenshots")
const KEY = "ui-test-key-0123456789abcdef"

let orion: ChildProcess | undefined
let port = 0
let home = ""
let browser: Browser | undefined
let page: Page
const problems: Array<string> = []

const start = async () => {
  const env: NodeJS.ProcessEnv = { ...process.env, ORION_HOME: home, ORION_API_KEY: KEY }
  delete env.ORION_DATABASE_URL
  delete env.ORION_UI_DIR
  let output = ""
  orion = spawn(process.execPath, [path.join(root, "bin/orion.js"), "start", "--port", String(port)], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] })
  orion.stdout!.on("data", (d) => (output += d))
  orion.stderr!.on("data", (d) => (output += d))
  const deadline = Date.now() + 30_000
  while (!/UI: +http/.test(output)) {
    if (orion.exitCode !== null || Date.now() > deadline) throw new Error(`orion start did not report its UI:\n${output}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}
/** Stops the server with SIGTERM; one that has not exited 20 s later is killed and fails the test, naming the hang. */
const stop = async () => {
  const server = orion
  if (server === undefined || server.exitCode !== null) return
  const exited = new Promise((r) => server.once("exit", r))
  server.kill("SIGTERM")
  const timedOut = await Promise.race([exited.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), 20_000))])
  if (timedOut) {
    server.kill("SIGKILL")
    await exited
    throw new Error("orion start did not exit within 20 s of SIGTERM")
  }
}

const api = async (method: string, route: string, body?: unknown): Promise<any> => {
  const response = await fetch(`http://127.0.0.1:${port}${route}`, {
    method,
    headers: { authorization: `Bearer ${KEY}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  const text = await response.text()
  if (response.status >= 300) throw new Error(`${method} ${route}: ${response.status} ${text}`)
  return text === "" ? undefined : JSON.parse(text)
}

const within = async (what: string, ms: number, check: () => Promise<boolean>) => {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

beforeAll(async () => {
  fs.mkdirSync(screenshots, { recursive: true })
  port = await freePort()
  home = tempDir("orion-ui-key-home-")
  await start()
  browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
  })
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`))
}, 90_000)

afterAll(async () => {
  await browser?.close()
  await stop()
}, 30_000)

describe("the dashboard with an API key, across a restart", () => {
  it("without the key, says so in place; with it, shows the runs and follows the event stream", async () => {
    const flow = await api("POST", "/api/flows/", { name: "keyed-flow" })
    const run = await api("POST", "/api/flow_runs/", { flow_id: flow.id })
    await page.goto(`http://127.0.0.1:${port}/flow-runs`)
    await page.getByRole("alert").getByText("requires an API key").first().waitFor({ timeout: 10_000 })
    await page.screenshot({ path: path.join(screenshots, "api-key-missing.png") })

    await page.getByLabel("API key").fill(KEY)
    await page.getByRole("button", { name: "Use" }).click()
    await page.getByRole("link", { name: run.name }).waitFor({ timeout: 10_000 })
    await page.getByTestId("live-status").filter({ hasText: "live" }).waitFor({ timeout: 10_000 })
    const next = await api("POST", "/api/flow_runs/", { flow_id: flow.id })
    await within("a new run, live", 1000, () => page.locator(`tr[data-run-id="${next.id}"]`).isVisible())
    expect(problems).toEqual([])
  }, 60_000)

  it("after the server restarts, the open page catches up with what was written meanwhile, and follows live again", async () => {
    await stop()
    await within("the page to notice", 10_000, async () => !(await page.getByTestId("live-status").textContent())!.includes("live"))

    // Written while no server runs: a script in local mode on the same database.
    const env: NodeJS.ProcessEnv = { ...process.env, ORION_HOME: home }
    delete env.ORION_API_URL
    delete env.ORION_DATABASE_URL
    let output = ""
    const code = await new Promise<number | string | null>((resolve) => {
      const child = spawn(process.execPath, ["--import", "tsx", "examples/etl-async.ts"], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] })
      child.stdout!.on("data", (d) => (output += d))
      child.stderr!.on("data", (d) => (output += d))
      const timer = setTimeout(() => {
        child.kill("SIGKILL")
        resolve("did not exit within 45 s")
      }, 45_000)
      child.once("exit", (c) => {
        clearTimeout(timer)
        resolve(c)
      })
    })
    expect(code, output).toBe(0)

    await start()
    const [offline] = await api("POST", "/api/flow_runs/filter", { flows: { name: { any_: ["etl-async"] } }, limit: 1 })
    await within("the run written while the server was down", 15_000, () => page.locator(`tr[data-run-id="${offline.id}"]`).isVisible())
    await page.getByTestId("live-status").filter({ hasText: "live" }).waitFor({ timeout: 10_000 })
    const flow = await api("GET", "/api/flows/name/keyed-flow")
    const after = await api("POST", "/api/flow_runs/", { flow_id: flow.id })
    await within("a run created after the restart, live", 1000, () => page.locator(`tr[data-run-id="${after.id}"]`).isVisible())
    await page.screenshot({ path: path.join(screenshots, "after-restart.png") })
    expect(problems).toEqual([])
  }, 90_000)
})
