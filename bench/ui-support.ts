/**
 * What the dashboard benches (ui.ts, ui-ab.ts, ui-profile.ts) share: `orion start` on a seeded home, and when a page
 * counts as interactive.
 */
import { spawn } from "node:child_process"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import type { Page } from "playwright-core"

const root = fileURLToPath(new URL("..", import.meta.url))

export interface StartOptions {
  /** A built dashboard to serve instead of ui/dist (ORION_UI_DIR). */
  readonly uiDir?: string
  /** Wait this long after it listens (its agent's warm executor and first service loops would fall on the first loads). */
  readonly settleMs?: number
}

/** `orion start` on `home`'s database, on a free-ish port; answers its port and a stop function. */
export const startOrion = async (home: string, options: StartOptions = {}) => {
  const port = 4300 + Math.floor(Math.random() * 1200)
  const env: NodeJS.ProcessEnv = { ...process.env, ORION_HOME: home, ...(options.uiDir !== undefined ? { ORION_UI_DIR: options.uiDir } : {}) }
  delete env.ORION_DATABASE_URL
  delete env.ORION_API_KEY
  const orion = spawn(process.execPath, [path.join(root, "bin/orion.js"), "start", "--port", String(port)], { cwd: root, env, stdio: ["ignore", "pipe", "inherit"] })
  let output = ""
  orion.stdout!.on("data", (d) => (output += d))
  while (!/UI: +http/.test(output)) {
    if (orion.exitCode !== null) throw new Error(output)
    await new Promise((r) => setTimeout(r, 100))
  }
  if (options.settleMs) await new Promise((r) => setTimeout(r, options.settleMs))
  /** SIGTERM; a server not gone 15 s later is killed, and the bench says so (its figures stand; its shutdown does not). */
  const stop = async () => {
    if (orion.exitCode !== null) return
    const exited = new Promise((r) => orion.once("exit", r))
    orion.kill("SIGTERM")
    const late = await Promise.race([exited.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), 15_000))])
    if (late) {
      console.log("orion start did not exit within 15 s of SIGTERM: killed")
      orion.kill("SIGKILL")
      await exited
    }
  }
  return { port, stop }
}

/** The flow-runs page is interactive: the count of all `runs` and the first rows are on screen. */
export const flowRunsInteractive = async (page: Page, runs: number) => {
  await page.getByTestId("run-count").filter({ hasText: `(${runs})` }).waitFor({ timeout: 30_000 })
  await page.locator("table[data-testid=flow-runs] tr[data-run-id]").first().waitFor({ timeout: 30_000 })
}

/** A flow run's page is interactive: all its `tasks` task runs counted and drawn on the timeline. */
export const taskRunsInteractive = async (page: Page, tasks: number) => {
  await page.getByTestId("task-run-count").filter({ hasText: `${tasks} of ${tasks} task runs` }).waitFor({ timeout: 60_000 })
  await page.locator(`[data-testid=timeline][data-drawn="${tasks}"]`).waitFor({ timeout: 60_000 })
}
