/**
 * Item 0 of issue 16: a server's event stream carries every event in its database, whichever process wrote it — a
 * script run in another process on the same SQLite file or PostgreSQL database, or a second server on the same
 * PostgreSQL — within a second of its commit, each event once, in id order.
 */
import { spawn } from "node:child_process"
import * as path from "node:path"
import { Effect, ManagedRuntime } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { onDatabase, serverLayer } from "../../src/api/server.js"
import * as Database from "../../src/storage/database.js"
import { baseUrl } from "./harness.js"
import { databases, tempDir } from "../support/databases.js"

const root = path.resolve(import.meta.dirname, "../..")

interface Received {
  readonly id: number
  readonly event: string
  readonly flowRunId: string | null
  readonly occurred: number
  readonly at: number
  readonly payload: any
}

/** An EventSource on `url` that records each event with the time it arrived; `hello` resolves once it is live. */
const listen = (url: string) => {
  const received: Array<Received> = []
  const source = new EventSource(`${url}/api/events`)
  const hello = new Promise<void>((resolve, reject) => {
    source.addEventListener("hello", () => resolve())
    source.addEventListener("error", () => reject(new Error("event stream failed")))
  })
  for (const kind of ["flow_run.created", "flow_run.state_changed", "task_run.created", "task_run.state_changed", "log"]) {
    source.addEventListener(kind, (m) => {
      const data = JSON.parse((m as MessageEvent).data)
      received.push({ id: data.id, event: data.event, flowRunId: data.flow_run_id, occurred: Date.parse(data.occurred), at: Date.now(), payload: data.payload })
    })
  }
  return { received, hello, close: () => source.close() }
}

const waitFor = async (what: string, condition: () => boolean, ms = 60_000) => {
  const until = Date.now() + ms
  while (!condition()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** `examples/etl-async.ts` as a newcomer runs it in a second terminal: no ORION_API_URL, the database named by URL. */
const runExample = (databaseUrl: string) =>
  new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    const env: Record<string, string | undefined> = { ...process.env, ORION_HOME: tempDir("orion-live-home-"), ORION_DATABASE_URL: databaseUrl }
    delete env.ORION_API_URL
    delete env.ORION_RESULTS_DIR
    const child = spawn(process.execPath, ["--import", "tsx", path.join("examples", "etl-async.ts")], { cwd: root, env })
    let output = ""
    child.stdout.on("data", (d) => { output += d })
    child.stderr.on("data", (d) => { output += d })
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000)
    child.on("error", reject)
    child.on("close", (code) => {
      clearTimeout(timer)
      resolve({ code, output })
    })
  })

const startServer = async (url: string) => {
  const runtime = ManagedRuntime.make(onDatabase(serverLayer({ host: "127.0.0.1", port: 0, dataDir: tempDir("orion-data-") }), Database.layerFromUrl(url)))
  const base = await runtime.runPromise(baseUrl)
  return { runtime, base }
}

const post = async (base: string, route: string, body: unknown) => {
  const response = await fetch(`${base}${route}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })
  expect(response.status, await response.clone().text()).toBeLessThan(300)
  return response.json() as Promise<any>
}

/** Every event once, in increasing id order. */
const expectOnceInOrder = (received: ReadonlyArray<Received>) => {
  const ids = received.map((r) => r.id)
  expect(ids).toEqual([...new Set(ids)].sort((a, b) => a - b))
}

const cleanups: Array<() => Promise<void>> = []
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
}, 60_000)

for (const db of databases) {
  describe(`events from other writers (${db.name})`, () => {
    it("a script run in another process on the same database arrives on /api/events within 1 s of each commit", async () => {
      const fresh = db.fresh()
      const lifecycle = ManagedRuntime.make(fresh.lifecycle)
      await lifecycle.runPromise(Effect.void)
      cleanups.push(() => lifecycle.dispose())
      const server = await startServer(fresh.url)
      cleanups.push(() => server.runtime.dispose())
      const stream = listen(server.base)
      cleanups.push(async () => stream.close())
      await stream.hello

      const ran = await runExample(fresh.url)
      expect(ran.code, ran.output).toBe(0)
      const completed = () => stream.received.find((r) => r.event === "flow_run.state_changed" && r.payload.state?.type === "COMPLETED")
      await waitFor("the example's flow run to complete on the stream", () => completed() !== undefined, 5_000)
      const run = completed()!.flowRunId
      // its log lines are committed last, when the script flushes them on exit: a commit of their own, a poll later
      await waitFor("the example's log lines on the stream", () => stream.received.some((r) => r.flowRunId === run && r.event === "log"), 5_000)
      const ofRun = stream.received.filter((r) => r.flowRunId === run)
      expect(ofRun.map((r) => r.event)).toContain("flow_run.created")
      expect(ofRun.filter((r) => r.event === "task_run.state_changed").length).toBeGreaterThanOrEqual(6)
      expect(ofRun.some((r) => r.event === "log")).toBe(true)
      for (const r of ofRun) expect(r.at - r.occurred, `${r.event} #${r.id}`).toBeLessThan(1000)
      expectOnceInOrder(stream.received)

      // The server's own writes are handed out once too, beside the other process's.
      const flow = await post(server.base, "/api/flows/", { name: "own-writes" })
      const own = await post(server.base, "/api/flow_runs/", { flow_id: flow.id })
      await waitFor("the server's own flow run", () => stream.received.some((r) => r.flowRunId === own.id))
      await new Promise((r) => setTimeout(r, 300))
      expect(stream.received.filter((r) => r.flowRunId === own.id && r.event === "flow_run.created")).toHaveLength(1)
      expectOnceInOrder(stream.received)
    }, 90_000)

    if (db.name === "pg") {
      it("two servers on one PostgreSQL see each other's events within 1 s, each once", async () => {
        const fresh = db.fresh()
        const lifecycle = ManagedRuntime.make(fresh.lifecycle)
        await lifecycle.runPromise(Effect.void)
        cleanups.push(() => lifecycle.dispose())
        const a = await startServer(fresh.url)
        cleanups.push(() => a.runtime.dispose())
        const b = await startServer(fresh.url)
        cleanups.push(() => b.runtime.dispose())
        const onA = listen(a.base)
        const onB = listen(b.base)
        cleanups.push(async () => { onA.close(); onB.close() })
        await Promise.all([onA.hello, onB.hello])

        const flow = await post(b.base, "/api/flows/", { name: "from-b" })
        const runs: Array<string> = []
        for (let i = 0; i < 5; i++) {
          const viaB = await post(b.base, "/api/flow_runs/", { flow_id: flow.id })
          const viaA = await post(a.base, "/api/flow_runs/", { flow_id: flow.id })
          runs.push(viaB.id, viaA.id)
          for (const run of [viaB.id, viaA.id]) await post(i % 2 ? a.base : b.base, `/api/flow_runs/${run}/set_state`, { state: { type: "RUNNING" } })
        }
        for (const stream of [onA, onB]) {
          await waitFor("every run's events on both servers", () => runs.every((run) => stream.received.filter((r) => r.flowRunId === run).length === 2), 5_000)
          for (const r of stream.received) expect(r.at - r.occurred, `${r.event} #${r.id}`).toBeLessThan(1000)
          expect(stream.received).toHaveLength(20)
          expectOnceInOrder(stream.received)
        }
      }, 60_000)
    }
  })
}

