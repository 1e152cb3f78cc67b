/**
 * What the dashboard's browser tests share: `orion start` (its UI served) on an SQLite home of the test's, one headless
 * Chromium page with the console errors and page errors it shows collected, a JSON caller of the API, and the stop.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { type Browser, chromium, type Page } from "playwright-core"
import { freePort } from "../support/ports.js"

export const root = fileURLToPath(new URL("../..", import.meta.url))
/** Screenshots of each page (not committed). */
export const screenshots = path.join(root, ".orion-test", "screenshots")

export interface UiSession {
  /** The server's origin, `http://127.0.0.1:<port>`. */
  readonly base: string
  readonly orion: ChildProcess
  /** What `orion start` printed so far. */
  readonly output: () => string
  readonly browser: Browser
  readonly page: Page
  /** Console errors and page errors seen on `page`. */
  readonly problems: Array<string>
  /** A JSON request to the API; a status of 300 or more throws with the body. */
  readonly api: (method: string, route: string, body?: unknown) => Promise<any>
  readonly stop: () => Promise<void>
}

/** Starts `orion start` on `home` (its SQLite default) and a Chromium page; fails saying what did not start. */
export const startUiSession = async (home: string): Promise<UiSession> => {
  if (!fs.existsSync(path.join(root, "ui", "dist", "index.html"))) {
    throw new Error("ui/dist is not built: run `npm run build:ui` (npm install and the test command build it)")
  }
  fs.mkdirSync(screenshots, { recursive: true })
  const port = await freePort()
  const env: NodeJS.ProcessEnv = { ...process.env, ORION_HOME: home }
  delete env.ORION_DATABASE_URL
  delete env.ORION_API_KEY
  delete env.ORION_UI_DIR
  const orion = spawn(process.execPath, [path.join(root, "bin/orion.js"), "start", "--port", String(port)], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] })
  let output = ""
  orion.stdout!.on("data", (d) => (output += d))
  orion.stderr!.on("data", (d) => (output += d))
  const base = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 30_000
  while (!/UI: +http/.test(output)) {
    if (orion.exitCode !== null || Date.now() > deadline) throw new Error(`orion start did not report its UI:\n${output}`)
    await new Promise((r) => setTimeout(r, 100))
  }
  const browser = await chromium.launch({
    executablePath: process.env.ORION_TEST_CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
  })
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
  const problems: Array<string> = []
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console: ${m.text()}`)
  })
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`))

  const api = async (method: string, route: string, body?: unknown): Promise<any> => {
    const response = await fetch(`${base}${route}`, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) })
    })
    const text = await response.text()
    if (response.status >= 300) throw new Error(`${method} ${route}: ${response.status} ${text}`)
    return text === "" ? undefined : JSON.parse(text)
  }
  const stop = async () => {
    await browser.close()
    if (orion.exitCode === null) {
      const exited = new Promise((r) => orion.once("exit", r))
      orion.kill("SIGTERM")
      await exited
    }
  }
  return { base, orion, output: () => output, browser, page, problems, api, stop }
}
