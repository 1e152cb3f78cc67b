/** `orion start` as a real process: serves until SIGTERM, then stops within 2 s (open event streams included), exit 0. */
import { describe, expect, it } from "@effect/vitest"
import { type ChildProcess, spawn } from "node:child_process"
import * as http from "node:http"
import * as net from "node:net"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { tempDir } from "../support/databases.js"
import { freePort } from "../support/ports.js"

const root = fileURLToPath(new URL("../..", import.meta.url))


interface Started {
  readonly child: ChildProcess
  readonly output: () => string
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null; readonly at: number }>
}

const startOrion = (args: ReadonlyArray<string>, home: string, extraEnv: Record<string, string> = {}): Started => {
  const env: NodeJS.ProcessEnv = { ...process.env, ORION_HOME: home, ...extraEnv }
  delete env.ORION_DATABASE_URL
  const child = spawn(process.execPath, [path.join(root, "bin/orion.js"), "start", ...args], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] })
  let output = ""
  child.stdout!.on("data", (d) => (output += d))
  child.stderr!.on("data", (d) => (output += d))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal, at: Date.now() })))
  return { child, output: () => output, exited }
}

const waitForHealth = async (port: number, started: Started, timeoutMs = 30_000, apiKey?: string) => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (started.child.exitCode !== null) throw new Error(`orion start exited early:\n${started.output()}`)
    const headers: Record<string, string> = apiKey === undefined ? {} : { authorization: `Bearer ${apiKey}` }
    const ok = await fetch(`http://127.0.0.1:${port}/api/health`, { headers }).then((r) => r.ok, () => false)
    if (ok) return
    await new Promise((r) => setTimeout(r, 200))
  }
  throw new Error(`no /api/health within ${timeoutMs} ms:\n${started.output()}`)
}

/** Opens the event stream and resolves once its first frame has arrived; the connection stays open. */
const openEventStream = (port: number) =>
  new Promise<http.ClientRequest>((resolve, reject) => {
    const request = http.get(`http://127.0.0.1:${port}/api/events`, (response) => {
      response.once("data", () => resolve(request))
      response.on("error", () => undefined)
    })
    request.on("error", () => undefined)
    setTimeout(() => reject(new Error("no event stream frame")), 10_000)
  })

describe("orion start", () => {
  it("serves the API, reports where, and stops on SIGTERM within 2 s with exit code 0, event streams open", async () => {
    const port = await freePort()
    const home = tempDir("orion-home-")
    // Late runs and the agent switched off by their settings (the agent's own test starts it through `orion start`).
    const orion = startOrion(["--port", String(port), "--no-ui"], home, { ORION_SERVICES_LATE_RUNS_ENABLED: "false", ORION_SERVICES_AGENT_ENABLED: "false" })
    try {
      await waitForHealth(port, orion)
      const services = await (await fetch(`http://127.0.0.1:${port}/api/admin/services`)).json() as Array<{ name: string; state: string }>
      expect(services.map((s) => [s.name, s.state])).toEqual([["scheduler", "running"], ["crash-detection", "running"]])
      const flow = await fetch(`http://127.0.0.1:${port}/api/flows/`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "cli" }) })
      expect(flow.status).toBe(201)
      expect(orion.output()).toContain(`http://127.0.0.1:${port}/api`)
      expect(orion.output()).toContain(`http://127.0.0.1:${port}/docs`)
      expect(orion.output()).toContain(path.join(home, "orion.db"))
      // The services it started, each with what it does; late runs and the agent are switched off by their settings.
      expect(orion.output()).toMatch(new RegExp(`Services: +2 started \\(status: http://127\\.0\\.0\\.1:${port}/api/admin/services\\)`))
      expect(orion.output()).toMatch(/^ +scheduler +keeps each active deployment's runs scheduled up to 100 runs or 100 days ahead \(every 60 s\)$/m)
      expect(orion.output()).toMatch(/^ +crash-detection +marks runs Crashed after 90 s without a heartbeat/m)
      expect(orion.output()).not.toContain("late-runs")
      const streams = await Promise.all([openEventStream(port), openEventStream(port)])

      const signalled = Date.now()
      orion.child.kill("SIGTERM")
      const exit = await orion.exited
      expect(exit.at - signalled).toBeLessThan(2000)
      expect(exit.code).toBe(0)
      expect(orion.output()).toContain("Orion stopped.")
      // One access-log line per request, in order (lines are written in batches, all of them by the time it stops).
      const lines = orion.output().split("\n").filter((l) => /Z INFO orion\.api - (GET|POST) \/api\//.test(l))
      expect(lines.filter((l) => l.includes("POST /api/flows/ 201")).length).toBe(1)
      expect(lines.findIndex((l) => l.includes("POST /api/flows/"))).toBeLessThan(lines.findIndex((l) => l.includes("GET /api/events")))
      for (const s of streams) s.destroy()
    } finally {
      orion.child.kill("SIGKILL")
    }
  }, 60_000)

  it("on every interface it prints the address it really listens on, and warns loudly when no API key is set", async () => {
    const outputs: Array<string> = []
    for (const key of [undefined, "a-long-secret"]) {
      const port = await freePort()
      const orion = startOrion(["--host", "0.0.0.0", "--port", String(port), "--no-ui", "--no-services"], tempDir("orion-home-"), key === undefined ? {} : { ORION_API_KEY: key })
      try {
        await waitForHealth(port, orion, 30_000, key)
        outputs.push(orion.output())
      } finally {
        orion.child.kill("SIGKILL")
      }
    }
    const [open, keyed] = outputs as [string, string]
    expect(open).toMatch(/listening on http:\/\/0\.0\.0\.0:\d+\/api/)
    expect(open).toMatch(/Local: +http:\/\/127\.0\.0\.1:\d+\/api/)
    expect(open).toContain("WARNING")
    expect(open).toContain("WITHOUT an API key")
    expect(keyed).not.toContain("WARNING")
    expect(keyed).toMatch(/API key: +required/)
    expect(keyed).not.toContain("a-long-secret")
  }, 90_000)

  it("--no-services runs none and says so; an invalid service setting is one clear error and exit code 1", async () => {
    const port = await freePort()
    const orion = startOrion(["--port", String(port), "--no-ui", "--no-services"], tempDir("orion-home-"))
    try {
      await waitForHealth(port, orion)
      expect(orion.output()).toMatch(/Services: +disabled \(--no-services\)/)
      expect(await (await fetch(`http://127.0.0.1:${port}/api/admin/services`)).json()).toEqual([])
    } finally {
      orion.child.kill("SIGKILL")
    }
    const bad = startOrion(["--port", String(await freePort()), "--no-ui"], tempDir("orion-home-"), { ORION_SERVICES_CRASH_DETECTION_TIMEOUT_SECONDS: "soon" })
    const exit = await bad.exited
    expect(exit.code).toBe(1)
    expect(bad.output().trim()).toMatch(/^Orion could not start: .*ORION_SERVICES_CRASH_DETECTION_TIMEOUT_SECONDS/)
    expect(bad.output()).not.toContain("    at ")
  }, 60_000)

  it("a port already in use is one clear error and exit code 1", async () => {
    const port = await freePort()
    const blocker = net.createServer().listen(port, "127.0.0.1")
    try {
      const orion = startOrion(["--port", String(port), "--no-ui", "--no-services"], tempDir("orion-home-"))
      const exit = await orion.exited
      expect(exit.code).toBe(1)
      expect(orion.output()).toContain("Orion could not start")
      expect(orion.output()).not.toContain("    at ")
    } finally {
      blocker.close()
    }
  }, 60_000)
})
